//! Who is calling: a toy bearer-token scheme, `Authorization: Bearer <name>`, where the
//! token is the caller's name. Enough to show per-user responses; not authentication.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use etag_runtime::principal::Principal;

use crate::problem::Problem;

/// The caller a request names in `Authorization: Bearer <name>`: a name of 1 to 64
/// letters, digits, `-`, `_` and `.`. Anything else is refused with 401 and
/// `WWW-Authenticate: Bearer` (RFC 6750 section 3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The caller's name.
    pub name: String,
}

impl Caller {
    /// The caller `value` (an `Authorization` field value) names, if any.
    pub fn from_authorization(value: &[u8]) -> Option<Self> {
        let value = std::str::from_utf8(value).ok()?;
        let (scheme, token) = value.split_once(' ')?;
        let valid = scheme.eq_ignore_ascii_case("bearer")
            && (1..=64).contains(&token.len())
            && token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        valid.then(|| Self {
            name: token.to_owned(),
        })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let mut values = parts.headers.get_all(header::AUTHORIZATION).iter();
        let caller = match (values.next(), values.next()) {
            (Some(value), None) => Self::from_authorization(value.as_bytes()),
            _ => None,
        };
        caller.ok_or_else(|| {
            Problem::new(
                StatusCode::UNAUTHORIZED,
                "Say who you are: send `Authorization: Bearer <your name>`.",
            )
            .with_header(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"products\""),
            )
        })
    }
}

/// Per-user responses vary on `Authorization`, and their tags are sealed for the name.
impl Principal for Caller {
    const VARY: &'static [HeaderName] = &[header::AUTHORIZATION];

    fn id(&self) -> impl AsRef<[u8]> {
        self.name.as_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_names() {
        let name = |v: &str| Caller::from_authorization(v.as_bytes()).map(|c| c.name);
        assert_eq!(name("Bearer ada").as_deref(), Some("ada"));
        assert_eq!(
            name("bearer ada.lovelace_1").as_deref(),
            Some("ada.lovelace_1")
        );
        for bad in [
            "",
            "Bearer",
            "Bearer ",
            "Basic YWRh",
            "Bearer a b",
            "Bearer é",
            "ada",
        ] {
            assert_eq!(name(bad), None, "{bad:?}");
        }
        assert_eq!(name(&format!("Bearer {}", "a".repeat(65))), None);
    }
}

//! A toy principal for the per-user tests: `Authorization: Bearer <name>`.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderName, StatusCode, header};
use etag_runtime::principal::Principal;

/// The caller named by `Authorization: Bearer <name>`; 401 without one.
pub struct Caller(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = (StatusCode, [(HeaderName, &'static str); 1]);

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|name| Caller(name.to_owned()))
            .ok_or((
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
            ))
    }
}

impl Principal for Caller {
    const VARY: &'static [HeaderName] = &[header::AUTHORIZATION];

    fn id(&self) -> impl AsRef<[u8]> {
        self.0.clone()
    }
}

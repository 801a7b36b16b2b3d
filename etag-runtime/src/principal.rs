//! Per-user responses: tags that belong to one principal (RFC 9110 sections 8.8.3 and
//! 12.5.5, RFC 9111 section 5.2.2.7).
//!
//! A response that depends on who asks must not revalidate for anyone else: with a
//! version-only tag, user B sending the tag user A got would get a 304 for a representation
//! B never saw (Kinto#635), and a shared cache could hand A's response to B. A per-user
//! response therefore goes out with
//!
//! - an `ETag` that carries a keyed MAC of the principal and of the resource's own tag,
//!   `"<tag>.<mac>"`, so that it matches for that principal only and tells nobody who the
//!   principal is (the key is the application's);
//! - `Vary` naming the request fields the principal is read from ([`Principal::VARY`]);
//! - `Cache-Control: private`, unless the handler set a `Cache-Control` of its own.
//!
//! On the way in, the tags of `If-Match` and `If-None-Match` that were made for the
//! requesting principal are turned back into the resource's own tags, and every other tag
//! is dropped from the list (a list left empty matches nothing). The handler and its
//! [`Conditions`](crate::Conditions) see the tags they made, so reads and writes work
//! unchanged,
//! and another principal's tag never matches: B gets a 200 where A would get a 304, and a
//! 412 where A's write would go through.
//!
//! `#[etag(per_user = caller)]` does this for a handler whose `caller` argument extracts
//! the principal; [`ETagLayer::per_user`](crate::layer::ETagLayer::per_user) does it for
//! every route behind a layer.

use std::fmt;

use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use sha2::Sha256;

use crate::ETag;
use crate::list::rewrite_tag_lists;
use crate::vary::add_vary;

type HmacSha256 = Hmac<Sha256>;

/// How many bytes of the MAC a per-user tag keeps: 96 bits, 16 base64url characters.
const MAC_BYTES: usize = 12;
/// The length of `.<mac>` at the end of a per-user tag.
const SUFFIX_LEN: usize = 1 + 16;

/// Who a request is from, as far as its response's tags are concerned: implemented by the
/// application's authentication extractor.
///
/// # Examples
///
/// ```
/// use axum::extract::FromRequestParts;
/// use axum::http::{StatusCode, header, request::Parts};
/// use etag_runtime::principal::Principal;
///
/// /// `Authorization: Bearer <name>`.
/// struct Caller(String);
///
/// impl<S: Send + Sync> FromRequestParts<S> for Caller {
///     type Rejection = StatusCode;
///
///     async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, StatusCode> {
///         let value = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
///         match value.and_then(|v| v.strip_prefix("Bearer ")) {
///             Some(name) => Ok(Caller(name.to_owned())),
///             None => Err(StatusCode::UNAUTHORIZED),
///         }
///     }
/// }
///
/// impl Principal for Caller {
///     const VARY: &'static [header::HeaderName] = &[header::AUTHORIZATION];
///
///     fn id(&self) -> impl AsRef<[u8]> {
///         self.0.as_bytes()
///     }
/// }
///
/// assert_eq!(Caller("ada".into()).id().as_ref(), b"ada");
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not say which principal a request is from",
    label = "`per_user` needs an extractor that implements `Principal`",
    note = "implement `etag_runtime::principal::Principal` for the authentication extractor: `VARY` names the request fields it reads, `id` tells one principal from another"
)]
pub trait Principal {
    /// The request header fields the principal is read from (`Authorization`, `Cookie`):
    /// a per-user response names them in `Vary`.
    const VARY: &'static [HeaderName];

    /// What tells this principal apart from every other one, such as a user id. It goes
    /// into the tag only through a keyed MAC.
    fn id(&self) -> impl AsRef<[u8]>;
}

/// The application's secret for per-user tags: without it, nobody can tell from a tag
/// whose it is, nor make one that matches for someone else.
///
/// Take 32 random bytes from the application's configuration, the same in every process
/// that serves the same resources (a tag made by one must match in the others). Changing
/// it makes every per-user tag stale: clients get a 200 where they would have got a 304,
/// and a write with an old tag gets a 412.
///
/// In an `#[etag(per_user = ...)]` handler it is taken from the router's state, through
/// `TagKey: FromRef<S>`; a handler that takes `State<S>` needs that impl for its own `S`,
/// and the compiler says so at that argument when it is missing.
///
/// # Examples
///
/// ```
/// use etag_runtime::principal::TagKey;
///
/// let key = TagKey::new(b"32 random bytes from the config!");
/// assert_eq!(format!("{key:?}"), "TagKey(..)");
/// ```
#[derive(Clone)]
pub struct TagKey {
    mac: HmacSha256,
}

impl TagKey {
    /// The key made from `secret`.
    ///
    /// # Examples
    ///
    /// ```
    /// use etag_runtime::principal::TagKey;
    ///
    /// let key = TagKey::new("correct horse battery staple, and more");
    /// // The secret never shows, not even in a log.
    /// assert!(!format!("{key:?}").contains("horse"));
    /// ```
    pub fn new(secret: impl AsRef<[u8]>) -> Self {
        let mac =
            HmacSha256::new_from_slice(secret.as_ref()).expect("HMAC takes a key of any length");
        Self { mac }
    }
}

/// The secret is never printed.
impl fmt::Debug for TagKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TagKey(..)")
    }
}

/// The tags of one principal: seals a resource's tag for them and opens the tags they send.
#[derive(Clone)]
pub(crate) struct Personal {
    /// Keyed, and fed with the principal's id.
    mac: HmacSha256,
    vary: &'static [HeaderName],
}

impl Personal {
    pub(crate) fn new<P: Principal + ?Sized>(key: &TagKey, principal: &P) -> Self {
        let mut mac = key.mac.clone();
        let id = principal.id();
        let id = id.as_ref();
        mac.update(b"etag-runtime per-user tag v1\0");
        mac.update(&(id.len() as u64).to_be_bytes());
        mac.update(id);
        Self { mac, vary: P::VARY }
    }

    fn mac_of(&self, opaque: &str) -> HmacSha256 {
        let mut mac = self.mac.clone();
        mac.update(opaque.as_bytes());
        mac
    }

    /// `"<tag>.<mac>"`, weak if `tag` is.
    pub(crate) fn seal(&self, tag: &ETag) -> ETag {
        let digest = self.mac_of(tag.opaque()).finalize().into_bytes();
        let mut opaque = String::with_capacity(tag.opaque().len() + SUFFIX_LEN);
        opaque.push_str(tag.opaque());
        opaque.push('.');
        URL_SAFE_NO_PAD.encode_string(&digest[..MAC_BYTES], &mut opaque);
        let sealed = if tag.is_weak() {
            ETag::weak(&opaque)
        } else {
            ETag::strong(&opaque)
        };
        // The opaque tag was valid and the suffix is base64url: this cannot fail.
        sealed.unwrap_or_else(|_| tag.clone())
    }

    /// The resource's own opaque tag, if `opaque` was sealed for this principal.
    fn open<'a>(&self, opaque: &'a str) -> Option<&'a str> {
        let split = opaque.len().checked_sub(SUFFIX_LEN)?;
        let (inner, suffix) = (opaque.get(..split)?, opaque.get(split..)?);
        let encoded = suffix.strip_prefix('.')?;
        let mut mac = [0u8; MAC_BYTES];
        let n = URL_SAFE_NO_PAD
            .decode_slice(encoded, &mut mac)
            .ok()
            .filter(|&n| n == MAC_BYTES)?;
        self.mac_of(inner)
            .verify_truncated_left(&mac[..n])
            .ok()
            .map(|()| inner)
    }
}

/// On the way in: the tags sealed for `personal` become the resource's own, and every
/// other tag is dropped. Without a principal nothing changes: a sealed tag then matches
/// nothing, since only responses to a principal are sealed.
pub(crate) fn open_request(headers: &mut HeaderMap, personal: Option<&Personal>) {
    if let Some(personal) = personal {
        rewrite_tag_lists(headers, |_, opaque| {
            personal.open(opaque).map(str::to_owned)
        });
    }
}

/// On the way out: `Vary` names the principal's fields on every response; a 2xx or a 304
/// to a principal gets its tag sealed, and `Cache-Control: private` unless it has a
/// `Cache-Control`.
pub(crate) fn seal_response(res: &mut Response, vary: &[HeaderName], personal: Option<&Personal>) {
    for name in vary {
        add_vary(res.headers_mut(), name);
    }
    let status = res.status();
    let Some(personal) = personal else { return };
    if !(status.is_success() || status == http::StatusCode::NOT_MODIFIED) {
        return;
    }
    let headers = res.headers_mut();
    if let Some(tag) = headers
        .get(header::ETAG)
        .and_then(|v| ETag::try_from(v).ok())
    {
        headers.insert(header::ETAG, personal.seal(&tag).into());
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private"));
    }
}

impl Personal {
    /// The fields this principal is read from.
    pub(crate) fn vary(&self) -> &'static [HeaderName] {
        self.vary
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct User(&'static str);

    impl Principal for User {
        const VARY: &'static [HeaderName] = &[header::AUTHORIZATION];
        fn id(&self) -> impl AsRef<[u8]> {
            self.0
        }
    }

    fn personal(key: &str, user: &'static str) -> Personal {
        Personal::new(&TagKey::new(key), &User(user))
    }

    #[test]
    fn a_sealed_tag_opens_for_its_principal_only() {
        let ada = personal("k", "ada");
        let tag = ETag::from_version(&7_i64);
        let sealed = ada.seal(&tag);
        assert!(sealed.opaque().starts_with("7."), "{sealed}");
        assert_eq!(sealed.opaque().len(), 1 + SUFFIX_LEN);
        assert!(!sealed.is_weak());
        assert_eq!(ada.open(sealed.opaque()), Some("7"));
        // Another principal, another key, a plain tag, a tampered one: nothing opens.
        assert_eq!(personal("k", "bob").open(sealed.opaque()), None);
        assert_eq!(personal("other key", "ada").open(sealed.opaque()), None);
        assert_eq!(ada.open("7"), None);
        let tampered = sealed.opaque().replacen('7', "8", 1);
        assert_eq!(ada.open(&tampered), None);
        // The principal does not show: two principals' tags differ only in the MAC.
        assert_ne!(personal("k", "bob").seal(&tag), sealed);
        assert!(!sealed.opaque().contains("ada"));
        assert!(ada.seal(&tag.clone().into_weak()).is_weak());
    }

    #[test]
    fn ids_are_length_prefixed() {
        // "ab" + tag "c" and "a" + tag "bc" must not share a MAC.
        let ab = personal("k", "ab").seal(&ETag::strong("c").unwrap());
        let a = personal("k", "a").seal(&ETag::strong("bc").unwrap());
        assert_ne!(ab.opaque()[2..], a.opaque()[3..]);
    }

    #[test]
    fn request_lists_keep_only_what_opens() {
        let ada = personal("k", "ada");
        let mine = ada.seal(&ETag::from_version(&3_u8));
        let bobs = personal("k", "bob").seal(&ETag::from_version(&3_u8));
        let mut h = HeaderMap::new();
        h.insert(
            header::IF_MATCH,
            HeaderValue::from_str(&format!("{bobs}, {mine}, \"3\", junk")).unwrap(),
        );
        h.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_str(&bobs.to_string()).unwrap(),
        );
        open_request(&mut h, Some(&ada));
        assert_eq!(h[header::IF_MATCH], "\"3\"");
        assert_eq!(h[header::IF_NONE_MATCH], "");
        let mut star = HeaderMap::new();
        star.insert(header::IF_NONE_MATCH, HeaderValue::from_static("*"));
        open_request(&mut star, Some(&ada));
        assert_eq!(star[header::IF_NONE_MATCH], "*");
    }
}

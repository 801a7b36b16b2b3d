//! How `#[etag]` answers a handler's return value: the types it knows the validators of.

use axum::response::{IntoResponse, IntoResponseParts, Response};
use http::StatusCode;
use http::header::{HeaderMap, HeaderName, HeaderValue};

#[cfg(feature = "fs")]
pub use crate::file::File;
use crate::handler::{Carries, Responder};
use crate::not_modified;
use crate::precondition::problem;
pub use crate::read::Loaded;
use crate::{Versioned, WithValidators};

/// A handler return type that `#[etag]` can answer conditionally: it knows its validators
/// before it is rendered, so a 304 costs no serialization.
///
/// Implemented for every `T: Versioned + IntoResponse` (notably `Json<T>` of a versioned
/// model or of a `Vec` of them), for [`WithValidators`], and around them for
/// `Result<_, E>`, `Option<_>` (`None` is a 404 with problem details),
/// `(StatusCode, _)`, `(HeaderMap, _)`, `([(K, V); N], _)` and
/// `(StatusCode, HeaderMap | [(K, V); N], _)`; a bare `StatusCode` and `()` go out as
/// they are. Errors and non-2xx statuses pass through untouched. A handler that returns
/// something else uses `#[etag(hash)]`, or wraps its body with
/// [`Checked::respond`](crate::Checked::respond).
///
/// The trait is sealed: its method takes a type no other crate can name, so it is
/// implemented here only, and named in the docs and in compiler messages.
///
/// # Examples
///
/// ```
/// use axum::Json;
/// use etag_runtime::{Versioned, etag};
///
/// #[derive(serde::Serialize, Versioned)]
/// struct Doc {
///     #[version]
///     version: u32,
/// }
///
/// // `Option<Json<Doc>>` is an `IntoConditionalResponse`: 304 before serializing, 404 for `None`.
/// #[etag]
/// async fn doc() -> Option<Json<Doc>> {
///     Some(Json(Doc { version: 3 }))
/// }
/// # let _ = axum::Router::<()>::new().route("/", axum::routing::get(doc));
/// ```
#[diagnostic::on_unimplemented(
    message = "`#[etag]` cannot tell the validators of `{Self}` before rendering it",
    label = "the ETag of this return type is not known",
    note = "return a model that derives `Versioned` (for example `Json<Product>` with `#[derive(Versioned)]` on `Product`), or `WithValidators<_>` from `Conditions::check`",
    note = "or write `#[etag(hash)]` to tag any response by the SHA-256 of its body"
)]
pub trait IntoConditionalResponse {
    /// Not public API: which validators the type's successful responses can carry, for the
    /// OpenAPI document of the handlers that return it.
    #[doc(hidden)]
    const CARRIES: Carries;

    #[doc(hidden)]
    /// Evaluates the request's preconditions against the value's
    /// validators, then renders the 304, the 412, or the full response.
    fn into_conditional_response(self, responder: &Responder<'_>) -> Response;
}

impl<T: Versioned + IntoResponse> IntoConditionalResponse for T {
    const CARRIES: Carries = Carries {
        etag: true,
        last_modified: T::HAS_LAST_MODIFIED,
    };

    fn into_conditional_response(self, responder: &Responder<'_>) -> Response {
        let validators = self.validators();
        let groups = responder.groups_of(&self);
        let mut res = responder.respond(validators, || self.into_representation());
        Responder::add_groups(&mut res, groups);
        res
    }
}

/// The response axum's `Json(value)` renders, the same status, header fields and bytes,
/// made with less work. axum writes into a 128-byte `BytesMut` through `bytes`' `Writer`,
/// which checks capacity on each of serde_json's small writes and reallocates as the body
/// doubles (seven times for 10 KB). This writes into a `Vec` sized from the last body
/// rendered on the same thread, which becomes the body without a copy (see
/// [`serialize`]).
pub(crate) fn json<T: serde::Serialize + ?Sized>(value: &T) -> Response {
    match serialize(value) {
        Ok(buf) => (
            [(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            bytes::Bytes::from(buf),
        )
            .into_response(),
        Err(err) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            )],
            err.to_string(),
        )
            .into_response(),
    }
}

/// `value` as JSON, in a buffer that starts an eighth larger than the last body
/// serialized on this thread (at least 128 bytes, at most [`SIZE_HINT_CAP`]), so that a
/// body like the last takes serde_json's writes without growing. A body that used less
/// than half of the buffer is shrunk to its length: a response waiting on a slow client
/// holds its own size, not the size of the body before it.
fn serialize<T: serde::Serialize + ?Sized>(value: &T) -> serde_json::Result<Vec<u8>> {
    thread_local! {
        static LAST_LEN: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }
    let last = LAST_LEN.get();
    let mut buf = Vec::with_capacity((last + last / 8).clamp(128, SIZE_HINT_CAP));
    serde_json::to_writer(&mut buf, value)?;
    LAST_LEN.set(buf.len());
    if buf.len() < buf.capacity() / 2 {
        buf.shrink_to_fit();
    }
    Ok(buf)
}

/// The largest buffer [`serialize`] starts with: a thread that rendered a large body does
/// not allocate that much for each small one after it.
const SIZE_HINT_CAP: usize = 64 * 1024;

impl<T: IntoResponse> IntoConditionalResponse for WithValidators<T> {
    const CARRIES: Carries = Carries::BOTH;

    fn into_conditional_response(self, responder: &Responder<'_>) -> Response {
        // Under `#[etag]` the responder checks again, and leaves the same 304 to the layer.
        let WithValidators {
            validators, body, ..
        } = self;
        responder.respond(validators, || body.into_response())
    }
}

impl<T: IntoConditionalResponse, E: IntoResponse> IntoConditionalResponse for Result<T, E> {
    const CARRIES: Carries = T::CARRIES;

    fn into_conditional_response(self, responder: &Responder<'_>) -> Response {
        match self {
            Ok(ok) => ok.into_conditional_response(responder),
            Err(err) => err.into_response(),
        }
    }
}

/// A bare status, such as the 204 of a DELETE, has no representation: it goes out as it is,
/// with no validators and no evaluation.
impl IntoConditionalResponse for StatusCode {
    const CARRIES: Carries = Carries::NONE;

    fn into_conditional_response(self, _responder: &Responder<'_>) -> Response {
        self.into_response()
    }
}

/// `()` is an empty 200 with no representation to validate: it goes out as it is.
impl IntoConditionalResponse for () {
    const CARRIES: Carries = Carries::NONE;

    fn into_conditional_response(self, _responder: &Responder<'_>) -> Response {
        self.into_response()
    }
}

/// `None` is a 404 with problem details; no preconditions apply to it (RFC 9110 section
/// 13.2.1).
impl<T: IntoConditionalResponse> IntoConditionalResponse for Option<T> {
    const CARRIES: Carries = T::CARRIES;

    fn into_conditional_response(self, responder: &Responder<'_>) -> Response {
        match self {
            Some(value) => value.into_conditional_response(responder),
            None => problem(
                StatusCode::NOT_FOUND,
                "Not Found",
                "There is nothing at this URL.",
            ),
        }
    }
}

/// Applies response parts to what the inner value rendered: to a 2xx as axum would, to a
/// 304 minus the fields a 304 must not carry, and not at all to a 412.
fn with_parts<P: IntoResponseParts>(parts: P, inner: Response) -> Response {
    match inner.status() {
        StatusCode::PRECONDITION_FAILED => inner,
        StatusCode::NOT_MODIFIED => not_modified::from_response((parts, inner).into_response()),
        _ => (parts, inner).into_response(),
    }
}

/// A 2xx status replaces the rendered 200; any other status means no preconditions apply
/// (RFC 9110 section 13.2.1) and the value renders as axum would render it.
fn with_status<T: IntoConditionalResponse>(
    status: StatusCode,
    value: T,
    responder: &Responder<'_>,
) -> Response {
    if !status.is_success() {
        let plain = Responder {
            plain: true,
            ..*responder
        };
        let mut res = value.into_conditional_response(&plain);
        *res.status_mut() = status;
        return res;
    }
    let mut res = value.into_conditional_response(responder);
    if res.status().is_success() {
        *res.status_mut() = status;
    }
    res
}

impl<T: IntoConditionalResponse> IntoConditionalResponse for (StatusCode, T) {
    const CARRIES: Carries = T::CARRIES;

    fn into_conditional_response(self, responder: &Responder<'_>) -> Response {
        with_status(self.0, self.1, responder)
    }
}

impl<T: IntoConditionalResponse> IntoConditionalResponse for (HeaderMap, T) {
    const CARRIES: Carries = T::CARRIES;

    fn into_conditional_response(self, responder: &Responder<'_>) -> Response {
        with_parts(self.0, self.1.into_conditional_response(responder))
    }
}

impl<K, V, const N: usize, T> IntoConditionalResponse for ([(K, V); N], T)
where
    K: TryInto<HeaderName>,
    K::Error: std::fmt::Display,
    V: TryInto<HeaderValue>,
    V::Error: std::fmt::Display,
    T: IntoConditionalResponse,
{
    const CARRIES: Carries = T::CARRIES;

    fn into_conditional_response(self, responder: &Responder<'_>) -> Response {
        with_parts(self.0, self.1.into_conditional_response(responder))
    }
}

impl<T: IntoConditionalResponse> IntoConditionalResponse for (StatusCode, HeaderMap, T) {
    const CARRIES: Carries = T::CARRIES;

    fn into_conditional_response(self, responder: &Responder<'_>) -> Response {
        with_parts(self.1, with_status(self.0, self.2, responder))
    }
}

impl<K, V, const N: usize, T> IntoConditionalResponse for (StatusCode, [(K, V); N], T)
where
    K: TryInto<HeaderName>,
    K::Error: std::fmt::Display,
    V: TryInto<HeaderValue>,
    V::Error: std::fmt::Display,
    T: IntoConditionalResponse,
{
    const CARRIES: Carries = T::CARRIES;

    fn into_conditional_response(self, responder: &Responder<'_>) -> Response {
        with_parts(self.1, with_status(self.0, self.2, responder))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use axum::Json;
    use http_body_util::BodyExt as _;

    use super::*;

    async fn parts(res: Response) -> (StatusCode, HeaderMap, bytes::Bytes) {
        let (parts, body) = res.into_parts();
        let body = body.collect().await.expect("a full body").to_bytes();
        (parts.status, parts.headers, body)
    }

    /// A small body after a large one on the same thread holds no more than twice its
    /// length; a body like the last one needs no growth.
    #[test]
    fn the_buffer_fits_the_body() {
        let large = "x".repeat(200_000);
        let buf = serialize(&large).unwrap();
        assert_eq!(buf.len(), 200_002);
        let small = serialize("tiny").unwrap();
        assert_eq!(small, b"\"tiny\"");
        assert!(small.capacity() <= 2 * small.len(), "{}", small.capacity());
        let sized = "y".repeat(10_000);
        serialize(&sized).unwrap();
        let again = serialize(&sized).unwrap();
        assert!(again.capacity() >= again.len() && again.capacity() <= again.len() * 9 / 8 + 1);
    }

    /// `json` is a faster way to what axum's `Json` renders: the same status, header fields
    /// and bytes, for bodies around the size it last rendered, far above and below it, and
    /// for a value serde_json refuses (a map with non-string keys), which both answer 500.
    #[tokio::test]
    async fn json_renders_what_axum_json_renders() {
        let text = |n: usize| serde_json::Value::String("é\"\\\n\u{1}x".repeat(n));
        let values = [
            serde_json::json!({"id": 1, "tags": ["a", "b"], "price": 2.5, "none": null}),
            text(2_000),
            text(2_001),
            serde_json::json!([]),
            text(100_000),
            text(3),
        ];
        for value in values {
            let ours = parts(json(&value)).await;
            let axum = parts(Json(&value).into_response()).await;
            assert_eq!(ours, axum);
            assert_eq!(ours.0, StatusCode::OK);
            let back: serde_json::Value = serde_json::from_slice(&ours.2).unwrap();
            assert_eq!(back, value);
        }
        let refused: BTreeMap<(i32, i32), i32> = BTreeMap::from([((1, 2), 3)]);
        assert!(serialize(&refused).is_err());
        let ours = parts(json(&refused)).await;
        assert_eq!(ours, parts(Json(&refused).into_response()).await);
        assert_eq!(ours.0, StatusCode::INTERNAL_SERVER_ERROR);
    }
}

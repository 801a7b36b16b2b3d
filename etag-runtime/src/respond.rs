//! How `#[etag]` turns a handler's return value into a conditional response.

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, StatusCode};
use http_body_util::BodyExt as _;

use crate::response::{WithValidators, into_not_modified};
use crate::{Conditions, ETag, ETagHasher, Validators, Versioned};

/// A handler return type that `#[etag]` can answer conditionally: it knows its validators
/// before it is rendered, so a 304 costs no serialization.
///
/// Implemented for every `T: Versioned + IntoResponse` (notably `Json<T>` of a versioned
/// model or of a `Vec` of them), for [`WithValidators`], and around them for
/// `Result<_, E>`, `Option<_>` (`None` is 404), `(StatusCode, _)`, `(HeaderMap, _)`,
/// `([(K, V); N], _)` and `(StatusCode, HeaderMap | [(K, V); N], _)`. Errors and non-2xx
/// statuses pass through untouched.
///
/// # Examples
///
/// ```
/// use axum::Json;
/// use etag_runtime::{Conditions, ETag, IntoConditionalResponse, Responder, Versioned};
/// use http::{HeaderMap, Method};
///
/// #[derive(serde::Serialize)]
/// struct Doc { version: u32 }
/// impl Versioned for Doc {
///     fn etag(&self) -> ETag { ETag::from_version(&self.version) }
/// }
///
/// let mut h = HeaderMap::new();
/// h.insert("if-none-match", "\"3\"".parse().unwrap());
/// let conditions = Conditions::from_headers(&Method::GET, &h);
/// let res = Json(Doc { version: 3 }).into_conditional_response(&Responder::new(&conditions));
/// assert_eq!(res.status(), 304);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` carries no validators for `#[etag]`",
    label = "`#[etag]` cannot tell the ETag of this return type before rendering it",
    note = "derive `Versioned` on the model you return (for example in `Json<_>`), or return `WithValidators<_>`",
    note = "or use `#[etag(hash)]` to hash the response body instead"
)]
pub trait IntoConditionalResponse {
    /// Evaluates the request's preconditions against the value's validators, then renders
    /// the 304, the 412, or the full response with `ETag` and `Last-Modified`.
    fn into_conditional_response(self, responder: &Responder<'_>) -> Response;
}

/// The request side of [`IntoConditionalResponse`]: its conditions and the handler's options.
///
/// # Examples
///
/// ```
/// use etag_runtime::{Conditions, Responder};
/// use http::{HeaderMap, Method};
///
/// let conditions = Conditions::from_headers(&Method::GET, &HeaderMap::new());
/// let responder = Responder::new(&conditions).weak(true);
/// assert!(responder.conditions().method() == Method::GET);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Responder<'a> {
    conditions: &'a Conditions,
    weak: bool,
    /// Render only: no evaluation, no validators (a value under a non-2xx status).
    plain: bool,
}

impl<'a> Responder<'a> {
    /// A responder for a request with these conditions, emitting strong tags as they are.
    ///
    /// # Examples
    ///
    /// ```
    /// use etag_runtime::{Conditions, Responder};
    /// use http::{HeaderMap, Method};
    ///
    /// let conditions = Conditions::from_headers(&Method::GET, &HeaderMap::new());
    /// let _ = Responder::new(&conditions);
    /// ```
    pub fn new(conditions: &'a Conditions) -> Self {
        Self {
            conditions,
            weak: false,
            plain: false,
        }
    }

    /// Whether every tag is made weak before it is compared and sent.
    ///
    /// # Examples
    ///
    /// ```
    /// use etag_runtime::{Conditions, Responder};
    /// use http::{HeaderMap, Method};
    ///
    /// let conditions = Conditions::from_headers(&Method::GET, &HeaderMap::new());
    /// let _ = Responder::new(&conditions).weak(true);
    /// ```
    #[must_use]
    pub fn weak(mut self, weak: bool) -> Self {
        self.weak = weak;
        self
    }

    /// The request's conditions.
    ///
    /// # Examples
    ///
    /// ```
    /// use etag_runtime::{Conditions, Responder};
    /// use http::{HeaderMap, Method};
    ///
    /// let conditions = Conditions::from_headers(&Method::GET, &HeaderMap::new());
    /// assert!(!Responder::new(&conditions).conditions().is_conditional());
    /// ```
    pub fn conditions(&self) -> &'a Conditions {
        self.conditions
    }

    /// The core of every implementation: on GET and HEAD, evaluate the preconditions
    /// against `validators` and answer 304 or 412 without calling `render`; otherwise
    /// render, and add the validators to a 2xx.
    ///
    /// Other methods are not evaluated here: a write must check its preconditions before
    /// it acts (see [`Conditions::check_write`]), and its response carries the new state's
    /// validators, which the request's conditions were never about.
    ///
    /// # Examples
    ///
    /// ```
    /// use axum::response::IntoResponse;
    /// use etag_runtime::{Conditions, ETag, Responder, Validators};
    /// use http::{HeaderMap, Method};
    ///
    /// let conditions = Conditions::from_headers(&Method::GET, &HeaderMap::new());
    /// let v = Validators::new().with_etag(ETag::from_version(&1_u8));
    /// let res = Responder::new(&conditions).respond(v, || "body".into_response());
    /// assert_eq!(res.headers()["etag"], "\"1\"");
    /// ```
    pub fn respond(&self, validators: Validators, render: impl FnOnce() -> Response) -> Response {
        if self.plain {
            return render();
        }
        let validators = if self.weak {
            validators.into_weak()
        } else {
            validators
        };
        let method = self.conditions.method();
        let validators = if method == Method::GET || method == Method::HEAD {
            match self.conditions.check(validators) {
                Ok(checked) => checked.into_validators(),
                Err(halt) => return halt.into_response(),
            }
        } else {
            validators
        };
        let mut res = render();
        if res.status().is_success() {
            validators.write_headers(res.headers_mut());
        }
        res
    }
}

impl<T: Versioned + IntoResponse> IntoConditionalResponse for T {
    fn into_conditional_response(self, responder: &Responder<'_>) -> Response {
        let validators = self.validators();
        responder.respond(validators, || self.into_response())
    }
}

impl<T: IntoResponse> IntoConditionalResponse for WithValidators<T> {
    fn into_conditional_response(self, responder: &Responder<'_>) -> Response {
        let (validators, body) = self.into_parts();
        responder.respond(validators, || body.into_response())
    }
}

impl<T: IntoConditionalResponse, E: IntoResponse> IntoConditionalResponse for Result<T, E> {
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
    fn into_conditional_response(self, _responder: &Responder<'_>) -> Response {
        self.into_response()
    }
}

/// `()` is an empty 200 with no representation to validate: it goes out as it is.
impl IntoConditionalResponse for () {
    fn into_conditional_response(self, _responder: &Responder<'_>) -> Response {
        self.into_response()
    }
}

impl<T: IntoConditionalResponse> IntoConditionalResponse for Option<T> {
    fn into_conditional_response(self, responder: &Responder<'_>) -> Response {
        match self {
            Some(value) => value.into_conditional_response(responder),
            None => StatusCode::NOT_FOUND.into_response(),
        }
    }
}

/// Applies response parts to what the inner value rendered: to a 2xx as axum would, to a
/// 304 minus the fields a 304 must not carry, and not at all to a 412.
fn with_parts<P: axum::response::IntoResponseParts>(parts: P, inner: Response) -> Response {
    match inner.status() {
        StatusCode::PRECONDITION_FAILED => inner,
        StatusCode::NOT_MODIFIED => into_not_modified((parts, inner).into_response()),
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
    fn into_conditional_response(self, responder: &Responder<'_>) -> Response {
        with_status(self.0, self.1, responder)
    }
}

impl<T: IntoConditionalResponse> IntoConditionalResponse for (HeaderMap, T) {
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
    fn into_conditional_response(self, responder: &Responder<'_>) -> Response {
        with_parts(self.0, self.1.into_conditional_response(responder))
    }
}

impl<T: IntoConditionalResponse> IntoConditionalResponse for (StatusCode, HeaderMap, T) {
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
    fn into_conditional_response(self, responder: &Responder<'_>) -> Response {
        with_parts(self.1, with_status(self.0, self.2, responder))
    }
}

/// The default for how much of a body `#[etag(hash)]` buffers to hash it: 4 MiB.
pub const DEFAULT_HASH_LIMIT: usize = 4 * 1024 * 1024;

/// Makes any response conditional by hashing its body: the mode of `#[etag(hash)]`.
///
/// Only 2xx responses to GET and HEAD with content are touched. The response to a write is
/// not the resource's representation (RFC 9110 section 9.3.4: no validator on a PUT's
/// response unless it is), and a 204 or 205 has no representation at all (the
/// digest of its empty body would tag nothing, and a client would send it back in
/// `If-Match`), and a 206 is only part of one. A response that already has an `ETag` keeps it and is
/// not hashed. A body larger than `limit` bytes (by its `Content-Length` or size hint,
/// or once that many bytes have been read) goes out unchanged and without an `ETag`; so does a body
/// with trailers. On GET and HEAD the preconditions are evaluated against the tag (and
/// against a `Last-Modified` the response carries).
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use axum::response::IntoResponse;
/// use etag_runtime::{Conditions, ETag, hash_response};
/// use http::{HeaderMap, Method};
///
/// let conditions = Conditions::from_headers(&Method::GET, &HeaderMap::new());
/// let res = hash_response(&conditions, "hello".into_response(), 1024, false).await;
/// assert_eq!(res.headers()["etag"], ETag::from_bytes(b"hello").to_header_value());
/// # }
/// ```
pub async fn hash_response(
    conditions: &Conditions,
    response: Response,
    limit: usize,
    weak: bool,
) -> Response {
    let status = response.status();
    let method = conditions.method();
    if !(method == Method::GET || method == Method::HEAD)
        || !status.is_success()
        || matches!(
            status,
            StatusCode::NO_CONTENT | StatusCode::RESET_CONTENT | StatusCode::PARTIAL_CONTENT
        )
    {
        return response;
    }
    let responder = Responder::new(conditions).weak(weak);
    let last_modified = response
        .headers()
        .get(header::LAST_MODIFIED)
        .and_then(|v| crate::parse_http_date(v.as_bytes()));

    if let Some(existing) = response.headers().get(header::ETAG) {
        let Ok(tag) = ETag::try_from(existing) else {
            return response;
        };
        let validators = Validators::new()
            .with_etag(tag)
            .with_last_modified_opt(last_modified);
        return respond_with_response(&responder, validators, response);
    }

    let declared = response
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let hinted = http_body::Body::size_hint(response.body()).lower();
    if declared.is_some_and(|len| len > limit as u64) || hinted > limit as u64 {
        return response;
    }

    let (parts, mut body) = response.into_parts();
    let mut hasher = ETagHasher::new();
    let mut chunks: Vec<Bytes> = Vec::new();
    let mut seen = 0usize;
    loop {
        match body.frame().await {
            None => break,
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => {
                    seen = seen.saturating_add(data.len());
                    if seen > limit {
                        chunks.push(data);
                        return Response::from_parts(parts, resume(chunks, body));
                    }
                    hasher.update(&data);
                    chunks.push(data);
                }
                Err(frame) => {
                    // Trailers: a body with metadata after it cannot be tagged by its bytes.
                    let trailers = frame.into_trailers().ok();
                    return Response::from_parts(parts, replay(chunks, trailers));
                }
            },
            Some(Err(err)) => {
                // The body failed while being read: pass the failure on where it happened.
                let rest = futures_util::stream::iter([Err::<Bytes, _>(err)]);
                let replayed = futures_util::StreamExt::chain(
                    futures_util::stream::iter(chunks.into_iter().map(Ok::<_, axum::Error>)),
                    rest,
                );
                return Response::from_parts(parts, Body::from_stream(replayed));
            }
        }
    }

    let validators = Validators::new()
        .with_etag(hasher.finish())
        .with_last_modified_opt(last_modified);
    let body = match chunks.len() {
        0 => Body::empty(),
        1 => Body::from(chunks.pop().unwrap_or_default()),
        _ => {
            let mut all = BytesMut::with_capacity(seen);
            for chunk in &chunks {
                all.extend_from_slice(chunk);
            }
            Body::from(all.freeze())
        }
    };
    respond_with_response(&responder, validators, Response::from_parts(parts, body))
}

/// Like [`Responder::respond`] for a response that is already rendered: a 304 keeps its
/// cache-related fields.
fn respond_with_response(
    responder: &Responder<'_>,
    validators: Validators,
    response: Response,
) -> Response {
    let mut full = Some(response);
    let res = responder.respond(validators, || full.take().unwrap_or_default());
    match (res.status(), full) {
        // Not rendered: the 304 is made from the full response's fields.
        (StatusCode::NOT_MODIFIED, Some(full)) => {
            let mut not_modified = into_not_modified(full);
            for name in [header::ETAG, header::LAST_MODIFIED] {
                match res.headers().get(&name) {
                    Some(v) => {
                        not_modified.headers_mut().insert(name, v.clone());
                    }
                    None => {
                        not_modified.headers_mut().remove(name);
                    }
                }
            }
            not_modified
        }
        _ => res,
    }
}

/// The bytes already read, then the rest of the body, unchanged.
fn resume(chunks: Vec<Bytes>, rest: Body) -> Body {
    let head = futures_util::stream::iter(chunks.into_iter().map(Ok::<_, axum::Error>));
    Body::from_stream(futures_util::StreamExt::chain(
        head,
        rest.into_data_stream(),
    ))
}

/// The bytes already read, then trailers.
fn replay(chunks: Vec<Bytes>, trailers: Option<HeaderMap>) -> Body {
    use http_body_util::StreamBody;
    let frames = chunks
        .into_iter()
        .map(|c| Ok::<_, std::convert::Infallible>(http_body::Frame::data(c)))
        .chain(trailers.map(|t| Ok(http_body::Frame::trailers(t))));
    Body::new(StreamBody::new(futures_util::stream::iter(frames)).map_err(|e| match e {}))
}

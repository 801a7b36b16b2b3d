//! Tower layers: ETags for routes without a model, and a tag per content-coding.
//!
//! - [`ETagLayer`] gives every `200 OK` to a GET or HEAD that has no `ETag` a strong tag
//!   from the SHA-256 of its body, and answers the request's preconditions against it
//!   (304 for a matching `If-None-Match` or a fresh `If-Modified-Since`, 412 for a failed
//!   `If-Match` or `If-Unmodified-Since`: RFC 9110 section 13.2.2). A response that already
//!   has an `ETag` (from `#[etag]`) keeps it; the layer only evaluates the request against
//!   it. It is `#[etag(hash)]` for every route at once, `Range` and `If-Range` included.
//! - [`EncodingTagsLayer`] makes the tags of a compressing stack right: each
//!   content-coding gets its own strong tag, and the tags a client got from a compressed
//!   response still revalidate and still make writes conditional.
//!
//! # Compression
//!
//! A strong tag identifies one exact byte sequence (RFC 9110 section 8.8.1), so the gzip
//! and the identity body of one version cannot share it. The usual fixes break
//! revalidation: Apache appended `-gzip` to the tag and never mapped it back (bug 45023:
//! every `If-None-Match` from a gzip client missed), nginx and Django weaken the tag, after
//! which `If-Match` (strong comparison) can never hold.
//!
//! [`EncodingTagsLayer`] goes right outside tower-http's `CompressionLayer`, the one place
//! that sees both the tag a handler made and the coding the compressor chose:
//!
//! - on the way out it turns the tag `"<opaque>"` of a gzip response into
//!   `"<opaque>-gzip"` (likewise `-br`, `-zstd`, `-deflate`) and names `Accept-Encoding`
//!   in `Vary`, on the 200 and on the 304;
//! - on the way in it maps every such tag in `If-None-Match` and `If-Match` back to the
//!   tag it was made from, so that `#[etag]`, [`Conditions`] and
//!   [`ETagLayer`] inside see the tags they made: the tag of a compressed GET revalidates
//!   to 304, and a PUT with `If-Match` carrying it succeeds while the version is current
//!   (and gets 412 once it is not, as with any stale tag).
//!
//! An identity tag that itself ends in such a suffix is sent as `"<opaque>-identity"`, so
//! that every tag on the wire maps back to exactly one (tag, coding) pair. A 304 carries
//! the tag of the copy the client has (the member of `If-None-Match` that matched), and
//! no `Content-Encoding` (which tower-http puts on 304s too; a cache would apply it to the
//! stored response). `If-Range` is not mapped: tower-http never compresses a range
//! response, so a coded tag there must not hold, and does not.
//!
//! Why a layer of its own rather than `#[etag]` or [`ETagLayer`]: both run inside the
//! compressor, where the coding is not chosen yet; and `#[etag]` cannot see the
//! responses of routes it is not on. One layer outside the compressor covers every route.
//!
//! The order, outermost first:
//!
//! 1. [`EncodingTagsLayer`];
//! 2. `CompressionLayer`;
//! 3. [`ETagLayer`] and the `#[etag]` handlers.
//!
//! [`ETagLayer`] may also go outside `CompressionLayer` (but inside
//! [`EncodingTagsLayer`]): it then hashes the compressed bytes, which still gives each
//! coding its own tag, but a 304 costs the compression too. `CompressionLayer` outside
//! [`EncodingTagsLayer`] is the one order that is wrong: the same tag then goes out on every
//! coding.
//!
//! ```
//! use axum::{Router, body::Body, http::Request, routing::get};
//! use etag_runtime::layer::{ETagLayer, EncodingTagsLayer};
//! use tower::{ServiceBuilder, ServiceExt};
//! use tower_http::compression::CompressionLayer;
//!
//! async fn about() -> String {
//!     "A page with no model: the layer tags it by its SHA-256. ".repeat(20)
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let app: Router = Router::new().route("/about", get(about)).layer(
//!     ServiceBuilder::new()
//!         .layer(EncodingTagsLayer::new())
//!         .layer(CompressionLayer::new())
//!         .layer(ETagLayer::new()),
//! );
//! let get = |accept: &str, tag: Option<&str>| {
//!     let mut req = Request::get("/about").header("accept-encoding", accept);
//!     if let Some(tag) = tag { req = req.header("if-none-match", tag); }
//!     req.body(Body::empty()).unwrap()
//! };
//! let plain = app.clone().oneshot(get("identity", None)).await.unwrap();
//! let gzip = app.clone().oneshot(get("gzip", None)).await.unwrap();
//! let plain_tag = plain.headers()["etag"].to_str().unwrap().to_owned();
//! let gzip_tag = gzip.headers()["etag"].to_str().unwrap().to_owned();
//! // One version, two byte sequences, two strong tags.
//! assert_eq!(gzip.headers()["content-encoding"], "gzip");
//! assert_eq!(gzip_tag, format!("{}-gzip\"", plain_tag.trim_end_matches('"')));
//! // The gzip client's tag revalidates.
//! let again = app.oneshot(get("gzip", Some(&gzip_tag))).await.unwrap();
//! assert_eq!(again.status(), 304);
//! assert_eq!(again.headers()["etag"], gzip_tag.as_str());
//! assert_eq!(again.headers()["vary"], "accept-encoding");
//! # }
//! ```
//!
//! Behind a proxy that compresses on its own (nginx, a CDN), the proxy weakens or drops
//! the tags (RFC 9110 section 8.8.1 leaves it no other choice), and `If-Match` with a weak
//! tag never holds. A client that needs a strong tag for a write gets one from an
//! uncompressed response (`Accept-Encoding: identity`), or compress in the application as
//! above and let the proxy pass the bodies through.
//!
//! # Cost
//!
//! [`ETagLayer`] must render and read the whole body before it can answer, even for a
//! 304: it saves the bytes on the wire, not the work. `#[etag]` with a version decides a
//! 304 before the body is serialized. The benchmark command measures both on a 10 KB JSON
//! product, in the same run (`layer_200_overhead`, `layer_304_vs_200` and
//! `layer_304_vs_etag_304` in `BENCHMARKS.md`): the layer's 200 costs the plain handler
//! plus one SHA-256 of the body (about twice the plain handler), its 304 about as much as
//! its 200, and about ten times the 304 `#[etag]` makes from the version. Prefer `#[etag]`
//! on routes that have a version, and the layer for the rest.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName};
use http::request::Parts;
use http::{Request, StatusCode};
use tower::{Layer, Service};

use crate::handler::Responder;
use crate::hash::{DEFAULT_HASH_LIMIT, hash_response};
use crate::principal::{Personal, Principal, TagKey, add_vary, open_request, seal_response};
use crate::{Conditions, ETag, Precondition};

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Identify = Arc<
    dyn Fn(Parts) -> Pin<Box<dyn Future<Output = (Parts, Option<Personal>)> + Send>> + Send + Sync,
>;

/// Per-user tags in a layer: how to find the principal, and whose fields to name in `Vary`.
#[derive(Clone)]
struct PerUser {
    identify: Identify,
    vary: &'static [HeaderName],
}

/// A tower [`Layer`] that tags every untagged `200 OK` to a GET or HEAD by the SHA-256 of
/// its body and answers the request's preconditions against it: see the
/// [module docs](self).
///
/// A body over the limit (4 MiB unless set with [`limit`](Self::limit)), by its
/// `Content-Length`, its size hint or once that much has been read, streams through
/// untagged, as does a response with `Cache-Control: no-store`, one that is not a 200, and
/// the response to any other method. A response that already has an `ETag` keeps it; the
/// request is evaluated against it.
///
/// # Examples
///
/// ```
/// use axum::{Router, body::Body, http::Request, routing::get};
/// use etag_runtime::{ETag, layer::ETagLayer};
/// use tower::ServiceExt;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let app = Router::new()
///     .route("/about", get(|| async { "about us" }))
///     .layer(ETagLayer::new());
///
/// let res = app.clone().oneshot(Request::get("/about").body(Body::empty()).unwrap()).await.unwrap();
/// let tag = ETag::digest(b"about us").to_string();
/// assert_eq!(res.headers()["etag"], tag.as_str());
///
/// let again = Request::get("/about").header("if-none-match", &tag).body(Body::empty()).unwrap();
/// assert_eq!(app.oneshot(again).await.unwrap().status(), 304);
/// # }
/// ```
#[derive(Clone)]
pub struct ETagLayer {
    limit: usize,
    per_user: Option<PerUser>,
}

impl Default for ETagLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for ETagLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ETagLayer")
            .field("limit", &self.limit)
            .field("per_user", &self.per_user.as_ref().map(|u| u.vary))
            .finish()
    }
}

impl ETagLayer {
    /// The layer with a 4 MiB limit and no per-user tags.
    ///
    /// # Examples
    ///
    /// ```
    /// let layer = etag_runtime::layer::ETagLayer::new();
    /// assert!(format!("{layer:?}").contains("limit: 4194304"));
    /// ```
    pub fn new() -> Self {
        Self {
            limit: DEFAULT_HASH_LIMIT,
            per_user: None,
        }
    }

    /// The most body bytes buffered to hash one response; a longer body streams through
    /// untagged.
    ///
    /// # Examples
    ///
    /// ```
    /// use axum::{Router, body::Body, http::Request, routing::get};
    /// use etag_runtime::layer::ETagLayer;
    /// use tower::ServiceExt;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let app = Router::new()
    ///     .route("/big", get(|| async { "x".repeat(100) }))
    ///     .layer(ETagLayer::new().limit(64));
    /// let res = app.oneshot(Request::get("/big").body(Body::empty()).unwrap()).await.unwrap();
    /// assert!(!res.headers().contains_key("etag"));
    /// # }
    /// ```
    #[must_use]
    pub fn limit(mut self, bytes: usize) -> Self {
        self.limit = bytes;
        self
    }

    /// Tags that belong to the principal `P` extracts from each request (see
    /// [`principal`](crate::principal)): every tagged response to a request `P` accepts gets
    /// its tag sealed for that principal with `key`, `Cache-Control: private` unless it has
    /// one, and every response names [`P::VARY`](Principal::VARY) in `Vary`. The tags of
    /// `If-Match` and `If-None-Match` are opened for the same principal before the route
    /// sees them. A request `P` rejects is passed on as it is, and its response is not
    /// sealed (the route answers it, typically with a 401).
    ///
    /// # Examples
    ///
    /// ```
    /// use axum::extract::FromRequestParts;
    /// use axum::http::{HeaderName, Request, StatusCode, header, request::Parts};
    /// use axum::{Router, body::Body, routing::get};
    /// use etag_runtime::layer::ETagLayer;
    /// use etag_runtime::principal::{Principal, TagKey};
    /// use tower::ServiceExt;
    ///
    /// struct Caller(String);
    /// impl<S: Send + Sync> FromRequestParts<S> for Caller {
    ///     type Rejection = StatusCode;
    ///     async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, StatusCode> {
    ///         let token = parts.headers.get(header::AUTHORIZATION).ok_or(StatusCode::UNAUTHORIZED)?;
    ///         Ok(Caller(token.to_str().map_err(|_| StatusCode::UNAUTHORIZED)?.to_owned()))
    ///     }
    /// }
    /// impl Principal for Caller {
    ///     const VARY: &'static [HeaderName] = &[header::AUTHORIZATION];
    ///     fn id(&self) -> impl AsRef<[u8]> { self.0.clone() }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let app = Router::new()
    ///     .route("/inbox", get(|| async { "the same page for everyone" }))
    ///     .layer(ETagLayer::new().per_user::<Caller>(TagKey::new(b"a secret from the config")));
    /// let get = |who: &str, tag: Option<&str>| {
    ///     let mut req = Request::get("/inbox").header("authorization", who);
    ///     if let Some(tag) = tag { req = req.header("if-none-match", tag); }
    ///     req.body(Body::empty()).unwrap()
    /// };
    /// let ada = app.clone().oneshot(get("ada", None)).await.unwrap();
    /// let tag = ada.headers()["etag"].to_str().unwrap().to_owned();
    /// assert_eq!(ada.headers()["cache-control"], "private");
    /// assert_eq!(ada.headers()["vary"], "authorization");
    /// assert_eq!(app.clone().oneshot(get("ada", Some(&tag))).await.unwrap().status(), 304);
    /// // Bob, with Ada's tag, gets his own 200.
    /// assert_eq!(app.oneshot(get("bob", Some(&tag))).await.unwrap().status(), 200);
    /// # }
    /// ```
    #[must_use]
    pub fn per_user<P>(mut self, key: TagKey) -> Self
    where
        P: Principal + FromRequestParts<()> + 'static,
    {
        let identify: Identify = Arc::new(move |mut parts: Parts| {
            let key = key.clone();
            Box::pin(async move {
                let principal = P::from_request_parts(&mut parts, &()).await.ok();
                let personal = principal.map(|p| Personal::new(&key, &p));
                (parts, personal)
            })
        });
        self.per_user = Some(PerUser {
            identify,
            vary: P::VARY,
        });
        self
    }
}

impl<S> Layer<S> for ETagLayer {
    type Service = ETagService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ETagService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`ETagLayer`] wraps a route or a router in.
///
/// # Examples
///
/// ```
/// use axum::{body::Body, http::{Request, Response}};
/// use etag_runtime::layer::{ETagLayer, ETagService};
/// use tower::{Layer, ServiceExt, service_fn};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let hello = service_fn(|_req: Request<Body>| async {
///     Ok::<_, std::convert::Infallible>(Response::new(Body::from("hello")))
/// });
/// let service: ETagService<_> = ETagLayer::new().layer(hello);
/// let res = service.oneshot(Request::get("/").body(Body::empty()).unwrap()).await.unwrap();
/// assert_eq!(res.headers()["etag"], etag_runtime::ETag::digest(b"hello").to_string().as_str());
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct ETagService<S> {
    inner: S,
    layer: ETagLayer,
}

fn refuse(refused: Precondition) -> Response {
    refused.into_response()
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for ETagService<S>
where
    S: Service<Request<ReqBody>, Response = http::Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: http_body::Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = ResponseFuture<S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        // The clone is the one made ready: take it, leave a fresh one.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let layer = self.layer.clone();
        ResponseFuture::new(async move {
            let (mut parts, body) = req.into_parts();
            let mut personal = None;
            if let Some(per_user) = &layer.per_user {
                let (back, found) = (per_user.identify)(parts).await;
                parts = back;
                personal = found;
            }
            open_request(&mut parts.headers, personal.as_ref());
            let conditions = Conditions::from_headers(&parts.method, &parts.headers);
            let res = inner.call(Request::from_parts(parts, body)).await?;
            let responder = Responder {
                conditions: &conditions,
                refuse,
                plain: false,
            };
            let res = hash_response(&responder, res.map(Body::new), layer.limit).await;
            // A `Range` is served from the tagged 200, as under `#[etag]`.
            let mut res = crate::range::apply(&conditions, res).await;
            if let Some(per_user) = &layer.per_user {
                seal_response(&mut res, per_user.vary, personal.as_ref());
            }
            Ok(res)
        })
    }
}

/// A tower [`Layer`] that gives each content-coding its own strong tag and maps the
/// coded tags of requests back: put it right outside tower-http's `CompressionLayer` (see
/// the [module docs](self) for why and for the order).
///
/// # Examples
///
/// ```
/// use axum::{Router, body::Body, http::{Request, header}, routing::get};
/// use etag_runtime::layer::EncodingTagsLayer;
/// use tower::ServiceExt;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// // Stands in for a compressor: a body already gzip-coded, with the tag of its version.
/// let gzipped = || async { ([(header::CONTENT_ENCODING, "gzip"), (header::ETAG, "\"7\"")], "...") };
/// let app = Router::new()
///     .route("/doc", get(gzipped))
///     .layer(EncodingTagsLayer::new());
/// let res = app.oneshot(Request::get("/doc").body(Body::empty()).unwrap()).await.unwrap();
/// assert_eq!(res.headers()["etag"], "\"7-gzip\"");
/// assert_eq!(res.headers()["vary"], "accept-encoding");
/// # }
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct EncodingTagsLayer {
    _private: (),
}

impl EncodingTagsLayer {
    /// The layer.
    ///
    /// # Examples
    ///
    /// ```
    /// use etag_runtime::layer::EncodingTagsLayer;
    ///
    /// assert_eq!(format!("{:?}", EncodingTagsLayer::new()), "EncodingTagsLayer { _private: () }");
    /// ```
    pub fn new() -> Self {
        Self::default()
    }
}

impl<S> Layer<S> for EncodingTagsLayer {
    type Service = EncodingTagsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        EncodingTagsService { inner }
    }
}

/// The service [`EncodingTagsLayer`] wraps a router in.
///
/// # Examples
///
/// ```
/// use axum::{body::Body, http::{Request, Response, header}};
/// use etag_runtime::layer::{EncodingTagsLayer, EncodingTagsService};
/// use tower::{Layer, ServiceExt, service_fn};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// // What the service behind it sees of a coded tag: the tag it made.
/// let echo = service_fn(|req: Request<Body>| async move {
///     let sent = req.headers()[header::IF_MATCH].clone();
///     Ok::<_, std::convert::Infallible>(Response::new(Body::from(sent.to_str().unwrap().to_owned())))
/// });
/// let service: EncodingTagsService<_> = EncodingTagsLayer::new().layer(echo);
/// let req = Request::put("/").header("if-match", "\"7-br\"").body(Body::empty()).unwrap();
/// let res = service.oneshot(req).await.unwrap();
/// let body = axum::body::to_bytes(res.into_body(), 64).await.unwrap();
/// assert_eq!(body, "\"7\"");
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct EncodingTagsService<S> {
    inner: S,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for EncodingTagsService<S>
where
    S: Service<Request<ReqBody>, Response = http::Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: http_body::Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = ResponseFuture<S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let sent = decode_request(req.headers_mut());
        ResponseFuture::new(async move {
            let res = inner.call(req).await?;
            let mut res = res.map(Body::new);
            encode_response(&mut res, &sent);
            Ok(res)
        })
    }
}

/// The response future of [`ETagService`] and [`EncodingTagsService`]: the response,
/// once the layer has tagged it.
///
/// # Examples
///
/// ```
/// use axum::{body::Body, http::{Request, Response}};
/// use etag_runtime::layer::{ETagLayer, ResponseFuture};
/// use tower::{Layer, Service, service_fn};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let mut service = ETagLayer::new().layer(service_fn(|_req: Request<Body>| async {
///     Ok::<_, std::convert::Infallible>(Response::new(Body::from("hi")))
/// }));
/// let future: ResponseFuture<_> = service.call(Request::get("/").body(Body::empty()).unwrap());
/// assert_eq!(future.await.unwrap().status(), 200);
/// # }
/// ```
pub struct ResponseFuture<E> {
    inner: Pin<Box<dyn Future<Output = Result<Response, E>> + Send>>,
}

impl<E> ResponseFuture<E> {
    fn new(future: impl Future<Output = Result<Response, E>> + Send + 'static) -> Self {
        Self {
            inner: Box::pin(future),
        }
    }
}

impl<E> fmt::Debug for ResponseFuture<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ResponseFuture")
    }
}

impl<E> Future for ResponseFuture<E> {
    type Output = Result<Response, E>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx)
    }
}

/// The content-codings whose tags are told apart, by the suffix they add.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Coding {
    Identity,
    Gzip,
    Br,
    Zstd,
    Deflate,
    Compress,
}

impl Coding {
    const ALL: [Self; 6] = [
        Self::Identity,
        Self::Gzip,
        Self::Br,
        Self::Zstd,
        Self::Deflate,
        Self::Compress,
    ];

    fn name(self) -> &'static str {
        match self {
            Self::Identity => "identity",
            Self::Gzip => "gzip",
            Self::Br => "br",
            Self::Zstd => "zstd",
            Self::Deflate => "deflate",
            Self::Compress => "compress",
        }
    }

    /// The coding of a response, from its `Content-Encoding`: `Some(Identity)` without
    /// one, `None` for a coding (or a list of them) this layer does not know.
    fn of(headers: &HeaderMap) -> Option<Self> {
        let mut lines = headers.get_all(header::CONTENT_ENCODING).iter();
        let Some(line) = lines.next() else {
            return Some(Self::Identity);
        };
        if lines.next().is_some() {
            return None;
        }
        let value = crate::etag::trim_ows(line.as_bytes());
        let value = match value {
            b"x-gzip" | b"X-GZIP" => b"gzip".as_slice(),
            b"x-compress" => b"compress".as_slice(),
            other => other,
        };
        Self::ALL
            .into_iter()
            .find(|c| value.eq_ignore_ascii_case(c.name().as_bytes()))
    }

    /// The coding a wire tag's opaque part names, and the opaque part of the tag it was
    /// made from.
    fn split(opaque: &str) -> (&str, Self) {
        for coding in Self::ALL {
            if let Some(base) = opaque
                .strip_suffix(coding.name())
                .and_then(|rest| rest.strip_suffix('-'))
            {
                return (base, coding);
            }
        }
        (opaque, Self::Identity)
    }

    /// The tag that goes out on a response of this coding: `"<opaque>-<coding>"`; an
    /// identity tag unchanged, unless it ends like a coded one (then `-identity` is added,
    /// so that it maps back to itself).
    fn wire(self, tag: &ETag) -> ETag {
        let opaque = tag.opaque();
        let suffixed = match self {
            Self::Identity if Self::split(opaque).0.len() == opaque.len() => return tag.clone(),
            coding => format!("{opaque}-{}", coding.name()),
        };
        let made = if tag.is_weak() {
            ETag::weak(&suffixed)
        } else {
            ETag::strong(&suffixed)
        };
        // A valid opaque tag plus `-` and letters is valid.
        made.unwrap_or_else(|_| tag.clone())
    }
}

/// One member of the request's `If-None-Match`, mapped back: the tag it was made from and
/// the coding of the copy the client has.
type Sent = (String, Coding);

/// Maps the coded tags of `If-Match` and `If-None-Match` back to the tags they were made
/// from; returns the members of `If-None-Match`, for the tag of a 304.
fn decode_request(headers: &mut HeaderMap) -> Vec<Sent> {
    let mut sent = Vec::new();
    if let Some(list) = headers
        .contains_key(header::IF_NONE_MATCH)
        .then(|| crate::header::TagList::from_lines(headers.get_all(header::IF_NONE_MATCH)))
    {
        for member in list.members() {
            if let crate::list::Member::Tag { opaque, .. } = member {
                if let Ok(opaque) = std::str::from_utf8(opaque) {
                    let (base, coding) = Coding::split(opaque);
                    sent.push((base.to_owned(), coding));
                }
            }
        }
    }
    crate::principal::rewrite_tag_lists(headers, |_, opaque| {
        Some(Coding::split(opaque).0.to_owned())
    });
    sent
}

/// Gives the response's tag its coding, and a 304 the tag of the copy the client has.
fn encode_response(res: &mut Response, sent: &[Sent]) {
    let status = res.status();
    let tag = res
        .headers()
        .get(header::ETAG)
        .and_then(|v| ETag::try_from(v).ok());
    if status == StatusCode::NOT_MODIFIED {
        // The coding the compressor negotiated, which tower-http writes on 304s too.
        let negotiated = Coding::of(res.headers()).filter(|c| *c != Coding::Identity);
        let headers = res.headers_mut();
        if let Some(tag) = tag {
            let matching = || sent.iter().filter(|(base, _)| base == tag.opaque());
            let coding = matching()
                .find(|(_, c)| Some(*c) == negotiated)
                .or_else(|| matching().next())
                .map(|(_, c)| *c)
                .or(negotiated)
                .unwrap_or(Coding::Identity);
            headers.insert(header::ETAG, coding.wire(&tag).into());
        }
        // A 304 has no body, so no coding; a cache would apply this one to its copy.
        headers.remove(header::CONTENT_ENCODING);
        add_vary(headers, &header::ACCEPT_ENCODING);
        *res.body_mut() = crate::not_modified::empty().into_body();
        return;
    }
    let Some(tag) = tag else { return };
    if status.is_success() {
        let headers = res.headers_mut();
        match Coding::of(headers) {
            Some(coding) => {
                headers.insert(header::ETAG, coding.wire(&tag).into());
            }
            // A coding this layer cannot map back: no tag rather than a wrong one.
            None => {
                headers.remove(header::ETAG);
            }
        }
        add_vary(headers, &header::ACCEPT_ENCODING);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_wire_tag_maps_back_to_one_tag_and_coding() {
        for opaque in ["7", "", "a-gzip", "a-identity", "-br", "x-y", "a-gzip-br"] {
            let tag = ETag::strong(opaque).unwrap();
            for coding in Coding::ALL {
                let wire = coding.wire(&tag);
                assert_eq!(Coding::split(wire.opaque()), (opaque, coding), "{wire}");
            }
        }
        let seven = ETag::strong("7").unwrap();
        assert_eq!(Coding::Identity.wire(&seven), seven);
        assert_eq!(Coding::Gzip.wire(&seven).to_string(), "\"7-gzip\"");
        assert_eq!(
            Coding::Br.wire(&seven.clone().into_weak()).to_string(),
            "W/\"7-br\""
        );
        assert_eq!(
            Coding::Identity
                .wire(&ETag::strong("v-gzip").unwrap())
                .to_string(),
            "\"v-gzip-identity\""
        );
    }

    #[test]
    fn content_encodings() {
        let of = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::CONTENT_ENCODING, v.parse().unwrap());
            Coding::of(&h)
        };
        assert_eq!(Coding::of(&HeaderMap::new()), Some(Coding::Identity));
        assert_eq!(of("gzip"), Some(Coding::Gzip));
        assert_eq!(of("x-gzip"), Some(Coding::Gzip));
        assert_eq!(of("BR"), Some(Coding::Br));
        assert_eq!(of("gzip, br"), None);
        assert_eq!(of("lzma"), None);
    }

    #[test]
    fn request_tags_are_mapped_back() {
        let mut h = HeaderMap::new();
        h.insert(
            header::IF_NONE_MATCH,
            "\"7-gzip\", W/\"8-br\", \"v-gzip-identity\""
                .parse()
                .unwrap(),
        );
        h.insert(header::IF_MATCH, "\"7-zstd\", *".parse().unwrap());
        let sent = decode_request(&mut h);
        assert_eq!(h[header::IF_NONE_MATCH], "\"7\", W/\"8\", \"v-gzip\"");
        assert_eq!(h[header::IF_MATCH], "\"7\", *");
        assert_eq!(
            sent,
            [
                ("7".to_owned(), Coding::Gzip),
                ("8".to_owned(), Coding::Br),
                ("v-gzip".to_owned(), Coding::Identity)
            ]
        );
    }
}

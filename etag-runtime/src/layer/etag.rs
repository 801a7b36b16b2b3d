//! [`ETagLayer`]: body-hash tags and preconditions for every route behind it.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::{FromRef, FromRequestParts};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::Request;
use http::header::{self, HeaderMap, HeaderName};
use http::request::Parts;
use tower::{Layer, Service};

use super::coding::Coding;
use super::future::ResponseFuture;
use super::{BoxError, CodedTagsOutside};
use crate::handler::Responder;
use crate::hash::{DEFAULT_HASH_LIMIT, hash_response};
use crate::principal::{Personal, Principal, TagKey, open_request, seal_response};
use crate::{Conditions, ETag, Precondition};

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
/// [module docs](crate::layer).
///
/// A body over the limit (4 MiB unless set with [`limit`](Self::limit)), by its
/// `Content-Length`, its size hint or once that much has been read, streams through
/// untagged, as does a response with `Cache-Control: no-store`, one that is not a 200, and
/// the response to any other method. A response that already has an `ETag` keeps it; the
/// request is evaluated against it.
///
/// The digest is most of what the layer adds to a 200: more than rendering the body took
/// (`layer_200_overhead` in the repository's BENCHMARKS.md), where XXH3, which list tags
/// use, runs many times faster. It stays SHA-256 because bodies are partly written by
/// clients, who could otherwise make two of them collide: see [`ETag::digest`]. A handler
/// whose model has a version pays for no digest, with `#[etag]`.
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
    /// Whether the warning of a coded response with a foreign strong tag was logged.
    warned: Arc<AtomicBool>,
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
            warned: Arc::default(),
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
    /// [`principal`](crate::principal)), as `#[etag(per_user = ...)]` makes them: `P` is
    /// extracted with `state`, as a handler's extractor is with the router's state, and the
    /// [`TagKey`] is taken from the same state through `TagKey: FromRef<S>`. Every tagged
    /// response to a request `P` accepts gets its tag sealed for that principal,
    /// `Cache-Control: private` unless it has one, and every response names
    /// [`P::VARY`](Principal::VARY) in `Vary`. The tags of `If-Match` and `If-None-Match`
    /// are opened for the same principal before the route sees them. A request `P` rejects
    /// is passed on as it is, and its response is not sealed (the route answers it,
    /// typically with a 401).
    ///
    /// A principal that reads no state takes the key alone as its state
    /// (`per_user::<Caller, _>(key)`): a [`TagKey`] is `FromRef` of itself.
    ///
    /// # Examples
    ///
    /// A principal found in the router's state (its sessions), with the key in the same
    /// state:
    ///
    /// ```
    /// use std::{collections::HashMap, sync::Arc};
    /// use axum::extract::{FromRef, FromRequestParts};
    /// use axum::http::{HeaderName, Request, StatusCode, header, request::Parts};
    /// use axum::{Router, body::Body, routing::get};
    /// use etag_runtime::layer::ETagLayer;
    /// use etag_runtime::principal::{Principal, TagKey};
    /// use tower::ServiceExt;
    ///
    /// #[derive(Clone)]
    /// struct AppState { key: TagKey, sessions: Arc<HashMap<&'static str, &'static str>> }
    /// impl FromRef<AppState> for TagKey {
    ///     fn from_ref(state: &AppState) -> TagKey { state.key.clone() }
    /// }
    ///
    /// /// The user a session cookie belongs to.
    /// struct User(&'static str);
    /// impl FromRequestParts<AppState> for User {
    ///     type Rejection = StatusCode;
    ///     async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, StatusCode> {
    ///         let cookie = parts.headers.get(header::COOKIE).ok_or(StatusCode::UNAUTHORIZED)?;
    ///         let session = cookie.to_str().map_err(|_| StatusCode::UNAUTHORIZED)?;
    ///         state.sessions.get(session).map(|user| User(user)).ok_or(StatusCode::UNAUTHORIZED)
    ///     }
    /// }
    /// impl Principal for User {
    ///     const VARY: &'static [HeaderName] = &[header::COOKIE];
    ///     fn id(&self) -> impl AsRef<[u8]> { self.0 }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let state = AppState {
    ///     key: TagKey::new(b"a secret from the config"),
    ///     sessions: Arc::new(HashMap::from([("s1", "ada"), ("s2", "bob")])),
    /// };
    /// let app = Router::new()
    ///     .route("/inbox", get(|| async { "the same page for everyone" }))
    ///     .layer(ETagLayer::new().per_user::<User, _>(state.clone()))
    ///     .with_state(state);
    /// let get = |session: &str, tag: Option<&str>| {
    ///     let mut req = Request::get("/inbox").header("cookie", session);
    ///     if let Some(tag) = tag { req = req.header("if-none-match", tag); }
    ///     req.body(Body::empty()).unwrap()
    /// };
    /// let ada = app.clone().oneshot(get("s1", None)).await.unwrap();
    /// let tag = ada.headers()["etag"].to_str().unwrap().to_owned();
    /// assert_eq!(ada.headers()["cache-control"], "private");
    /// assert_eq!(ada.headers()["vary"], "cookie");
    /// assert_eq!(app.clone().oneshot(get("s1", Some(&tag))).await.unwrap().status(), 304);
    /// // Bob, with Ada's tag, gets his own 200.
    /// assert_eq!(app.oneshot(get("s2", Some(&tag))).await.unwrap().status(), 200);
    /// # }
    /// ```
    ///
    /// A principal that reads only the request, with the key as the whole state:
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
    /// let key = TagKey::new(b"a secret from the config");
    /// let app = Router::new()
    ///     .route("/inbox", get(|| async { "the same page for everyone" }))
    ///     .layer(ETagLayer::new().per_user::<Caller, _>(key));
    /// let req = Request::get("/inbox").header("authorization", "ada").body(Body::empty()).unwrap();
    /// let res = app.oneshot(req).await.unwrap();
    /// assert_eq!(res.headers()["vary"], "authorization");
    /// assert!(res.headers()["etag"].to_str().unwrap().contains('.'));
    /// # }
    /// ```
    #[must_use]
    pub fn per_user<P, S>(mut self, state: S) -> Self
    where
        P: Principal + FromRequestParts<S> + 'static,
        S: Clone + Send + Sync + 'static,
        TagKey: FromRef<S>,
    {
        let identify: Identify = Arc::new(move |mut parts: Parts| {
            let state = state.clone();
            Box::pin(async move {
                let principal = P::from_request_parts(&mut parts, &state).await.ok();
                let personal = principal.map(|p| Personal::new(&TagKey::from_ref(&state), &p));
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
            let conditions = Conditions::from_parts(&parts);
            let covered = parts.extensions.get::<CodedTagsOutside>().is_some();
            let res = inner.call(Request::from_parts(parts, body)).await?;
            if !covered {
                warn_of_foreign_tag(res.headers(), &layer.warned);
            }
            let responder = Responder {
                conditions: &conditions,
                refuse,
                plain: false,
                groups: None,
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

/// Warns, once per layer, of a coded response that reaches the layer with a strong tag it
/// did not make, on a request no encoding-tags layer is outside of: a compressor inside
/// has put the identity bytes' tag on other bytes, and nothing will give it its coding.
/// (A compressor outside every layer of this crate cannot be seen from here: that order is
/// why [`Compression`](crate::layer) is one layer.)
fn warn_of_foreign_tag(headers: &HeaderMap, warned: &AtomicBool) {
    let Some(coding) = Coding::of(headers).filter(|c| *c != Coding::Identity) else {
        return;
    };
    let Some(tag) = headers
        .get(header::ETAG)
        .and_then(|v| ETag::try_from(v).ok())
        .filter(|t| !t.is_weak())
    else {
        return;
    };
    if !warned.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            coding = coding.name(),
            etag = tag.as_str(),
            "a compressed response carries a strong tag made for its uncompressed bytes, and \
             no EncodingTagsLayer is outside to give it the tag of its coding: compress with \
             etag_runtime::layer::Compression, or put EncodingTagsLayer right outside \
             tower-http's CompressionLayer (logged once)"
        );
    }
}

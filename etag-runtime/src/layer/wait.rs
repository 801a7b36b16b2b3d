//! Holding a conditional GET until its resource changes (see [`wait`](crate::wait)).

use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http::header::IF_NONE_MATCH;
use http::{Request, StatusCode};
use tokio::time::Instant;
use tower::{Layer, Service};

use super::{BoxError, ResponseFuture};
use crate::groups::CacheGroups;
use crate::wait::{Changes, PREFERENCE_APPLIED, Woke, applied, preferred_wait};

/// Holds a GET or HEAD that carries `Prefer: wait=N` and a matching `If-None-Match` until
/// one of its cache groups changes or the wait ends (see [`wait`](crate::wait) for the
/// protocol), and publishes into its [`Changes`] the groups of every successful write it
/// passes.
///
/// Put it outside everything that decides the 304 (compression and its tags included), so
/// that asking again goes through the same stack, and where it sees every write, or publish
/// the others with [`Changes::publish`].
///
/// # Examples
///
/// ```
/// use axum::{Json, Router, extract::Path, routing::get};
/// use etag_runtime::layer::WaitLayer;
/// use etag_runtime::wait::Changes;
/// use etag_runtime::{Versioned, etag};
/// use std::time::Duration;
/// use tower::ServiceExt;
///
/// #[derive(serde::Serialize, Versioned)]
/// #[versioned(group = "product")]
/// struct Product {
///     #[group_key]
///     id: i64,
///     #[version]
///     version: i64,
/// }
///
/// #[etag]
/// async fn product(Path(id): Path<i64>) -> Json<Product> {
///     Json(Product { id, version: 1 })
/// }
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let changes = Changes::new();
/// let app = Router::new()
///     .route("/products/{id}", get(product))
///     .layer(WaitLayer::new(changes.clone()).max_wait(Duration::from_secs(5)));
/// let req = http::Request::get("/products/4")
///     .header("if-none-match", r#""1""#)
///     .header("prefer", "wait=30")
///     .body(axum::body::Body::empty())
///     .unwrap();
/// // Nothing changes: the 304 comes at the end of the wait, capped at 5 seconds.
/// let res = app.oneshot(req).await.unwrap();
/// assert_eq!(res.status(), 304);
/// assert_eq!(res.headers()["preference-applied"], "wait=5");
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct WaitLayer {
    changes: Changes,
    max_wait: Duration,
    max_waiters: usize,
}

impl WaitLayer {
    /// The default of [`max_wait`](Self::max_wait): a minute.
    pub const MAX_WAIT: Duration = Duration::from_secs(60);

    /// The default of [`max_waiters`](Self::max_waiters).
    pub const MAX_WAITERS: usize = 1024;

    /// Waits on `changes`, at most [`MAX_WAIT`](Self::MAX_WAIT) each, at most
    /// [`MAX_WAITERS`](Self::MAX_WAITERS) at once.
    ///
    /// # Examples
    ///
    /// ```
    /// use etag_runtime::layer::WaitLayer;
    /// let layer = WaitLayer::new(etag_runtime::wait::Changes::new());
    /// assert_eq!(layer.limits(), (WaitLayer::MAX_WAIT, WaitLayer::MAX_WAITERS));
    /// ```
    pub fn new(changes: Changes) -> Self {
        Self {
            changes,
            max_wait: Self::MAX_WAIT,
            max_waiters: Self::MAX_WAITERS,
        }
    }

    /// Holds a request for at most `wait`, whatever its `Prefer: wait` asks; zero holds
    /// none. Keep it below the read timeout of every proxy in front.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use etag_runtime::layer::WaitLayer;
    /// let layer = WaitLayer::new(etag_runtime::wait::Changes::new()).max_wait(Duration::from_secs(20));
    /// assert_eq!(layer.limits().0, Duration::from_secs(20));
    /// ```
    #[must_use]
    pub fn max_wait(mut self, wait: Duration) -> Self {
        self.max_wait = wait;
        self
    }

    /// Holds at most `waiters` requests at once (counted over every layer that shares the
    /// [`Changes`]); the next ones answer at once, without `Preference-Applied`. Each holds
    /// its connection: keep the number well below the server's connection cap.
    ///
    /// # Examples
    ///
    /// ```
    /// use etag_runtime::layer::WaitLayer;
    /// let layer = WaitLayer::new(etag_runtime::wait::Changes::new()).max_waiters(100);
    /// assert_eq!(layer.limits().1, 100);
    /// ```
    #[must_use]
    pub fn max_waiters(mut self, waiters: usize) -> Self {
        self.max_waiters = waiters;
        self
    }

    /// The longest wait and the most waiters at once.
    ///
    /// # Examples
    ///
    /// ```
    /// use etag_runtime::layer::WaitLayer;
    /// let (wait, waiters) = WaitLayer::new(etag_runtime::wait::Changes::new()).limits();
    /// assert!(wait.as_secs() > 0 && waiters > 0);
    /// ```
    pub fn limits(&self) -> (Duration, usize) {
        (self.max_wait, self.max_waiters)
    }
}

impl<S> Layer<S> for WaitLayer {
    type Service = WaitService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        WaitService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service of [`WaitLayer`].
#[derive(Debug, Clone)]
pub struct WaitService<S> {
    inner: S,
    layer: WaitLayer,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for WaitService<S>
where
    S: Service<Request<ReqBody>, Response = http::Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqBody: Default + Send + 'static,
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
        let layer = self.layer.clone();
        if !crate::conditions::is_read(req.method()) {
            let future = self.inner.call(req);
            return ResponseFuture::new(async move {
                let res = future.await?.map(Body::new);
                if res.status().is_success()
                    && let Some(groups) = res.extensions().get::<CacheGroups>()
                {
                    layer.changes.publish(groups);
                }
                Ok(res)
            });
        }
        let wait = match preferred_wait(req.headers()) {
            Some(wait)
                if req.headers().contains_key(IF_NONE_MATCH) && !layer.max_wait.is_zero() =>
            {
                wait.min(layer.max_wait)
            }
            _ => {
                let future = self.inner.call(req);
                return ResponseFuture::new(async move { Ok(future.await?.map(Body::new)) });
            }
        };
        // The service that was made ready answers the first call; a clone the next ones.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let (parts, body) = req.into_parts();
        let since = layer.changes.generation();
        let first = inner.call(Request::from_parts(parts.clone(), body));
        ResponseFuture::new(async move {
            let mut res = first.await?.map(Body::new);
            if !may_wait(&res) {
                return Ok(res);
            }
            let Some(_waiting) = layer.changes.enter(layer.max_waiters) else {
                tracing::debug!(
                    waiting = layer.changes.waiting(),
                    "answering a Prefer: wait request at once: the waiters are at their cap or the server is stopping"
                );
                return Ok(res);
            };
            let deadline = Instant::now() + layer.changes.jitter(wait);
            let mut since = since;
            while let Some(groups) = res.extensions().get::<CacheGroups>() {
                match layer.changes.wait(groups, since, deadline).await {
                    Woke::Changed => {}
                    Woke::Deadline | Woke::Closed => break,
                }
                since = layer.changes.generation();
                std::future::poll_fn(|cx| inner.poll_ready(cx)).await?;
                let again = Request::from_parts(parts.clone(), ReqBody::default());
                res = inner.call(again).await?.map(Body::new);
                if !may_wait(&res) {
                    break;
                }
            }
            res.headers_mut().insert(PREFERENCE_APPLIED, applied(wait));
            Ok(res)
        })
    }
}

/// A 304 that names the cache groups a change would come through.
fn may_wait(res: &Response) -> bool {
    res.status() == StatusCode::NOT_MODIFIED
        && res
            .extensions()
            .get::<CacheGroups>()
            .is_some_and(|groups| !groups.is_empty())
}

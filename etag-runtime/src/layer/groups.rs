//! The cache groups of `#[etag]` responses, for the shared caches a response does not
//! pass through: a vendor header on reads, and a purge hook after writes.

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::{error, fmt};

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http::Request;
use tower::{Layer, Service};

use super::{BoxError, ResponseFuture};
use crate::groups::{CacheGroups, VendorHeader};

/// Invalidates cache groups in shared caches: what [`CacheGroupsLayer`] calls after a
/// successful write, with the groups it changed (its `Cache-Group-Invalidation`).
///
/// The example application implements it for Varnish (an HTTP `PURGE` with an `xkey-purge`
/// header, which its VCL hands to the xkey vmod). The other CDNs map onto it the same way,
/// one API call per write: Fastly's purge by surrogate key (`POST
/// /service/{id}/purge` with a `Surrogate-Key` header), Cloudflare's purge by tags
/// (`POST /zones/{id}/purge_cache` with `{"tags": [...]}`, at most 30 tags a call), and
/// CloudFront's invalidation by tag. A purge that can take long should time out: the
/// write's response waits for it.
///
/// # Examples
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use etag_runtime::groups::CacheGroups;
/// use etag_runtime::layer::{Purge, PurgeError};
///
/// /// Remembers what it was asked to purge.
/// #[derive(Clone, Default)]
/// struct Recorder(Arc<Mutex<Vec<String>>>);
///
/// impl Purge for Recorder {
///     async fn purge(&self, groups: &CacheGroups) -> Result<(), PurgeError> {
///         self.0.lock().unwrap().extend(groups.iter().map(str::to_owned));
///         Ok(())
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let recorder = Recorder::default();
/// let mut groups = CacheGroups::new();
/// groups.add("product/1");
/// recorder.purge(&groups).await.unwrap();
/// assert_eq!(*recorder.0.lock().unwrap(), ["product/1"]);
/// # }
/// ```
pub trait Purge: Send + Sync + 'static {
    /// Invalidates every stored response that belongs to any of `groups`.
    ///
    /// # Errors
    ///
    /// The caches could not be told; the layer tries again (see [`CacheGroupsLayer`]).
    fn purge(&self, groups: &CacheGroups) -> impl Future<Output = Result<(), PurgeError>> + Send;
}

/// No purge hook: [`CacheGroupsLayer::new`]'s, for caches that see every write.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoPurge;

impl Purge for NoPurge {
    async fn purge(&self, _groups: &CacheGroups) -> Result<(), PurgeError> {
        Ok(())
    }
}

/// Why a [`Purge`] failed, in words for the log.
///
/// # Examples
///
/// ```
/// let e = etag_runtime::layer::PurgeError::new("varnish answered 503");
/// assert_eq!(e.to_string(), "varnish answered 503");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurgeError(String);

impl PurgeError {
    /// An error saying `why`.
    ///
    /// # Examples
    ///
    /// ```
    /// let e = etag_runtime::layer::PurgeError::new("timed out");
    /// assert!(e.to_string().contains("timed out"));
    /// ```
    pub fn new(why: impl fmt::Display) -> Self {
        Self(why.to_string())
    }
}

impl fmt::Display for PurgeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl error::Error for PurgeError {}

/// Sends the cache groups of `#[etag]` responses (RFC 9875) where a shared cache that
/// does not read `Cache-Groups` looks for them, and tells the caches a write does not pass
/// through what it changed.
///
/// - On the 2xx and 304 of a GET or HEAD that has `Cache-Groups`, the same groups under a
///   [`VendorHeader`] (`Surrogate-Key`, `Cache-Tag`, ...), within its limits.
/// - After the 2xx of any other method that has `Cache-Group-Invalidation`, it calls the
///   [`Purge`] hook with those groups, and sends the response once the hook has returned.
///
/// # Order, and what a client may observe
///
/// The handler's write is committed when its response reaches the layer; the purge runs
/// then, and the response is sent after it. So a client that got a write's response reads
/// the new state through every purged cache. A failed purge is tried twice more at once;
/// when it still fails, it is logged (`tracing` error) and its groups are kept and purged
/// with the next write's, so they are never dropped while the process runs. Until then
/// (or until the stored responses' shared lifetime ends), readers of those caches may get
/// the old state; the write itself is durable and its response says so. A read that
/// reached the origin before the write committed and is stored after the purge can also
/// outlive it, for the same time: keep the shared lifetime to what such a window may cost.
///
/// # Examples
///
/// ```
/// use axum::{Json, Router, extract::Path, routing::get};
/// use etag_runtime::groups::VendorHeader;
/// use etag_runtime::layer::CacheGroupsLayer;
/// use etag_runtime::{Versioned, etag};
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
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let app = Router::new()
///     .route("/products/{id}", get(product))
///     .layer(CacheGroupsLayer::new().vendor_header(VendorHeader::surrogate_key()));
/// let req = http::Request::get("/products/4").body(axum::body::Body::empty()).unwrap();
/// let res = app.oneshot(req).await.unwrap();
/// assert_eq!(res.headers()["cache-groups"], r#""product/4""#);
/// assert_eq!(res.headers()["surrogate-key"], "product/4");
/// # }
/// ```
#[derive(Debug)]
pub struct CacheGroupsLayer<P = NoPurge> {
    vendor: Option<VendorHeader>,
    purger: Arc<Purger<P>>,
}

impl<P> Clone for CacheGroupsLayer<P> {
    fn clone(&self) -> Self {
        Self {
            vendor: self.vendor.clone(),
            purger: Arc::clone(&self.purger),
        }
    }
}

impl Default for CacheGroupsLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl CacheGroupsLayer {
    /// No vendor header and no purge hook (set them with the methods below).
    ///
    /// # Examples
    ///
    /// ```
    /// let layer = etag_runtime::layer::CacheGroupsLayer::new();
    /// assert!(layer.vendor().is_none());
    /// ```
    pub fn new() -> Self {
        Self {
            vendor: None,
            purger: Arc::new(Purger::new(NoPurge)),
        }
    }
}

impl<P: Purge> CacheGroupsLayer<P> {
    /// Also sends the groups of reads under `header`.
    ///
    /// # Examples
    ///
    /// ```
    /// use etag_runtime::groups::VendorHeader;
    /// let layer = etag_runtime::layer::CacheGroupsLayer::new().vendor_header(VendorHeader::cache_tag());
    /// assert_eq!(layer.vendor().unwrap().name(), "cache-tag");
    /// ```
    #[must_use]
    pub fn vendor_header(mut self, header: VendorHeader) -> Self {
        self.vendor = Some(header);
        self
    }

    /// The vendor header the groups of reads also go under, if any.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(etag_runtime::layer::CacheGroupsLayer::new().vendor().is_none());
    /// ```
    pub fn vendor(&self) -> Option<&VendorHeader> {
        self.vendor.as_ref()
    }

    /// Calls `purge` after every successful write (see the type's docs for when).
    ///
    /// # Examples
    ///
    /// ```
    /// use etag_runtime::layer::{CacheGroupsLayer, NoPurge};
    /// let layer: CacheGroupsLayer<NoPurge> = CacheGroupsLayer::new().purge(NoPurge);
    /// assert!(layer.vendor().is_none());
    /// ```
    pub fn purge<Q: Purge>(self, purge: Q) -> CacheGroupsLayer<Q> {
        CacheGroupsLayer {
            vendor: self.vendor,
            purger: Arc::new(Purger::new(purge)),
        }
    }
}

impl<S, P> Layer<S> for CacheGroupsLayer<P> {
    type Service = CacheGroupsService<S, P>;

    fn layer(&self, inner: S) -> Self::Service {
        CacheGroupsService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service of [`CacheGroupsLayer`].
#[derive(Debug)]
pub struct CacheGroupsService<S, P = NoPurge> {
    inner: S,
    layer: CacheGroupsLayer<P>,
}

impl<S: Clone, P> Clone for CacheGroupsService<S, P> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            layer: self.layer.clone(),
        }
    }
}

impl<S, P, ReqBody, ResBody> Service<Request<ReqBody>> for CacheGroupsService<S, P>
where
    S: Service<Request<ReqBody>, Response = http::Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    P: Purge,
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
        let read = crate::conditions::is_read(req.method());
        let layer = self.layer.clone();
        let future = self.inner.call(req);
        ResponseFuture::new(async move {
            let mut res = future.await?.map(Body::new);
            let Some(groups) = res.extensions().get::<CacheGroups>() else {
                return Ok(res);
            };
            if read {
                let value = layer
                    .vendor
                    .as_ref()
                    .and_then(|header| Some((header.name().clone(), groups.vendor_value(header)?)));
                if let Some((name, value)) = value {
                    res.headers_mut().insert(name, value);
                }
            } else if res.status().is_success() {
                let groups = groups.clone();
                layer.purger.run(groups).await;
            }
            Ok(res)
        })
    }
}

/// The hook, and the groups of purges that failed, for the next one.
#[derive(Debug)]
struct Purger<P> {
    purge: P,
    pending: Mutex<CacheGroups>,
}

impl<P: Purge> Purger<P> {
    /// Attempts at one purge before its groups wait for the next.
    const ATTEMPTS: usize = 3;

    fn new(purge: P) -> Self {
        Self {
            purge,
            pending: Mutex::new(CacheGroups::new()),
        }
    }

    async fn run(&self, groups: CacheGroups) {
        let groups = {
            let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
            let mut all = std::mem::take(&mut *pending);
            all.add_all(&groups);
            all
        };
        let mut last = None;
        for attempt in 1..=Self::ATTEMPTS {
            match self.purge.purge(&groups).await {
                Ok(()) => return,
                Err(e) => {
                    tracing::warn!(attempt, error = %e, "cache-group purge failed");
                    last = Some(e);
                }
            }
        }
        let names: Vec<&str> = groups.iter().collect();
        tracing::error!(
            groups = ?names,
            error = %last.map(|e| e.to_string()).unwrap_or_default(),
            "cache-group purge failed {} times; its groups go with the next purge",
            Self::ATTEMPTS
        );
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .add_all(&groups);
    }
}

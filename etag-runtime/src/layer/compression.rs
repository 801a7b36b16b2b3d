//! [`Compression`]: tower-http's compressor with the encoding-tags layer outside it, as one
//! layer that cannot be stacked in the wrong order.

use tower::Layer;
use tower_http::compression::{self, CompressionLayer, DefaultPredicate, Predicate};

use super::{EncodingTagsLayer, EncodingTagsService};

/// tower-http's `CompressionLayer` with [`EncodingTagsLayer`] right outside it: one layer,
/// so the order that gives the identity's strong tag to gzip bytes cannot be written.
///
/// Put it where the `CompressionLayer` would go, outside [`ETagLayer`](super::ETagLayer)
/// and the `#[etag]` handlers. Configure the compressor as usual and hand it over; each
/// coding it produces gets its own strong tag that revalidates, and the tags of writes map
/// back (see the [module docs](crate::layer)).
///
/// # Examples
///
/// ```
/// use axum::{Router, body::Body, http::Request, routing::get};
/// use etag_runtime::layer::{Compression, ETagLayer};
/// use tower::{ServiceBuilder, ServiceExt};
/// use tower_http::compression::CompressionLayer;
///
/// async fn about() -> String {
///     "A page with no model: the layer tags it by its SHA-256. ".repeat(20)
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let app: Router = Router::new().route("/about", get(about)).layer(
///     ServiceBuilder::new()
///         .layer(Compression::new(CompressionLayer::new().gzip(true).br(true)))
///         .layer(ETagLayer::new()),
/// );
/// let get = |tag: Option<&str>| {
///     let mut req = Request::get("/about").header("accept-encoding", "gzip");
///     if let Some(tag) = tag { req = req.header("if-none-match", tag); }
///     req.body(Body::empty()).unwrap()
/// };
/// let gzip = app.clone().oneshot(get(None)).await.unwrap();
/// assert_eq!(gzip.headers()["content-encoding"], "gzip");
/// let tag = gzip.headers()["etag"].to_str().unwrap().to_owned();
/// assert!(tag.ends_with("-gzip\""), "{tag}");
/// assert_eq!(app.oneshot(get(Some(&tag))).await.unwrap().status(), 304);
/// # }
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "compression")))]
#[derive(Clone, Default)]
pub struct Compression<P = DefaultPredicate> {
    tags: EncodingTagsLayer,
    compression: CompressionLayer<P>,
}

impl<P> std::fmt::Debug for Compression<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compression").finish_non_exhaustive()
    }
}

impl<P: Predicate> Compression<P> {
    /// The layer, compressing with `compression` (its codings, level and predicate).
    ///
    /// # Examples
    ///
    /// ```
    /// use axum::{Router, body::Body, http::{Request, header}, routing::get};
    /// use etag_runtime::layer::{Compression, ETagLayer};
    /// use tower::ServiceExt;
    /// use tower_http::compression::CompressionLayer;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let app = Router::new()
    ///     .route("/", get(|| async { "a page worth compressing ".repeat(8) }))
    ///     .layer(ETagLayer::new())
    ///     .layer(Compression::new(CompressionLayer::new().no_br()));
    /// let get = |accept: &str| Request::get("/").header("accept-encoding", accept).body(Body::empty()).unwrap();
    /// // No br from this compressor: the identity bytes, under their own tag.
    /// let br = app.clone().oneshot(get("br")).await.unwrap();
    /// assert!(!br.headers().contains_key(header::CONTENT_ENCODING));
    /// let gzip = app.oneshot(get("gzip")).await.unwrap();
    /// let (identity_tag, gzip_tag) = (&br.headers()["etag"], &gzip.headers()["etag"]);
    /// let identity_tag = identity_tag.to_str().unwrap().trim_end_matches('"');
    /// assert_eq!(gzip_tag.to_str().unwrap(), format!("{identity_tag}-gzip\""));
    /// # }
    /// ```
    pub fn new(compression: CompressionLayer<P>) -> Self {
        Self {
            tags: EncodingTagsLayer::new(),
            compression,
        }
    }
}

impl<S, P: Predicate> Layer<S> for Compression<P> {
    type Service = EncodingTagsService<compression::Compression<S, P>>;

    fn layer(&self, inner: S) -> Self::Service {
        self.tags.layer(self.compression.layer(inner))
    }
}

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
//!   tag it was made from, so that `#[etag]`, [`Conditions`](crate::Conditions) and
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

mod encoding;
mod etag;
mod future;

pub use encoding::{EncodingTagsLayer, EncodingTagsService};
pub use etag::{ETagLayer, ETagService};
pub use future::ResponseFuture;

/// The error of a response body a layer reads or passes on.
type BoxError = Box<dyn std::error::Error + Send + Sync>;

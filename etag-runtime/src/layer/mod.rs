//! Tower layers: ETags for routes without a model, a tag per content-coding, and cache
//! groups for the shared caches a response does not pass through.
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
//! - [`CacheGroupsLayer`] repeats the cache groups of `#[etag]` responses under a CDN's own
//!   header, and hands each successful write's groups to a [`Purge`] hook before the
//!   response goes out (see [`groups`](crate::groups)).
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
//! - on the way in it maps the coded tags of `If-Match` back to the tags they were made
//!   from, whatever their coding, so that `#[etag]`, [`Conditions`](crate::Conditions)
//!   and [`ETagLayer`] inside see the tags they made: a write names the resource, not one
//!   of its codings, so a PUT with `If-Match` carrying the tag of a compressed GET
//!   succeeds while the version is current (and gets 412 once it is not, as with any
//!   stale tag). The `If-None-Match` of any method other than GET and HEAD is mapped back
//!   the same way.
//!
//! An identity tag that itself ends in such a suffix is sent as `"<opaque>-identity"`, so
//! that every tag on the wire maps back to exactly one (tag, coding) pair.
//!
//! ## `If-None-Match`: the tag of the coding selected for this request
//!
//! The `If-None-Match` of a GET or HEAD is compared with the tag of the *selected*
//! representation (RFC 9110 section 13.1.2), and a 304 makes a cache serve the stored
//! response that has the 304's tag (RFC 9111 section 4.3.4). A client that sends
//! `Accept-Encoding: identity` and the tag of a gzip copy must therefore get a 200 with
//! the identity tag, not a 304 that lets a cache hand it gzip bytes it cannot decode; and a
//! gzip client that names only the identity copy gets the gzip representation and its
//! tag. Which tag is the selected one depends on the coding the compressor will choose,
//! and the 304 is decided inside it (by `#[etag]` before the body is even made), so the
//! layer decides in two steps:
//!
//! 1. **Before**: it reads `Accept-Encoding` as tower-http's `CompressionLayer` does
//!    (q-values, ties broken zstd over br over gzip over deflate, `x-gzip` as gzip, `q=0` refusing a
//!    coding, `*` and unknown codings counting for nothing, identity when nothing else is
//!    acceptable) over the codings the compressor behind has been seen to produce, and
//!    passes on, mapped back, only the tags of the coding that picks. Those revalidate
//!    inside as before, and the 304 carries that coding's tag and no `Content-Encoding`
//!    (which tower-http puts on 304s too; a cache would apply it to the stored response).
//!    If the client accepts a coding that has not been seen yet, no tag is known to be
//!    the selected one and none is passed on.
//! 2. **After**: the other tags are held back and compared with the tag the response
//!    actually goes out with. The compressor may skip a response (tower-http's default
//!    predicate skips bodies under 32 bytes, images, gRPC and event streams), and then the
//!    identity copy is the selected one even for a gzip client: a 200 whose final tag is
//!    a held-back one becomes a 304 there, costing the handler's work but not the bytes.
//!
//! 3. **A 304 that names no tag**: one decided by `If-Modified-Since` or `If-None-Match:
//!    *` must carry the tag the 200 would (RFC 9110 section 15.4.5), and while the client
//!    accepts a coding, the compressor chooses that 200's coding only from its body (its
//!    size, its type: no predicate can know them before the body exists, and
//!    `CompressionLayer` takes any predicate). So `#[etag]`, [`ETagLayer`] and
//!    [`Conditions::check`](crate::Conditions::check) (on a `Conditions` taken as an
//!    extractor) do not answer that 304 inside: they render the 200, which goes through
//!    the compressor marked, and this layer turns it into the 304 with the tag of the
//!    coding it got. Like step 2 it costs the handler's work, not the bytes (the compressor
//!    sets up its encoder but codes nothing). A 304 made where the layer cannot be seen
//!    ([`Conditions::from_headers`](crate::Conditions::from_headers), a handler's own
//!    304) carries the tag of the coding the compressor negotiated, right only for a body
//!    it compresses.
//!
//! The choice is never one a client cannot decode: step 1 only passes on tags of a coding
//! the request accepts, and step 2 compares with the bytes that would be sent. A server
//! that starts producing a coding only later (a new `CompressionLayer` setting) may
//! confirm a client's copy in the coding it produced before, which that client accepts.
//!
//! `If-Range` is not mapped: the range step runs inside the compressor, on the identity
//! bytes, and keeps every compressor off its 206s (see [`ETagLayer`] and `#[etag]`), so
//! the representation a 206 is cut from is always the identity one: its tag holds and a
//! coded tag does not.
//!
//! Why a layer of its own rather than `#[etag]` or [`ETagLayer`]: both run inside the
//! compressor, where the coding is not chosen yet; and `#[etag]` cannot see the
//! responses of routes it is not on. One layer outside the compressor covers every route.
//!
//! ## The order
//!
//! Outermost first:
//!
//! 1. [`EncodingTagsLayer`];
//! 2. `CompressionLayer`;
//! 3. [`ETagLayer`] and the `#[etag]` handlers.
//!
//! With the `compression` feature, `Compression` is 1 and 2 as one layer, built from the
//! `CompressionLayer` it is handed: the one way to compress that cannot be stacked wrong.
//! `CompressionLayer` alone, or outside [`EncodingTagsLayer`], is the order that is wrong:
//! the identity's strong tag then goes out on every coding. Where a layer of this crate
//! can see that happen (an [`ETagLayer`] outside a bare `CompressionLayer` getting a
//! compressed response with a strong tag it did not make), it logs a `tracing` warning,
//! once; a compressor outside every layer of the crate cannot be seen from inside.
//!
//! [`ETagLayer`] may also go outside `CompressionLayer` (but inside
//! [`EncodingTagsLayer`]): it then hashes the compressed bytes, which still gives each
//! coding its own tag, but a 304 costs the compression too.
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

mod coding;
#[cfg(feature = "compression")]
mod compression;
mod encoding;
mod etag;
mod future;
mod groups;
#[cfg(feature = "wait")]
mod wait;

#[cfg(feature = "compression")]
#[cfg_attr(docsrs, doc(cfg(feature = "compression")))]
pub use compression::Compression;
pub use encoding::{EncodingTagsLayer, EncodingTagsService};
pub use etag::{ETagLayer, ETagService};
pub use future::ResponseFuture;
pub use groups::{CacheGroupsLayer, CacheGroupsService, NoPurge, Purge, PurgeError};
#[cfg(feature = "wait")]
#[cfg_attr(docsrs, doc(cfg(feature = "wait")))]
pub use wait::{WaitLayer, WaitService};

/// Put on a request by [`EncodingTagsService`]: an encoding-tags layer is outside, and
/// gives the tags of coded responses their coding on the way out.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CodedTagsOutside {
    /// The client accepts a coding the compressor behind the layer may give the 200, so
    /// the 200's coding (and tag) is known only once the compressor has seen its body. A
    /// 304 that names no tag of the client's (by `If-Modified-Since` or `If-None-Match:
    /// *`) is then left to the layer (see `not_modified::Deferred`).
    pub(crate) coding_unknown: bool,
}

/// The error of a response body a layer reads or passes on.
type BoxError = Box<dyn std::error::Error + Send + Sync>;

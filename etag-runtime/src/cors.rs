//! What a script on another origin needs: the header fields to expose and to allow.
//!
//! A page served from one origin that calls an API on another reads only the response
//! header fields CORS lets it read, and sends only the request header fields a preflight
//! allowed. Without the two lists below, `response.headers.get("etag")` is `null` in the
//! browser (so there is no tag to send back), and a `fetch` with `If-Match` fails its
//! preflight before the request is sent.
//!
//! The lists name what this crate sends and reads, and grow with it; an application adds
//! its own fields (`Content-Type` for JSON bodies, `Location`, `Link`, ...), its origins
//! and its methods. They plug into tower-http's `CorsLayer` (its `cors` feature) or into
//! any other CORS middleware.
//!
//! # `Vary: Origin`
//!
//! A CORS layer that allows a list of origins answers each origin with its own
//! `Access-Control-Allow-Origin`, so a stored response is right for one origin only.
//! Every response, the 304 included (a 304 carries the `Vary` its 200 would, RFC 9110
//! section 15.4.5), must therefore name `Origin` in `Vary`: a cache shared by several
//! origins then keeps one copy per origin, and a 304 to one origin revalidates that
//! origin's copy, never another's. tower-http's `CorsLayer` adds `Vary: origin,
//! access-control-request-method, access-control-request-headers` to every response it
//! passes, whatever the request; the example below pins it on a 304.
//!
//! # Examples
//!
//! ```
//! use axum::{Router, body::Body, http::{HeaderValue, Method, Request, header}, routing::get};
//! use etag_runtime::{cors, etag};
//! use tower::ServiceExt;
//! use tower_http::cors::{AllowOrigin, CorsLayer};
//!
//! #[etag(hash)]
//! async fn product() -> &'static str {
//!     "{\"id\":1,\"name\":\"Lamp\"}"
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let cors = CorsLayer::new()
//!     .allow_origin(AllowOrigin::list([HeaderValue::from_static("https://shop.example")]))
//!     .allow_methods([Method::GET, Method::HEAD, Method::PUT, Method::DELETE])
//!     .allow_headers([cors::ALLOW_HEADERS, &[header::CONTENT_TYPE]].concat())
//!     .expose_headers([cors::EXPOSE_HEADERS, &[header::LOCATION]].concat());
//! let app: Router = Router::new().route("/products/1", get(product)).layer(cors);
//!
//! // The preflight of a PUT with If-Match is allowed.
//! let preflight = Request::builder()
//!     .method(Method::OPTIONS)
//!     .uri("/products/1")
//!     .header(header::ORIGIN, "https://shop.example")
//!     .header(header::ACCESS_CONTROL_REQUEST_METHOD, "PUT")
//!     .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "content-type,if-match")
//!     .body(Body::empty())
//!     .unwrap();
//! let preflight = app.clone().oneshot(preflight).await.unwrap();
//! let allowed = preflight.headers()[header::ACCESS_CONTROL_ALLOW_HEADERS].to_str().unwrap();
//! assert!(allowed.split(',').any(|h| h.trim() == "if-match"), "{allowed}");
//!
//! // The script can read the ETag, and a 304 names the origin in Vary.
//! let get = |tag: Option<&str>| {
//!     let mut req = Request::get("/products/1").header(header::ORIGIN, "https://shop.example");
//!     if let Some(tag) = tag { req = req.header(header::IF_NONE_MATCH, tag); }
//!     req.body(Body::empty()).unwrap()
//! };
//! let ok = app.clone().oneshot(get(None)).await.unwrap();
//! let exposed = ok.headers()[header::ACCESS_CONTROL_EXPOSE_HEADERS].to_str().unwrap();
//! assert!(exposed.split(',').any(|h| h.trim() == "etag"), "{exposed}");
//! let tag = ok.headers()[header::ETAG].to_str().unwrap().to_owned();
//! let not_modified = app.oneshot(get(Some(&tag))).await.unwrap();
//! assert_eq!(not_modified.status(), 304);
//! assert_eq!(not_modified.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "https://shop.example");
//! let vary = not_modified.headers()[header::VARY].to_str().unwrap();
//! assert!(vary.split(',').any(|h| h.trim() == "origin"), "{vary}");
//! # }
//! ```

use http::header::{self, HeaderName};

/// The response header fields this crate sends that a script must be allowed to read
/// (`Access-Control-Expose-Headers`): `ETag`, which it sends back in `If-Match` and
/// `If-None-Match`; `Last-Modified`, for `If-Unmodified-Since` (CORS already exposes it;
/// named so that the list says what the crate sends); `Content-Range` and
/// `Accept-Ranges`, of range requests; `Cache-Groups` and `Cache-Group-Invalidation`
/// (RFC 9875), for a script that keeps its own cache by group; `Preference-Applied`
/// (RFC 7240), which says whether a request waited for a change (`wait` feature).
///
/// ```
/// use axum::http::header;
///
/// assert!(etag_runtime::cors::EXPOSE_HEADERS.contains(&header::ETAG));
/// ```
pub static EXPOSE_HEADERS: &[HeaderName] = &EXPOSED;

// Statics that the public slices borrow, rather than `const` slices: a name outside
// `http`'s standard set (`HeaderName::from_static("cache-groups")`) holds a `Bytes`, which
// a constant cannot lend out for the whole program.
static EXPOSED: [HeaderName; 7] = [
    header::ETAG,
    header::LAST_MODIFIED,
    header::CONTENT_RANGE,
    header::ACCEPT_RANGES,
    crate::groups::CACHE_GROUPS,
    crate::groups::CACHE_GROUP_INVALIDATION,
    HeaderName::from_static("preference-applied"),
];

/// The request header fields this crate reads that a script sets, and that a preflight
/// must therefore allow (`Access-Control-Allow-Headers`): the four preconditions of RFC
/// 9110 section 13.1, `If-Range` and `Range`, and `Prefer` (RFC 7240), whose `wait` holds a
/// conditional GET until a change (`wait` feature).
///
/// ```
/// use axum::http::header;
///
/// let allowed = etag_runtime::cors::ALLOW_HEADERS;
/// assert!(allowed.contains(&header::IF_MATCH) && allowed.contains(&header::IF_NONE_MATCH));
/// ```
pub static ALLOW_HEADERS: &[HeaderName] = &ALLOWED;

static ALLOWED: [HeaderName; 7] = [
    header::IF_MATCH,
    header::IF_NONE_MATCH,
    header::IF_MODIFIED_SINCE,
    header::IF_UNMODIFIED_SINCE,
    header::IF_RANGE,
    header::RANGE,
    HeaderName::from_static("prefer"),
];

//! The CORS layer of `--cors-origin`: what pages on other origins may read and send.

use axum::http::{HeaderName, HeaderValue, Method, header};
use etag_runtime::cors;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// The response header fields of this API that a page on another origin reads, beyond
/// what etag-runtime sends ([`cors::EXPOSE_HEADERS`]): a new product's URL, the next page
/// of the list, when to retry a 503, how to authenticate after a 401, and the methods a
/// 405 allows. Add a field here when a handler starts sending one (the example's
/// `tests/cors.rs` fails until it is).
const EXPOSE_HEADERS: &[HeaderName] = &[
    header::LOCATION,
    header::LINK,
    header::RETRY_AFTER,
    header::WWW_AUTHENTICATE,
    header::ALLOW,
];

/// The request header fields of this API that a page on another origin sets, beyond the
/// preconditions ([`cors::ALLOW_HEADERS`]): JSON and merge-patch bodies, and the caller of
/// `/me/favorites`.
const ALLOW_HEADERS: &[HeaderName] = &[header::CONTENT_TYPE, header::AUTHORIZATION];

/// tower-http's CORS layer for pages on `origins`: each allowed origin gets its own
/// `Access-Control-Allow-Origin` (others get none, and their browsers refuse them the
/// response), the API's methods, the header fields above, and `Vary: origin, ...` on every
/// response, 304s included, so that a cache shared by several origins keeps one copy per
/// origin, each with its own grant.
pub(crate) fn cors_layer(origins: &[HeaderValue]) -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins.iter().cloned()))
        .allow_methods([
            Method::GET,
            Method::HEAD,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers([cors::ALLOW_HEADERS, ALLOW_HEADERS].concat())
        .expose_headers([cors::EXPOSE_HEADERS, EXPOSE_HEADERS].concat())
}

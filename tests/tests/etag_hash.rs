//! `#[etag(hash)]`: a strong ETag from the SHA-256 of the rendered body, for any
//! `IntoResponse`, up to a size limit (RFC 9110 sections 8.8.3, 13.1.2 and 15.4.5).

mod common;

use std::convert::Infallible;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use common::fetch;
use etag_runtime::{ETag, etag};

const PAGE: &str = "<h1>Products</h1>";

#[etag(hash)]
async fn page() -> impl IntoResponse {
    Html(PAGE)
}

#[etag(hash, cache_control = "max-age=0")]
async fn cached_page() -> Html<&'static str> {
    Html(PAGE)
}

fn big(len: usize) -> String {
    "0123456789abcdef".repeat(len / 16)
}

/// 3 MiB: under the default limit (4 MiB).
#[etag(hash)]
async fn large() -> String {
    big(3 * 1024 * 1024)
}

/// 4 KiB over a 1 KiB limit.
#[etag(hash(limit = 1024))]
async fn over_limit() -> String {
    big(4 * 1024)
}

/// A body with no length known up front, in several chunks.
#[etag(hash(limit = 64))]
async fn streamed(Path(parts): Path<usize>) -> Body {
    let chunks = ["abc", "def", "ghi", "jkl"]
        .into_iter()
        .take(parts)
        .map(|c| Ok::<_, Infallible>(Bytes::from_static(c.as_bytes())));
    Body::from_stream(futures_util::stream::iter(chunks))
}

/// A streamed body that crosses the limit after the first chunks were read.
#[etag(hash(limit = 8))]
async fn streamed_over() -> Body {
    let chunks =
        ["abcd", "efgh", "ijkl"].map(|c| Ok::<_, Infallible>(Bytes::from_static(c.as_bytes())));
    Body::from_stream(futures_util::stream::iter(chunks))
}

#[etag(hash)]
async fn missing(Path(id): Path<u32>) -> Result<Html<&'static str>, StatusCode> {
    if id == 0 {
        return Err(StatusCode::NOT_FOUND);
    }
    Ok(Html(PAGE))
}

/// A write answering 204: there is no representation to tag.
#[etag(hash)]
async fn remove() -> StatusCode {
    StatusCode::NO_CONTENT
}

/// The response to a write is not the resource's representation.
#[etag(hash)]
async fn submit() -> &'static str {
    "{\"ok\":true}"
}

fn app() -> Router {
    Router::new()
        .route("/submit", axum::routing::post(submit))
        .route("/page", get(page))
        .route("/cached", get(cached_page))
        .route("/large", get(large))
        .route("/over", get(over_limit))
        .route("/streamed/{parts}", get(streamed))
        .route("/streamed-over", get(streamed_over))
        .route("/missing/{id}", get(missing))
        .route("/remove", axum::routing::delete(remove))
}

fn tag_of(bytes: &[u8]) -> String {
    ETag::digest(bytes).to_string()
}

#[tokio::test]
async fn the_etag_is_the_hash_of_the_body() {
    let res = fetch(&app(), "/page", &[]).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.body.as_ref(), PAGE.as_bytes());
    assert_eq!(res.expect_header("etag"), tag_of(PAGE.as_bytes()));
    assert!(!res.expect_header("etag").starts_with("W/"));
    assert_eq!(
        res.expect_header("content-type"),
        "text/html; charset=utf-8"
    );
}

#[tokio::test]
async fn rfc9110_13_1_2_a_matching_hash_is_304() {
    let tag = tag_of(PAGE.as_bytes());
    let res = fetch(&app(), "/page", &[("if-none-match", &tag)]).await;
    assert_eq!(res.status, StatusCode::NOT_MODIFIED);
    assert!(res.body.is_empty());
    assert_eq!(res.expect_header("etag"), tag);
    let res = fetch(&app(), "/page", &[("if-none-match", "\"other\"")]).await;
    assert_eq!(res.status, StatusCode::OK);
}

#[tokio::test]
async fn rfc9110_15_4_5_hash_304_keeps_cache_control() {
    let strong = tag_of(PAGE.as_bytes());
    let res = fetch(&app(), "/cached", &[]).await;
    assert_eq!(res.expect_header("etag"), strong);
    assert_eq!(res.expect_header("cache-control"), "max-age=0");
    // RFC 9110 section 13.1.2: the weak comparison matches the weak form too.
    let res = fetch(
        &app(),
        "/cached",
        &[("if-none-match", &format!("W/{strong}"))],
    )
    .await;
    assert_eq!(res.status, StatusCode::NOT_MODIFIED);
    assert_eq!(res.expect_header("etag"), strong);
    assert_eq!(res.expect_header("cache-control"), "max-age=0");
}

#[tokio::test]
async fn a_3_mib_body_is_hashed_whole() {
    let body = big(3 * 1024 * 1024);
    let res = fetch(&app(), "/large", &[]).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.body.len(), 3 * 1024 * 1024);
    assert_eq!(res.body.as_ref(), body.as_bytes());
    assert_eq!(res.expect_header("etag"), tag_of(body.as_bytes()));
    let res = fetch(
        &app(),
        "/large",
        &[("if-none-match", &tag_of(body.as_bytes()))],
    )
    .await;
    assert_eq!(res.status, StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn a_body_over_the_limit_goes_out_unchanged_without_an_etag() {
    let body = big(4 * 1024);
    let res = fetch(&app(), "/over", &[]).await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(!res.has("etag"));
    assert_eq!(res.body.as_ref(), body.as_bytes());
    // Without a tag, a conditional request cannot be answered with 304.
    let res = fetch(&app(), "/over", &[("if-none-match", "*")]).await;
    assert_eq!(res.status, StatusCode::OK);
}

#[tokio::test]
async fn a_streamed_body_is_hashed_over_its_concatenation() {
    let res = fetch(&app(), "/streamed/4", &[]).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.body.as_ref(), b"abcdefghijkl");
    assert_eq!(res.expect_header("etag"), tag_of(b"abcdefghijkl"));
    let res = fetch(&app(), "/streamed/2", &[]).await;
    assert_eq!(res.expect_header("etag"), tag_of(b"abcdef"));
    let res = fetch(
        &app(),
        "/streamed/4",
        &[("if-none-match", &tag_of(b"abcdefghijkl"))],
    )
    .await;
    assert_eq!(res.status, StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn a_streamed_body_over_the_limit_is_passed_on_whole() {
    let res = fetch(&app(), "/streamed-over", &[]).await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(!res.has("etag"));
    assert_eq!(res.body.as_ref(), b"abcdefghijkl");
}

#[tokio::test]
async fn errors_are_not_hashed() {
    let res = fetch(&app(), "/missing/0", &[("if-none-match", "*")]).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert!(!res.has("etag"));
    let res = fetch(&app(), "/missing/1", &[]).await;
    assert_eq!(res.expect_header("etag"), tag_of(PAGE.as_bytes()));
}

#[tokio::test]
async fn rfc9110_15_3_5_a_204_gets_no_tag() {
    let res = common::send(&app(), axum::http::Method::DELETE, "/remove", &[], None).await;
    assert_eq!(res.status, StatusCode::NO_CONTENT);
    assert!(!res.has("etag"));
}

/// RFC 9110 section 9.3.4: no validator on a write's response unless it is the stored
/// representation, which a hashed body of a POST or PUT is not known to be.
#[tokio::test]
async fn rfc9110_9_3_4_write_responses_get_no_hashed_tag() {
    let reply = common::send(&app(), axum::http::Method::POST, "/submit", &[], None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.headers.get("etag").is_none());
    assert_eq!(&reply.body[..], b"{\"ok\":true}");
}

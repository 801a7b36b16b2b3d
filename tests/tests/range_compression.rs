//! Range responses behind a compressor: a 206 never goes out with a content-coding its
//! parts do not describe (RFC 9110 sections 8.4, 14.1.2, 14.6 and 15.3.7).

mod common;

use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use common::{Reply, fetch};
use etag_runtime::layer::{ETagLayer, EncodingTagsLayer};
use etag_runtime::{Versioned, etag};
use tower::ServiceBuilder;
use tower_http::compression::CompressionLayer;

#[derive(serde::Serialize, Versioned)]
struct Doc {
    text: String,
    #[version]
    version: i64,
}

fn doc_value() -> Doc {
    Doc {
        text: "ranges of the identity bytes, long enough to be compressed. ".repeat(8),
        version: 5,
    }
}

/// The identity bytes of the representation.
fn identity_body() -> Vec<u8> {
    serde_json::to_vec(&doc_value()).unwrap()
}

#[etag]
async fn doc() -> Json<Doc> {
    Json(doc_value())
}

/// No model: the layer tags it by its body and serves its ranges.
async fn page() -> String {
    "a page with no model, served in ranges by the layer. ".repeat(8)
}

fn routes() -> Router {
    Router::new()
        .route("/doc", get(doc))
        .route("/page", get(page))
}

/// The documented stack, outermost first.
fn documented() -> Router {
    routes().layer(
        ServiceBuilder::new()
            .layer(EncodingTagsLayer::new())
            .layer(CompressionLayer::new().gzip(true).br(true))
            .layer(ETagLayer::new()),
    )
}

/// tower-http's compressor alone in front of the handlers and the hashing layer.
fn bare() -> Router {
    routes().layer(
        ServiceBuilder::new()
            .layer(CompressionLayer::new().gzip(true).br(true))
            .layer(ETagLayer::new()),
    )
}

/// No coding but identity: absent, or the `identity` that keeps compressors off.
fn assert_not_coded(reply: &Reply) {
    if let Some(coding) = reply.headers.get("content-encoding") {
        assert_eq!(coding, "identity", "{:?}", reply.headers);
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// A multipart 206 whose parts are the identity bytes at the offsets they name.
fn assert_identity_parts(reply: &Reply, identity: &[u8]) {
    assert_eq!(
        reply.status,
        StatusCode::PARTIAL_CONTENT,
        "{:?}",
        reply.headers
    );
    assert!(
        reply
            .expect_header("content-type")
            .starts_with("multipart/byteranges; boundary="),
        "{:?}",
        reply.headers
    );
    assert!(!reply.has("content-range"));
    assert_not_coded(reply);
    let len = identity.len();
    for (first, last) in [(0, 9), (100, 109)] {
        let part = format!("Content-Range: bytes {first}-{last}/{len}\r\n\r\n");
        let mut expected = part.into_bytes();
        expected.extend_from_slice(&identity[first..=last]);
        assert!(
            contains(&reply.body, &expected),
            "part {first}-{last} not in {:?}",
            String::from_utf8_lossy(&reply.body)
        );
    }
}

const TWO_RANGES: (&str, &str) = ("range", "bytes=0-9,100-109");

#[tokio::test]
async fn rfc9110_14_6_a_multipart_206_under_gzip_is_not_coded_behind_the_documented_stack() {
    let app = documented();
    let reply = fetch(&app, "/doc", &[("accept-encoding", "gzip"), TWO_RANGES]).await;
    assert_identity_parts(&reply, &identity_body());
    // The identity representation's tag, since the parts are cut from it.
    assert_eq!(reply.expect_header("etag"), "\"5\"");
    // The documented stack sends no `Content-Encoding: identity` on the wire.
    assert!(!reply.has("content-encoding"), "{:?}", reply.headers);
    let page = fetch(&app, "/page", &[("accept-encoding", "gzip"), TWO_RANGES]).await;
    assert_identity_parts(&page, page_body().as_bytes());
    assert!(!page.expect_header("etag").contains("-gzip"));
}

#[tokio::test]
async fn rfc9110_14_6_a_multipart_206_under_gzip_is_not_coded_behind_a_bare_compressor() {
    let app = bare();
    let reply = fetch(&app, "/doc", &[("accept-encoding", "gzip"), TWO_RANGES]).await;
    assert_identity_parts(&reply, &identity_body());
    assert_eq!(reply.expect_header("etag"), "\"5\"");
    let page = fetch(
        &app,
        "/page",
        &[("accept-encoding", "gzip, br"), TWO_RANGES],
    )
    .await;
    assert_identity_parts(&page, page_body().as_bytes());
}

#[tokio::test]
async fn rfc9110_15_3_7_a_single_range_206_is_not_coded_either() {
    for app in [documented(), bare()] {
        let reply = fetch(
            &app,
            "/doc",
            &[("accept-encoding", "gzip"), ("range", "bytes=3-12")],
        )
        .await;
        assert_eq!(reply.status, StatusCode::PARTIAL_CONTENT);
        assert_not_coded(&reply);
        assert_eq!(&reply.body[..], &identity_body()[3..13]);
        assert_eq!(reply.expect_header("etag"), "\"5\"");
    }
}

#[tokio::test]
async fn the_200_without_a_range_is_still_compressed() {
    for app in [documented(), bare()] {
        let reply = fetch(&app, "/doc", &[("accept-encoding", "gzip")]).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.expect_header("content-encoding"), "gzip");
    }
}

fn page_body() -> String {
    "a page with no model, served in ranges by the layer. ".repeat(8)
}

//! `EncodingTagsLayer`: `If-None-Match` compared with the tag of the representation
//! selected for this request, the coding included (RFC 9110 sections 8.8.1 and 13.1.2,
//! RFC 9111 section 4.3.4).

mod common;

use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
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

/// Version 1, long enough for the compressor to take it.
#[etag]
async fn doc() -> Json<Doc> {
    Json(Doc {
        text: "a document the compressor codes, since it is long enough. ".repeat(10),
        version: 1,
    })
}

/// Too short for tower-http's default predicate (32 bytes): never compressed.
#[etag]
async fn short() -> Json<Doc> {
    Json(Doc {
        text: String::new(),
        version: 1,
    })
}

/// A type the default predicate never compresses, tagged by the layer.
async fn image() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "image/png")], vec![7_u8; 512])
}

/// The documented stack, outermost first.
fn app() -> Router {
    Router::new()
        .route("/doc", get(doc))
        .route("/short", get(short))
        .route("/image", get(image))
        .layer(
            ServiceBuilder::new()
                .layer(EncodingTagsLayer::new())
                .layer(CompressionLayer::new().gzip(true).br(true))
                .layer(ETagLayer::new()),
        )
}

async fn get_with(path: &str, accept: &str, tag: &str) -> Reply {
    fetch(
        &app(),
        path,
        &[("accept-encoding", accept), ("if-none-match", tag)],
    )
    .await
}

#[tokio::test]
async fn rfc9110_13_1_2_an_identity_request_with_the_gzip_tag_gets_200_with_the_identity_tag() {
    // The gzip copy is not the representation selected for a client that cannot decode
    // it: a 304 would let a cache hand it that copy.
    let reply = get_with("/doc", "identity", "\"1-gzip\"").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.expect_header("etag"), "\"1\"");
    assert!(!reply.has("content-encoding"));
    assert!(!reply.body.is_empty());
}

#[tokio::test]
async fn rfc9110_13_1_2_a_gzip_request_with_the_gzip_tag_gets_304() {
    let reply = get_with("/doc", "gzip", "\"1-gzip\"").await;
    assert_eq!(reply.status, StatusCode::NOT_MODIFIED);
    assert_eq!(reply.expect_header("etag"), "\"1-gzip\"");
    assert_eq!(reply.expect_header("vary"), "accept-encoding");
    assert!(!reply.has("content-encoding"));
    assert!(reply.body.is_empty());
}

#[tokio::test]
async fn rfc9110_13_1_2_a_gzip_request_with_the_identity_tag_gets_200_with_the_gzip_tag() {
    let reply = get_with("/doc", "gzip", "\"1\"").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.expect_header("etag"), "\"1-gzip\"");
    assert_eq!(reply.expect_header("content-encoding"), "gzip");
}

#[tokio::test]
async fn rfc9110_13_1_2_q_values_choose_the_coding_the_tag_is_compared_with() {
    // br preferred by q-value: the br tag is the one that revalidates.
    let reply = get_with("/doc", "gzip;q=0.5, br", "\"1-br\"").await;
    assert_eq!(reply.status, StatusCode::NOT_MODIFIED);
    assert_eq!(reply.expect_header("etag"), "\"1-br\"");
    let reply = get_with("/doc", "gzip;q=0.5, br", "\"1-gzip\"").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.expect_header("etag"), "\"1-br\"");
    // gzip refused with q=0: the identity copy is the selected one.
    let reply = get_with("/doc", "gzip;q=0", "\"1-gzip\"").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.expect_header("etag"), "\"1\"");
    let reply = get_with("/doc", "gzip;q=0", "\"1\"").await;
    assert_eq!(reply.status, StatusCode::NOT_MODIFIED);
    // `*` names no coding tower-http picks: the identity copy again.
    let reply = get_with("/doc", "*", "\"1\"").await;
    assert_eq!(reply.status, StatusCode::NOT_MODIFIED);
    assert_eq!(reply.expect_header("etag"), "\"1\"");
    // No Accept-Encoding at all: identity, as tower-http sends it.
    let reply = fetch(&app(), "/doc", &[("if-none-match", "\"1-gzip\"")]).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.expect_header("etag"), "\"1\"");
}

#[tokio::test]
async fn rfc9110_13_1_2_a_response_the_compressor_skips_still_revalidates_its_identity_tag() {
    // The selected representation of a short body or an image is the identity one even
    // for a gzip client, which can only have that tag.
    let reply = get_with("/short", "gzip, br", "\"1\"").await;
    assert_eq!(reply.status, StatusCode::NOT_MODIFIED);
    assert_eq!(reply.expect_header("etag"), "\"1\"");
    assert!(reply.body.is_empty());
    assert!(!reply.has("content-type"));
    let image = fetch(&app(), "/image", &[("accept-encoding", "gzip")]).await;
    assert!(!image.has("content-encoding"));
    let tag = image.expect_header("etag").to_owned();
    assert!(!tag.contains("-gzip"), "{tag}");
    let reply = get_with("/image", "gzip", &tag).await;
    assert_eq!(reply.status, StatusCode::NOT_MODIFIED);
    assert_eq!(reply.expect_header("etag"), tag);
    assert!(reply.body.is_empty());
    assert!(!reply.has("content-type"));
    // A client that cannot decode gzip: the identity copy is the selected one.
    let reply = get_with("/short", "identity", "\"1-gzip\"").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.expect_header("etag"), "\"1\"");
}

//! `EncodingTagsLayer`: `If-None-Match` compared with the tag of the representation
//! selected for this request, the coding included (RFC 9110 sections 8.8.1 and 13.1.2,
//! RFC 9111 section 4.3.4).

mod common;

use axum::http::{Method, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use common::{Reply, fetch, send};
use std::time::{Duration, UNIX_EPOCH};

use etag_runtime::layer::{ETagLayer, EncodingTagsLayer};
use etag_runtime::{Conditions, ETag, Precondition, Validators, Versioned, WithValidators, etag};
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

/// The validators of the dated routes: read before the expensive work.
fn dated_validators() -> Validators {
    Validators::new()
        .with_etag(ETag::from_version(&3_i64))
        .with_last_modified(UNIX_EPOCH + Duration::from_secs(1_795_608_000))
}

/// The date of the dated routes, as a client sends it back.
const DATED: &str = "Wed, 25 Nov 2026 12:00:00 GMT";

/// A plain handler with the documented `Conditions::check`, too short to compress.
async fn dated_short(conditions: Conditions) -> Result<WithValidators<&'static str>, Precondition> {
    let checked = conditions.check(dated_validators())?;
    Ok(checked.respond("short"))
}

/// The same check under `#[etag]`, long enough to compress.
#[etag]
async fn dated_long(conditions: Conditions) -> Result<WithValidators<String>, Precondition> {
    let checked = conditions.check(dated_validators())?;
    Ok(checked.respond("a dated page, long enough for the compressor. ".repeat(10)))
}

/// The documented stack, outermost first.
fn app() -> Router {
    Router::new()
        .route("/doc", get(doc))
        .route("/short", get(short))
        .route("/image", get(image))
        .route("/dated-short", get(dated_short))
        .route("/dated-long", get(dated_long))
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

/// The fields every 304 here must have and lack: no body and no `Content-*` of the 200
/// (RFC 9110 section 15.4.5), `Vary: Accept-Encoding` as on the 200.
fn assert_304_shape(reply: &Reply, what: &str) {
    assert_eq!(reply.status, StatusCode::NOT_MODIFIED, "{what}");
    assert!(reply.body.is_empty(), "{what}");
    for name in ["content-encoding", "content-type", "content-length"] {
        assert!(!reply.has(name), "{name} on the 304: {what}");
    }
    assert_eq!(reply.expect_header("vary"), "accept-encoding", "{what}");
}

#[tokio::test]
async fn rfc9110_15_4_5_a_304_by_date_carries_the_tag_of_a_200_the_compressor_skips() {
    // A body under tower-http's 32 bytes goes out uncompressed, with the identity tag,
    // even to a client that accepts gzip or br: its 304 carries that tag, not "3-gzip".
    for accept in ["gzip", "gzip, br", "br;q=0.5, gzip", "identity"] {
        let full = fetch(&app(), "/dated-short", &[("accept-encoding", accept)]).await;
        assert_eq!(full.status, StatusCode::OK);
        assert!(!full.has("content-encoding"), "{accept}");
        assert_eq!(full.expect_header("etag"), "\"3\"", "{accept}");
        for method in [Method::GET, Method::HEAD] {
            let headers = [("accept-encoding", accept), ("if-modified-since", DATED)];
            let reply = send(&app(), method.clone(), "/dated-short", &headers, None).await;
            let what = format!("{method} {accept}");
            assert_304_shape(&reply, &what);
            assert_eq!(reply.expect_header("etag"), "\"3\"", "{what}");
        }
    }
}

#[tokio::test]
async fn rfc9110_15_4_5_a_304_by_date_carries_the_coded_tag_of_a_compressed_200() {
    for (accept, coding) in [("gzip", "gzip"), ("gzip, br", "br")] {
        let full = fetch(&app(), "/dated-long", &[("accept-encoding", accept)]).await;
        assert_eq!(full.expect_header("content-encoding"), coding);
        let tag = format!("\"3-{coding}\"");
        assert_eq!(full.expect_header("etag"), tag);
        let headers = [("accept-encoding", accept), ("if-modified-since", DATED)];
        let reply = fetch(&app(), "/dated-long", &headers).await;
        assert_304_shape(&reply, accept);
        assert_eq!(reply.expect_header("etag"), tag);
        // A date before the last change: the 200, in its coding.
        let old = [
            ("accept-encoding", accept),
            ("if-modified-since", "Tue, 24 Nov 2026 12:00:00 GMT"),
        ];
        let reply = fetch(&app(), "/dated-long", &old).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.expect_header("etag"), tag);
        assert_eq!(reply.expect_header("content-encoding"), coding);
    }
}

#[tokio::test]
async fn rfc9110_15_4_5_a_304_to_if_none_match_star_carries_the_tag_of_the_200() {
    // `*` names no tag: the 304's is the one the 200 to the same request carries, coded
    // (`/doc`), or not, because the body is short (`/short`, `#[etag]`) or an image
    // (`/image`, `ETagLayer`).
    for path in ["/doc", "/short", "/image", "/dated-short", "/dated-long"] {
        for accept in ["gzip", "gzip, br", "identity"] {
            let full = fetch(&app(), path, &[("accept-encoding", accept)]).await;
            assert_eq!(full.status, StatusCode::OK);
            let headers = [("accept-encoding", accept), ("if-none-match", "*")];
            let reply = fetch(&app(), path, &headers).await;
            let what = format!("{path} {accept}");
            assert_304_shape(&reply, &what);
            assert_eq!(reply.expect_header("etag"), full.etag(), "{what}");
        }
    }
}

#[tokio::test]
async fn rfc9110_13_2_2_a_range_is_not_served_when_the_date_answers_304() {
    // Step 4 (If-Modified-Since) comes before step 5 (Range), also when the 304 is made
    // outside the compressor.
    let headers = [
        ("accept-encoding", "gzip"),
        ("if-modified-since", DATED),
        ("range", "bytes=0-3"),
    ];
    let reply = fetch(&app(), "/dated-long", &headers).await;
    assert_304_shape(&reply, "range");
    assert_eq!(reply.expect_header("etag"), "\"3-gzip\"");
    let headers = [("accept-encoding", "gzip"), ("range", "bytes=0-3")];
    let reply = fetch(&app(), "/dated-long", &headers).await;
    assert_eq!(reply.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(&reply.body[..], b"a da");
}

//! `#[etag]` on reads: validators on 2xx responses, 304 and 412 decided before the value
//! is serialized, and errors left alone (RFC 9110 sections 13.1, 13.2 and 15.4.5).

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::Path;
use axum::http::header::CACHE_CONTROL;
use axum::http::{Method, StatusCode};
use axum::routing::get;
use axum::{Json, Router};
use common::{fetch, send};
use etag_runtime::header::format_http_date;
use etag_runtime::{ETag, Versioned, etag};
use serde::{Serialize, Serializer};

/// 2023-11-14T22:13:20.123456789Z: a sub-second change time.
fn changed() -> SystemTime {
    UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_789)
}

fn last_modified_header() -> String {
    format_http_date(changed()).to_str().unwrap().to_owned()
}

#[derive(Clone, Serialize, Versioned)]
struct Product {
    id: u32,
    name: String,
    #[version]
    version: i64,
    #[last_modified]
    updated_at: SystemTime,
}

fn product(id: u32) -> Product {
    Product {
        id,
        name: "Wireless Mouse".into(),
        version: 3,
        updated_at: changed(),
    }
}

#[etag]
async fn get_product(Path(id): Path<u32>) -> Result<Json<Product>, StatusCode> {
    if id == 0 {
        return Err(StatusCode::NOT_FOUND);
    }
    Ok(Json(product(id)))
}

#[etag]
async fn find_product(Path(id): Path<u32>) -> Option<Json<Product>> {
    (id != 0).then(|| Json(product(id)))
}

#[etag(cache_control = "no-cache")]
async fn cached(Path(id): Path<u32>) -> Json<Product> {
    Json(product(id))
}

#[etag]
async fn with_headers(
    Path(id): Path<u32>,
) -> ([(axum::http::HeaderName, &'static str); 2], Json<Product>) {
    (
        [
            (CACHE_CONTROL, "private, max-age=60"),
            (axum::http::header::VARY, "accept"),
        ],
        Json(product(id)),
    )
}

/// A model whose tags are weak: weakness is set where the tag is made.
#[derive(Serialize, Versioned)]
#[versioned(weak)]
struct Draft {
    id: u32,
    #[version]
    version: i64,
}

#[etag]
async fn weak_product(Path(id): Path<u32>) -> Json<Draft> {
    Json(Draft { id, version: 3 })
}

#[etag]
async fn broken(Path(id): Path<u32>) -> (StatusCode, Json<Product>) {
    (StatusCode::INTERNAL_SERVER_ERROR, Json(product(id)))
}

#[etag]
async fn failing() -> Result<Json<Product>, (StatusCode, Json<serde_json::Value>)> {
    Err((
        StatusCode::INTERNAL_SERVER_ERROR,
        Json(serde_json::json!({ "error": "database down" })),
    ))
}

/// Under `#[debug_handler]`, in the one documented order.
#[etag]
#[axum::debug_handler]
async fn debugged(Path(id): Path<u32>) -> Json<Product> {
    Json(product(id))
}

/// No arguments at all.
#[etag]
async fn fixed() -> Json<Product> {
    Json(product(1))
}

/// A facade that re-exports the runtime under another path.
mod facade {
    pub(crate) use etag_runtime as rt;
}

#[etag(crate = "facade::rt")]
async fn through_facade(Path(id): Path<u32>) -> Json<Product> {
    Json(product(id))
}

fn app() -> Router {
    Router::new()
        .route("/products/{id}", get(get_product))
        .route("/find/{id}", get(find_product))
        .route("/cached/{id}", get(cached))
        .route("/headers/{id}", get(with_headers))
        .route("/weak/{id}", get(weak_product))
        .route("/broken/{id}", get(broken))
        .route("/failing", get(failing))
        .route("/debugged/{id}", get(debugged))
        .route("/fixed", get(fixed))
        .route("/facade/{id}", get(through_facade))
}

#[tokio::test]
async fn ok_carries_etag_and_last_modified() {
    let res = fetch(&app(), "/products/1", &[]).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.expect_header("etag"), "\"3\"");
    assert_eq!(res.expect_header("last-modified"), last_modified_header());
    assert_eq!(
        res.expect_header("last-modified"),
        "Tue, 14 Nov 2023 22:13:20 GMT"
    );
    assert_eq!(res.json()["name"], "Wireless Mouse");
}

#[tokio::test]
async fn rfc9110_13_1_2_if_none_match_uses_weak_comparison() {
    // The client's weak W/"3" weak-matches the strong "3": 304.
    for sent in ["\"3\"", "W/\"3\"", "\"1\", W/\"3\"", "*"] {
        let res = fetch(&app(), "/products/1", &[("if-none-match", sent)]).await;
        assert_eq!(
            res.status,
            StatusCode::NOT_MODIFIED,
            "If-None-Match: {sent}"
        );
        assert_eq!(res.expect_header("etag"), "\"3\"");
    }
    let res = fetch(&app(), "/products/1", &[("if-none-match", "\"2\"")]).await;
    assert_eq!(res.status, StatusCode::OK);
}

#[tokio::test]
async fn rfc9110_13_1_3_if_modified_since_equal_to_last_modified() {
    // Last-Modified is sent at one-second precision; the model's time has nanoseconds.
    let lm = last_modified_header();
    let res = fetch(&app(), "/products/1", &[("if-modified-since", &lm)]).await;
    assert_eq!(res.status, StatusCode::NOT_MODIFIED);
    let earlier = format_http_date(changed() - Duration::from_secs(1));
    let res = fetch(
        &app(),
        "/products/1",
        &[("if-modified-since", earlier.to_str().unwrap())],
    )
    .await;
    assert_eq!(res.status, StatusCode::OK);
}

#[tokio::test]
async fn rfc9110_13_2_2_if_none_match_takes_precedence_over_if_modified_since() {
    let lm = last_modified_header();
    let res = fetch(
        &app(),
        "/products/1",
        &[("if-none-match", "\"2\""), ("if-modified-since", &lm)],
    )
    .await;
    assert_eq!(res.status, StatusCode::OK);
}

#[tokio::test]
async fn rfc9110_13_2_2_if_match_is_evaluated_first() {
    // A failing If-Match answers 412 even though If-None-Match would have said 304.
    let res = fetch(
        &app(),
        "/products/1",
        &[("if-match", "\"2\""), ("if-none-match", "\"3\"")],
    )
    .await;
    assert_eq!(res.status, StatusCode::PRECONDITION_FAILED);
}

#[tokio::test]
async fn rfc9110_15_4_5_not_modified_is_empty_and_keeps_etag_and_cache_control() {
    let res = fetch(&app(), "/cached/1", &[("if-none-match", "\"3\"")]).await;
    assert_eq!(res.status, StatusCode::NOT_MODIFIED);
    assert!(res.body.is_empty());
    assert_eq!(res.expect_header("etag"), "\"3\"");
    assert_eq!(res.expect_header("cache-control"), "no-cache");
    assert!(!res.has("content-type"));
    assert!(!res.has("content-length") || res.expect_header("content-length") == "0");

    let res = fetch(&app(), "/cached/1", &[]).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.expect_header("cache-control"), "no-cache");
}

#[tokio::test]
async fn rfc9110_15_4_5_not_modified_keeps_the_handlers_own_headers() {
    let res = fetch(&app(), "/headers/1", &[("if-none-match", "\"3\"")]).await;
    assert_eq!(res.status, StatusCode::NOT_MODIFIED);
    assert!(res.body.is_empty());
    assert_eq!(res.expect_header("etag"), "\"3\"");
    assert_eq!(res.expect_header("cache-control"), "private, max-age=60");
    assert_eq!(res.expect_header("vary"), "accept");
    let res = fetch(&app(), "/headers/1", &[]).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.expect_header("cache-control"), "private, max-age=60");
    assert_eq!(res.expect_header("etag"), "\"3\"");
}

#[tokio::test]
async fn head_gets_the_validators_and_304() {
    let res = send(&app(), Method::HEAD, "/products/1", &[], None).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.expect_header("etag"), "\"3\"");
    assert_eq!(res.expect_header("last-modified"), last_modified_header());
    assert!(res.body.is_empty());
    let res = send(
        &app(),
        Method::HEAD,
        "/products/1",
        &[("if-none-match", "\"3\"")],
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn rfc9110_13_1_1_get_with_stale_if_match_is_412() {
    let res = fetch(&app(), "/products/1", &[("if-match", "\"2\"")]).await;
    assert_eq!(res.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(
        res.expect_header("content-type"),
        "application/problem+json"
    );
    assert!(!res.has("etag"));
    // If-Match uses the strong comparison: a weak tag never matches.
    let res = fetch(&app(), "/products/1", &[("if-match", "W/\"3\"")]).await;
    assert_eq!(res.status, StatusCode::PRECONDITION_FAILED);
    let res = fetch(&app(), "/products/1", &[("if-match", "\"3\"")]).await;
    assert_eq!(res.status, StatusCode::OK);
}

#[tokio::test]
async fn errors_pass_through_untouched() {
    // An `Err` status: no validators, and never 304 even when If-None-Match would match.
    let res = fetch(&app(), "/products/0", &[("if-none-match", "*")]).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert!(!res.has("etag"));

    // A versioned value under a 500 renders as axum renders it, without validators.
    let res = fetch(&app(), "/broken/1", &[("if-none-match", "\"3\"")]).await;
    assert_eq!(res.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!res.has("etag") && !res.has("last-modified"));
    assert_eq!(res.json()["name"], "Wireless Mouse");

    let res = fetch(&app(), "/failing", &[("if-none-match", "*")]).await;
    assert_eq!(res.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!res.has("etag"));
    assert_eq!(res.json()["error"], "database down");
}

#[tokio::test]
async fn none_is_404() {
    let res = fetch(&app(), "/find/0", &[("if-none-match", "*")]).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert!(!res.has("etag"));
    let res = fetch(&app(), "/find/1", &[("if-none-match", "\"3\"")]).await;
    assert_eq!(res.status, StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn weak_models_emit_weak_tags() {
    let res = fetch(&app(), "/weak/1", &[]).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.expect_header("etag"), "W/\"3\"");
    // RFC 9110 section 13.1.2: the weak comparison matches either form.
    for sent in ["\"3\"", "W/\"3\""] {
        let res = fetch(&app(), "/weak/1", &[("if-none-match", sent)]).await;
        assert_eq!(res.status, StatusCode::NOT_MODIFIED, "{sent}");
        assert_eq!(res.expect_header("etag"), "W/\"3\"");
    }
    // RFC 9110 section 13.1.1: If-Match never matches a weak tag.
    let res = fetch(&app(), "/weak/1", &[("if-match", "W/\"3\"")]).await;
    assert_eq!(res.status, StatusCode::PRECONDITION_FAILED);
}

#[tokio::test]
async fn every_handler_shape_answers_304() {
    for uri in ["/debugged/1", "/fixed", "/facade/1"] {
        let res = fetch(&app(), uri, &[]).await;
        assert_eq!(res.status, StatusCode::OK, "{uri}");
        assert_eq!(res.expect_header("etag"), "\"3\"", "{uri}");
        let res = fetch(&app(), uri, &[("if-none-match", "\"3\"")]).await;
        assert_eq!(res.status, StatusCode::NOT_MODIFIED, "{uri}");
    }
}

/// Counts how often it is serialized.
struct Counted {
    version: u32,
}

static SERIALIZED: AtomicUsize = AtomicUsize::new(0);

impl Serialize for Counted {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        SERIALIZED.fetch_add(1, Ordering::SeqCst);
        serializer.serialize_u32(self.version)
    }
}

impl Versioned for Counted {
    fn etag(&self) -> ETag {
        ETag::from_version(&self.version)
    }
}

#[etag]
async fn counted() -> Json<Counted> {
    Json(Counted { version: 8 })
}

#[tokio::test]
async fn a_304_costs_no_serialization() {
    let app = Router::new().route("/counted", get(counted));
    let res = fetch(&app, "/counted", &[("if-none-match", "\"8\"")]).await;
    assert_eq!(res.status, StatusCode::NOT_MODIFIED);
    assert_eq!(SERIALIZED.load(Ordering::SeqCst), 0);
    let res = fetch(&app, "/counted", &[("if-none-match", "\"7\"")]).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.body.as_ref(), b"8");
    assert_eq!(SERIALIZED.load(Ordering::SeqCst), 1);
}

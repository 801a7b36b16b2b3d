//! How refusals look: problem details whose text fits the request, an application's own
//! error format through `#[etag(error = ...)]`, a 404 for `None`, and a 304 that carries
//! no length (RFC 9110 sections 8.6, 13.1.1, 15.4.5 and 15.5.13; RFC 6585 section 3;
//! RFC 9457).

mod common;

use axum::extract::Path;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use common::{fetch, send};
use etag_runtime::{Precondition, Versioned, etag};
use serde::Serialize;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

#[derive(Serialize, Versioned)]
struct Note {
    id: u32,
    #[version]
    version: i64,
}

/// An application's own error format: `{"code": ..., "message": ...}`.
struct ApiError(Precondition);

impl From<Precondition> for ApiError {
    fn from(refused: Precondition) -> Self {
        Self(refused)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(serde_json::json!({
            "code": self.0.status().as_u16(),
            "message": self.0.detail(),
        }));
        self.0.respond_with(body)
    }
}

#[etag]
async fn note(Path(id): Path<u32>) -> Option<Json<Note>> {
    (id != 0).then_some(Json(Note { id, version: 3 }))
}

#[etag(require_precondition, error = ApiError)]
async fn shaped(Path(id): Path<u32>) -> Result<Json<Note>, ApiError> {
    Ok(Json(Note { id, version: 3 }))
}

fn app() -> Router {
    Router::new()
        .route("/notes/{id}", get(note).put(note))
        .route("/shaped/{id}", get(shaped).delete(shaped))
}

#[tokio::test]
async fn rfc9110_13_1_1_a_stale_read_is_told_to_read_again() {
    let res = fetch(&app(), "/notes/1", &[("if-match", "\"2\"")]).await;
    assert_eq!(res.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(
        res.expect_header("content-type"),
        "application/problem+json"
    );
    let detail = res.json()["detail"].as_str().unwrap().to_owned();
    assert!(detail.contains("GET it again"), "{detail}");
    assert!(!detail.contains("re-apply"), "{detail}");
}

#[tokio::test]
async fn a_missing_resource_is_a_problem_404_and_never_304() {
    let res = fetch(&app(), "/notes/0", &[("if-none-match", "*")]).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert_eq!(
        res.expect_header("content-type"),
        "application/problem+json"
    );
    assert_eq!(res.json()["status"], 404);
    assert!(!res.has("etag"));
}

#[tokio::test]
async fn rfc6585_3_the_macros_refusals_take_the_applications_format() {
    let res = send(&app(), Method::DELETE, "/shaped/1", &[], None).await;
    assert_eq!(res.status, StatusCode::PRECONDITION_REQUIRED);
    assert_eq!(res.expect_header("content-type"), "application/json");
    assert_eq!(res.json()["code"], 428);
    assert!(res.json()["message"].as_str().unwrap().contains("If-Match"));

    let res = fetch(&app(), "/shaped/1", &[("if-match", "\"2\"")]).await;
    assert_eq!(res.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(res.json()["code"], 412);

    // A 304 has no body to shape: it goes out with its validators and nothing else.
    let res = fetch(&app(), "/shaped/1", &[("if-none-match", "\"3\"")]).await;
    assert_eq!(res.status, StatusCode::NOT_MODIFIED);
    assert_eq!(res.expect_header("etag"), "\"3\"");
    assert!(res.body.is_empty());
    assert!(!res.has("content-type"));
}

/// Sends one raw request over a real connection and returns the response head.
async fn raw_head(addr: std::net::SocketAddr, request: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    stream.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    text.split("\r\n\r\n")
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

#[tokio::test]
async fn rfc9110_8_6_a_304_to_head_claims_no_content_length() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app()).await });

    let head = "HEAD /notes/1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n";
    let full = raw_head(addr, &format!("{head}\r\n")).await;
    assert!(full.starts_with("http/1.1 200"), "{full}");
    assert!(full.contains("content-length: 20"), "{full}");

    for request in [
        format!("{head}If-None-Match: \"3\"\r\n\r\n"),
        "GET /notes/1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\nIf-None-Match: \"3\"\r\n\r\n"
            .to_owned(),
    ] {
        let not_modified = raw_head(addr, &request).await;
        assert!(not_modified.starts_with("http/1.1 304"), "{not_modified}");
        // Section 8.6: a 304 may carry Content-Length only with the 200's own value.
        assert!(!not_modified.contains("content-length"), "{not_modified}");
        assert!(not_modified.contains("etag: \"3\""), "{not_modified}");
    }
    server.abort();
}

//! Compression that cannot be stacked wrong (`layer::Compression`), and the warning when
//! a compressed response carries a strong tag made for other bytes (RFC 9110 section
//! 8.8.1).

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::http::{Method, StatusCode};
use axum::routing::get;
use axum::{Json, Router};
use common::{fetch, send};
use etag_runtime::layer::{Compression, ETagLayer, EncodingTagsLayer};
use etag_runtime::{Conditions, Precondition, Versioned, etag};
use tower::ServiceBuilder;
use tower_http::compression::CompressionLayer;

#[derive(Clone, serde::Serialize, Versioned)]
struct Doc {
    text: String,
    #[version]
    version: i64,
}

type Db = Arc<Mutex<Doc>>;

#[etag]
async fn get_doc(axum::extract::State(db): axum::extract::State<Db>) -> Json<Doc> {
    Json(db.lock().unwrap().clone())
}

#[etag(require_precondition)]
async fn put_doc(
    axum::extract::State(db): axum::extract::State<Db>,
    conditions: Conditions,
    Json(text): Json<String>,
) -> Result<Json<Doc>, Precondition> {
    let mut doc = db.lock().unwrap();
    // Under the lock, nothing can change between the check and the write.
    conditions.evaluate(Some(&doc.validators()))?;
    doc.text = text;
    doc.version += 1;
    Ok(Json(doc.clone()))
}

async fn about() -> String {
    "A page with no model; the layer tags it by its bytes. ".repeat(20)
}

fn routes() -> Router {
    let db = Db::new(Mutex::new(Doc {
        text: "a document long enough for the compressor to take it. ".repeat(10),
        version: 1,
    }));
    Router::new()
        .route("/doc", get(get_doc).put(put_doc))
        .route("/about", get(about))
        .with_state(db)
}

/// The one layer: the compressor and the encoding tags in their order.
fn safe() -> Router {
    routes().layer(
        ServiceBuilder::new()
            .layer(Compression::new(
                CompressionLayer::new().gzip(true).br(true),
            ))
            .layer(ETagLayer::new()),
    )
}

#[tokio::test]
async fn rfc9110_8_8_1_the_compression_layer_gives_each_coding_its_own_tag() {
    let app = safe();
    for path in ["/doc", "/about"] {
        let mut tags = Vec::new();
        for coding in ["identity", "gzip", "br"] {
            let reply = fetch(&app, path, &[("accept-encoding", coding)]).await;
            assert_eq!(reply.status, StatusCode::OK);
            assert_eq!(reply.expect_header("vary"), "accept-encoding");
            if coding == "identity" {
                assert!(!reply.has("content-encoding"));
            } else {
                assert_eq!(reply.expect_header("content-encoding"), coding);
            }
            let tag = reply.expect_header("etag").to_owned();
            assert!(!tag.starts_with("W/"), "{tag}");
            let again = fetch(
                &app,
                path,
                &[("accept-encoding", coding), ("if-none-match", &tag)],
            )
            .await;
            assert_eq!(again.status, StatusCode::NOT_MODIFIED, "{path} {coding}");
            assert_eq!(again.expect_header("etag"), tag);
            assert!(!again.has("content-encoding"));
            tags.push(tag);
        }
        assert_ne!(tags[0], tags[1]);
        assert_ne!(tags[1], tags[2]);
        assert_ne!(tags[0], tags[2]);
    }
    assert_eq!(
        fetch(&app, "/doc", &[("accept-encoding", "gzip")])
            .await
            .expect_header("etag"),
        "\"1-gzip\""
    );
    // The gzip tag makes a write conditional, and is stale after it.
    let put = |tag: &'static str| {
        let app = app.clone();
        async move {
            send(
                &app,
                Method::PUT,
                "/doc",
                &[("if-match", tag), ("accept-encoding", "gzip")],
                Some("\"a new text, long enough for the compressor to take it too\""),
            )
            .await
        }
    };
    let reply = put("\"1-gzip\"").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.expect_header("etag"), "\"2-gzip\"");
    assert_eq!(
        put("\"1-gzip\"").await.status,
        StatusCode::PRECONDITION_FAILED
    );
}

#[tokio::test]
async fn rfc9110_14_6_a_multipart_206_through_the_compression_layer_is_not_coded() {
    let reply = fetch(
        &safe(),
        "/about",
        &[("accept-encoding", "gzip"), ("range", "bytes=0-9,100-109")],
    )
    .await;
    assert_eq!(reply.status, StatusCode::PARTIAL_CONTENT);
    assert!(
        reply
            .expect_header("content-type")
            .starts_with("multipart/byteranges")
    );
    assert!(!reply.has("content-encoding"), "{:?}", reply.headers);
    let text = about().await;
    let first = format!(
        "Content-Range: bytes 0-9/{}\r\n\r\n{}",
        text.len(),
        &text[..10]
    );
    assert!(String::from_utf8_lossy(&reply.body).contains(&first));
}

/// Collects what a `tracing` subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn warnings(&self) -> Vec<String> {
        String::from_utf8(self.0.lock().unwrap().clone())
            .unwrap()
            .lines()
            .filter(|l| l.contains("WARN"))
            .map(str::to_owned)
            .collect()
    }
}

/// Sends gzip GETs of `/doc` and `/about` through `app` twice, under a subscriber that
/// captures warnings.
async fn warnings_of(app: Router) -> Vec<String> {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    for _ in 0..2 {
        for path in ["/doc", "/about"] {
            let reply = fetch(&app, path, &[("accept-encoding", "gzip")]).await;
            assert_eq!(reply.status, StatusCode::OK);
        }
    }
    captured.warnings()
}

#[tokio::test]
async fn a_compressed_response_with_a_strong_tag_no_layer_codes_is_warned_of_once() {
    // A bare compressor inside the hashing layer: `/doc`'s version tag goes out on gzip
    // bytes.
    let wrong = || {
        routes().layer(
            ServiceBuilder::new()
                .layer(ETagLayer::new())
                .layer(CompressionLayer::new().gzip(true)),
        )
    };
    let reply = fetch(&wrong(), "/doc", &[("accept-encoding", "gzip")]).await;
    assert_eq!(reply.expect_header("content-encoding"), "gzip");
    assert_eq!(reply.expect_header("etag"), "\"1\"");
    let warnings = warnings_of(wrong()).await;
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let warning = &warnings[0];
    assert!(warning.contains("etag_runtime"), "{warning}");
    assert!(warning.contains("coding=\"gzip\""), "{warning}");
    assert!(warning.contains("etag=\"\\\"1\\\"\""), "{warning}");
    assert!(
        warning.contains("etag_runtime::layer::Compression"),
        "{warning}"
    );
}

#[tokio::test]
async fn the_orders_that_are_right_are_not_warned_of() {
    assert_eq!(warnings_of(safe()).await, Vec::<String>::new());
    let documented = routes().layer(
        ServiceBuilder::new()
            .layer(EncodingTagsLayer::new())
            .layer(CompressionLayer::new().gzip(true))
            .layer(ETagLayer::new()),
    );
    assert_eq!(warnings_of(documented).await, Vec::<String>::new());
    // The hashing layer outside the compressor, the encoding tags outside both.
    let hashed = routes().layer(
        ServiceBuilder::new()
            .layer(EncodingTagsLayer::new())
            .layer(ETagLayer::new())
            .layer(CompressionLayer::new().gzip(true)),
    );
    assert_eq!(warnings_of(hashed).await, Vec::<String>::new());
}

//! `#[etag(per_user = arg)]`: tags that belong to one principal (RFC 9110 sections 8.8.3,
//! 12.5.5 and 13.1, RFC 9111 section 5.2.2.7), and the debug events of the 304s, 412s
//! and 428s the crate decides.

mod common;

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::extract::{FromRef, State};
use axum::http::{Method, StatusCode};
use axum::routing::get;
use axum::{Json, Router};
use common::principal::Caller;
use common::{fetch, send};
use etag_runtime::principal::TagKey;
use etag_runtime::{Conditions, Precondition, Versioned, etag};

#[derive(Clone, Default, serde::Serialize, Versioned)]
struct Favorites {
    ids: Vec<i64>,
    #[version]
    version: i64,
}

#[derive(Clone)]
struct App {
    key: TagKey,
    rows: Arc<Mutex<HashMap<String, Favorites>>>,
}

impl FromRef<App> for TagKey {
    fn from_ref(app: &App) -> Self {
        app.key.clone()
    }
}

/// The caller is extracted before `State`, whatever the order written.
#[etag(per_user = caller, cache_control = "no-cache")]
async fn get_favorites(State(app): State<App>, caller: Caller) -> Json<Favorites> {
    let rows = app.rows.lock().unwrap();
    Json(rows.get(&caller.0).cloned().unwrap_or_default())
}

#[etag(per_user = caller, require_precondition)]
async fn put_favorites(
    State(app): State<App>,
    caller: Caller,
    conditions: Conditions,
    Json(ids): Json<Vec<i64>>,
) -> Result<Json<Favorites>, Precondition> {
    let mut rows = app.rows.lock().unwrap();
    let row = rows.entry(caller.0).or_default();
    // Under the lock, nothing can change between the check and the write.
    conditions.evaluate(Some(&row.validators()))?;
    // The tag the client sent, opened: the version it read.
    let sent = conditions.if_match().expect("If-Match, or a 428 already");
    assert!(sent.strong_match(&row.etag()));
    row.ids = ids;
    row.version += 1;
    Ok(Json(row.clone()))
}

/// A handler that sets its own Cache-Control keeps it.
#[etag(per_user = who)]
async fn own_cache_control(who: Caller) -> ([(&'static str, &'static str); 1], Json<Favorites>) {
    let _ = who;
    ([("cache-control", "no-store")], Json(Favorites::default()))
}

fn app() -> Router {
    Router::new()
        .route("/me/favorites", get(get_favorites).put(put_favorites))
        .route("/me/own", get(own_cache_control))
        .with_state(App {
            key: TagKey::new(b"per-user test key"),
            rows: Arc::default(),
        })
}

fn auth(name: &str) -> String {
    format!("Bearer {name}")
}

#[tokio::test]
async fn rfc9110_12_5_5_per_user_responses_vary_on_authorization_and_are_private() {
    let app = app();
    let ada = auth("ada");
    let reply = fetch(&app, "/me/favorites", &[("authorization", &ada)]).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.expect_header("vary"), "authorization");
    // RFC 9111 section 5.2.2.7: no shared cache stores it; the option still applies.
    assert_eq!(reply.expect_header("cache-control"), "private, no-cache");
    let tag = reply.expect_header("etag");
    assert!(tag.starts_with("\"0."), "{tag}");
    assert!(!tag.contains("ada"), "{tag}");
    let own = fetch(&app, "/me/own", &[("authorization", &ada)]).await;
    assert_eq!(own.expect_header("cache-control"), "no-store");
    assert_eq!(own.expect_header("vary"), "authorization");
}

#[tokio::test]
async fn rfc9110_13_1_2_another_users_tag_gets_a_200_not_a_304() {
    let app = app();
    let (ada, bob) = (auth("ada"), auth("bob"));
    let tag = fetch(&app, "/me/favorites", &[("authorization", &ada)])
        .await
        .expect_header("etag")
        .to_owned();
    let reply = fetch(
        &app,
        "/me/favorites",
        &[("authorization", &ada), ("if-none-match", &tag)],
    )
    .await;
    assert_eq!(reply.status, StatusCode::NOT_MODIFIED);
    assert_eq!(reply.expect_header("etag"), tag);
    assert_eq!(reply.expect_header("vary"), "authorization");
    assert_eq!(reply.expect_header("cache-control"), "private, no-cache");
    // Bob's list is at the same version, with the same body; Ada's tag still is not his.
    let reply = fetch(
        &app,
        "/me/favorites",
        &[("authorization", &bob), ("if-none-match", &tag)],
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_ne!(reply.expect_header("etag"), tag);
    // The bare version is no one's tag either.
    let reply = fetch(
        &app,
        "/me/favorites",
        &[("authorization", &ada), ("if-none-match", "\"0\"")],
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn rfc9110_13_1_1_another_users_tag_gets_a_412_on_put() {
    let app = app();
    let (ada, bob) = (auth("ada"), auth("bob"));
    let put = |who: &str, tag: &str| {
        let (app, who, tag) = (app.clone(), who.to_owned(), tag.to_owned());
        async move {
            send(
                &app,
                Method::PUT,
                "/me/favorites",
                &[("authorization", &who), ("if-match", &tag)],
                Some("[1, 2]"),
            )
            .await
        }
    };
    let adas = fetch(&app, "/me/favorites", &[("authorization", &ada)])
        .await
        .expect_header("etag")
        .to_owned();
    assert_eq!(
        put(&bob, &adas).await.status,
        StatusCode::PRECONDITION_FAILED
    );
    let reply = put(&ada, &adas).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["ids"], serde_json::json!([1, 2]));
    let new_tag = reply.expect_header("etag").to_owned();
    assert!(new_tag.starts_with("\"1."), "{new_tag}");
    // Stale now, for Ada too.
    assert_eq!(
        put(&ada, &adas).await.status,
        StatusCode::PRECONDITION_FAILED
    );
    // RFC 6585 section 3: no precondition, 428; no principal, 401 before anything else.
    let reply = send(
        &app,
        Method::PUT,
        "/me/favorites",
        &[("authorization", &ada)],
        Some("[]"),
    )
    .await;
    assert_eq!(reply.status, StatusCode::PRECONDITION_REQUIRED);
    let reply = send(&app, Method::PUT, "/me/favorites", &[], Some("[]")).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.expect_header("www-authenticate"), "Bearer");
}

#[tokio::test]
async fn validators_come_after_the_authorization_extractor() {
    let reply = fetch(&app(), "/me/favorites", &[("if-none-match", "*")]).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(!reply.has("etag"));
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

#[tokio::test]
async fn every_304_412_and_428_is_a_debug_event_naming_method_status_field_and_tag() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let app = app();
    let ada = auth("ada");
    let tag = fetch(&app, "/me/favorites", &[("authorization", &ada)])
        .await
        .expect_header("etag")
        .to_owned();
    fetch(
        &app,
        "/me/favorites",
        &[("authorization", &ada), ("if-none-match", &tag)],
    )
    .await;
    send(
        &app,
        Method::PUT,
        "/me/favorites",
        &[("authorization", &ada), ("if-match", "\"9\"")],
        Some("[]"),
    )
    .await;
    send(
        &app,
        Method::PUT,
        "/me/favorites",
        &[("authorization", &ada)],
        Some("[]"),
    )
    .await;

    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("precondition answered the request"))
        .collect();
    assert_eq!(lines.len(), 3, "{log}");
    for line in &lines {
        assert!(line.contains("DEBUG"), "{line}");
        assert!(line.contains("etag_runtime"), "{line}");
    }
    assert!(lines[0].contains("method=GET"), "{}", lines[0]);
    assert!(lines[0].contains("status=304"), "{}", lines[0]);
    assert!(
        lines[0].contains("decided_by=\"If-None-Match\""),
        "{}",
        lines[0]
    );
    // The tag the handler compares, before it is sealed for the principal.
    assert!(lines[0].contains("etag=\"\\\"0\\\"\""), "{}", lines[0]);
    assert!(lines[1].contains("method=PUT"), "{}", lines[1]);
    assert!(lines[1].contains("status=412"), "{}", lines[1]);
    assert!(lines[1].contains("decided_by=\"If-Match\""), "{}", lines[1]);
    assert!(lines[2].contains("status=428"), "{}", lines[2]);
}

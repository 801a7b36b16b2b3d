//! `#[etag]` on writes: preconditions checked against the state the handler loads, the
//! write made atomically against that state, 428 for unprotected writes, and the new
//! ETag on the 2xx (RFC 9110 sections 13.1.1, 13.1.2 and 13.2.2; RFC 6585 section 3).

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::routing::put;
use axum::{Json, Router};
use common::{Reply, fetch, send};
use etag_runtime::write::Guard;
use etag_runtime::{Conditions, Precondition, Versioned, etag};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Versioned)]
struct Product {
    id: u32,
    name: String,
    #[version]
    version: i64,
}

#[derive(Deserialize)]
struct Input {
    name: String,
}

type Db = Arc<Mutex<HashMap<u32, Product>>>;

#[etag]
async fn get_product(State(db): State<Db>, Path(id): Path<u32>) -> Option<Json<Product>> {
    db.lock().unwrap().get(&id).cloned().map(Json)
}

/// The guarded statement over the map: whether the row is still what `guard` needs
/// (`INSERT ... ON CONFLICT DO NOTHING`, `UPDATE ... WHERE id = $1 [AND version = $2]`).
fn holds(rows: &HashMap<u32, Product>, id: u32, guard: &Guard<Product>) -> bool {
    match (guard, rows.get(&id)) {
        (Guard::Absent, None) | (Guard::Exists(_), Some(_)) => true,
        (Guard::Unchanged(read), Some(now)) => now.version == read.version,
        _ => false,
    }
}

/// Update or create, decided against the state it writes over.
#[etag(require_precondition)]
async fn put_product(
    State(db): State<Db>,
    conditions: Conditions,
    Path(id): Path<u32>,
    Json(input): Json<Input>,
) -> Result<(StatusCode, Json<Product>), Precondition> {
    let (db, name) = (&db, &input.name);
    let (status, row) = conditions
        .write(
            || async { Ok::<_, Precondition>(db.lock().unwrap().get(&id).cloned()) },
            |guard| async move {
                let mut rows = db.lock().unwrap();
                if !holds(&rows, id, &guard) {
                    return Ok(None);
                }
                let (status, version) = match rows.get(&id) {
                    Some(row) => (StatusCode::OK, row.version + 1),
                    None => (StatusCode::CREATED, 1),
                };
                let row = Product {
                    id,
                    name: name.clone(),
                    version,
                };
                rows.insert(id, row.clone());
                Ok(Some((status, row)))
            },
        )
        .await?;
    Ok((status, Json(row)))
}

/// Answers with the representation it removed; 404 for none.
#[etag(require_precondition)]
async fn delete_product(
    State(db): State<Db>,
    conditions: Conditions,
    Path(id): Path<u32>,
) -> Result<Option<Json<Product>>, Precondition> {
    let db = &db;
    conditions
        .write(
            || async { Ok::<_, Precondition>(db.lock().unwrap().get(&id).cloned()) },
            |guard| async move {
                let mut rows = db.lock().unwrap();
                if let Guard::Absent = guard {
                    return Ok(Some(None));
                }
                // DELETE FROM products WHERE id = $1 [AND version = $2]
                if !holds(&rows, id, &guard) {
                    return Ok(None);
                }
                Ok(Some(rows.remove(&id).map(Json)))
            },
        )
        .await
}

fn app() -> (Router, Db) {
    let db: Db = Arc::default();
    db.lock().unwrap().insert(
        1,
        Product {
            id: 1,
            name: "Mouse".into(),
            version: 3,
        },
    );
    let app = Router::new()
        .route(
            "/products/{id}",
            put(put_product).get(get_product).delete(delete_product),
        )
        .with_state(db.clone());
    (app, db)
}

async fn put_json(app: &Router, uri: &str, headers: &[(&str, &str)], body: &str) -> Reply {
    send(app, Method::PUT, uri, headers, Some(body)).await
}

fn version_of(db: &Db, id: u32) -> Option<i64> {
    db.lock().unwrap().get(&id).map(|p| p.version)
}

#[tokio::test]
async fn rfc9110_13_1_1_put_with_stale_if_match_is_412_and_writes_nothing() {
    let (app, db) = app();
    let res = put_json(
        &app,
        "/products/1",
        &[("if-match", "\"2\"")],
        r#"{"name":"x"}"#,
    )
    .await;
    assert_eq!(res.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(
        res.expect_header("content-type"),
        "application/problem+json"
    );
    assert_eq!(res.json()["status"], 412);
    assert!(!res.has("etag"));
    assert_eq!(version_of(&db, 1), Some(3));
    assert_eq!(db.lock().unwrap()[&1].name, "Mouse");
}

#[tokio::test]
async fn the_write_response_carries_the_new_etag() {
    let (app, db) = app();
    let res = put_json(
        &app,
        "/products/1",
        &[("if-match", "\"3\"")],
        r#"{"name":"Trackball"}"#,
    )
    .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.expect_header("etag"), "\"4\"");
    assert_eq!(res.json()["name"], "Trackball");
    assert_eq!(version_of(&db, 1), Some(4));

    // The old tag is now stale; the new one works.
    let res = put_json(
        &app,
        "/products/1",
        &[("if-match", "\"3\"")],
        r#"{"name":"y"}"#,
    )
    .await;
    assert_eq!(res.status, StatusCode::PRECONDITION_FAILED);
    let res = fetch(&app, "/products/1", &[("if-none-match", "\"4\"")]).await;
    assert_eq!(res.status, StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn rfc9110_13_1_1_delete_with_stale_if_match_is_412() {
    let (app, db) = app();
    let res = send(
        &app,
        Method::DELETE,
        "/products/1",
        &[("if-match", "\"2\"")],
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(version_of(&db, 1), Some(3));

    let res = send(
        &app,
        Method::DELETE,
        "/products/1",
        &[("if-match", "\"3\"")],
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.expect_header("etag"), "\"3\"");
    assert_eq!(version_of(&db, 1), None);

    // RFC 9110 section 13.1.1: If-Match: * fails when there is no current representation.
    let res = send(
        &app,
        Method::DELETE,
        "/products/1",
        &[("if-match", "*")],
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::PRECONDITION_FAILED);
}

#[tokio::test]
async fn rfc6585_3_unprotected_writes_get_428() {
    let (app, db) = app();
    let res = put_json(&app, "/products/1", &[], r#"{"name":"x"}"#).await;
    assert_eq!(res.status, StatusCode::PRECONDITION_REQUIRED);
    assert_eq!(
        res.expect_header("content-type"),
        "application/problem+json"
    );
    assert_eq!(res.json()["status"], 428);
    assert_eq!(version_of(&db, 1), Some(3));

    let res = send(&app, Method::DELETE, "/products/1", &[], None).await;
    assert_eq!(res.status, StatusCode::PRECONDITION_REQUIRED);
    assert_eq!(version_of(&db, 1), Some(3));

    // An If-None-Match with tags (not `*`) does not protect a write.
    let res = put_json(
        &app,
        "/products/1",
        &[("if-none-match", "\"9\"")],
        r#"{"name":"x"}"#,
    )
    .await;
    assert_eq!(res.status, StatusCode::PRECONDITION_REQUIRED);

    // Safe methods are never asked for a precondition.
    let res = fetch(&app, "/products/1", &[]).await;
    assert_eq!(res.status, StatusCode::OK);
}

#[tokio::test]
async fn rfc6585_3_428_comes_before_the_body_is_read() {
    let (app, _db) = app();
    // Invalid JSON without a precondition: 428, not the body extractor's 400.
    let res = put_json(&app, "/products/1", &[], "{not json").await;
    assert_eq!(res.status, StatusCode::PRECONDITION_REQUIRED);
    // With the precondition, the body extractor runs and rejects it.
    let res = put_json(&app, "/products/1", &[("if-match", "\"3\"")], "{not json").await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn rfc9110_13_1_2_if_none_match_star_creates_only_when_absent() {
    let (app, db) = app();
    let res = put_json(
        &app,
        "/products/2",
        &[("if-none-match", "*")],
        r#"{"name":"Pad"}"#,
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED);
    assert_eq!(res.expect_header("etag"), "\"1\"");
    assert_eq!(version_of(&db, 2), Some(1));

    // Now it exists: a second create-only PUT fails with 412 (not 304: it is not a GET).
    let res = put_json(
        &app,
        "/products/2",
        &[("if-none-match", "*")],
        r#"{"name":"Other"}"#,
    )
    .await;
    assert_eq!(res.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(db.lock().unwrap()[&2].name, "Pad");
}

#[tokio::test]
async fn rfc9110_13_2_2_if_match_on_a_missing_resource_is_412() {
    let (app, db) = app();
    let res = put_json(
        &app,
        "/products/9",
        &[("if-match", "\"1\"")],
        r#"{"name":"x"}"#,
    )
    .await;
    assert_eq!(res.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(version_of(&db, 9), None);
}

/// Versions from one store-wide revision, the pattern the docs teach: a resource deleted
/// and created again never gets a version it had before.
mod revision {
    use super::*;

    #[derive(Default)]
    pub(super) struct Store {
        rows: HashMap<u32, Product>,
        revision: i64,
    }

    pub(super) type Shared = Arc<Mutex<Store>>;

    #[etag(require_precondition)]
    async fn put_row(
        State(db): State<Shared>,
        conditions: Conditions,
        Path(id): Path<u32>,
        Json(input): Json<Input>,
    ) -> Result<(StatusCode, Json<Product>), Precondition> {
        let (db, name) = (&db, &input.name);
        let (status, row) = conditions
            .write(
                || async { Ok::<_, Precondition>(db.lock().unwrap().rows.get(&id).cloned()) },
                |guard| async move {
                    let mut db = db.lock().unwrap();
                    if !holds(&db.rows, id, &guard) {
                        return Ok(None);
                    }
                    let status = match guard {
                        Guard::Absent => StatusCode::CREATED,
                        _ => StatusCode::OK,
                    };
                    db.revision += 1;
                    let row = Product {
                        id,
                        name: name.clone(),
                        version: db.revision,
                    };
                    db.rows.insert(id, row.clone());
                    Ok(Some((status, row)))
                },
            )
            .await?;
        Ok((status, Json(row)))
    }

    #[etag(require_precondition)]
    async fn delete_row(
        State(db): State<Shared>,
        conditions: Conditions,
        Path(id): Path<u32>,
    ) -> Result<StatusCode, Precondition> {
        let db = &db;
        conditions
            .write(
                || async { Ok::<_, Precondition>(db.lock().unwrap().rows.get(&id).cloned()) },
                |guard| async move {
                    let mut db = db.lock().unwrap();
                    if let Guard::Absent = guard {
                        return Ok(Some(StatusCode::NOT_FOUND));
                    }
                    if !holds(&db.rows, id, &guard) {
                        return Ok(None);
                    }
                    db.revision += 1;
                    db.rows.remove(&id);
                    Ok(Some(StatusCode::NO_CONTENT))
                },
            )
            .await
    }

    pub(super) fn app() -> Router {
        Router::new()
            .route("/products/{id}", put(put_row).delete(delete_row))
            .with_state(Shared::default())
    }
}

#[tokio::test]
async fn rfc9110_8_8_3_a_recreated_resource_never_repeats_a_version() {
    let app = revision::app();
    let created = put_json(
        &app,
        "/products/7",
        &[("if-none-match", "*")],
        r#"{"name":"a"}"#,
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let first = created.expect_header("etag").to_owned();
    assert_eq!(first, "\"1\"");
    let deleted = send(
        &app,
        Method::DELETE,
        "/products/7",
        &[("if-match", &first)],
        None,
    )
    .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let again = put_json(
        &app,
        "/products/7",
        &[("if-none-match", "*")],
        r#"{"name":"b"}"#,
    )
    .await;
    assert_eq!(again.status, StatusCode::CREATED);
    assert_ne!(again.expect_header("etag"), first);
    // A client still holding the first product's tag cannot overwrite the new one.
    let stale = put_json(
        &app,
        "/products/7",
        &[("if-match", &first)],
        r#"{"name":"c"}"#,
    )
    .await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(
        stale.expect_header("content-type"),
        "application/problem+json"
    );
    assert!(
        stale.json()["detail"]
            .as_str()
            .unwrap()
            .contains("re-apply your change")
    );
}

/// Only an entity tag counts.
#[etag(require_entity_tag)]
async fn strict_put(
    State(db): State<Db>,
    conditions: Conditions,
    Path(id): Path<u32>,
) -> Result<StatusCode, Precondition> {
    let db = &db;
    conditions
        .write(
            || async { Ok::<_, Precondition>(db.lock().unwrap().get(&id).cloned()) },
            // The write itself is not the point here.
            |_guard| async { Ok(Some(StatusCode::NO_CONTENT)) },
        )
        .await
}

#[tokio::test]
async fn rfc9110_13_1_4_if_unmodified_since_alone_on_a_resource_without_a_date_is_428() {
    let (app, db) = app();
    // Section 13.1.4: the product has no modification date, so the field is ignored and
    // the write would be unconditional, which `require_precondition` refuses.
    let res = put_json(
        &app,
        "/products/1",
        &[("if-unmodified-since", "Sun, 06 Nov 1994 08:49:37 GMT")],
        r#"{"name":"x"}"#,
    )
    .await;
    assert_eq!(res.status, StatusCode::PRECONDITION_REQUIRED);
    assert_eq!(version_of(&db, 1), Some(3));
}

#[tokio::test]
async fn rfc9110_13_1_4_if_unmodified_since_alone_on_a_missing_resource_is_428() {
    let (app, db) = app();
    // Section 13.1.4: no resource, no modification date: the field is ignored, and the
    // write is unconditional, which `require_precondition` refuses.
    let res = put_json(
        &app,
        "/products/99",
        &[("if-unmodified-since", "Sun, 06 Nov 1994 08:49:37 GMT")],
        r#"{"name":"x"}"#,
    )
    .await;
    assert_eq!(res.status, StatusCode::PRECONDITION_REQUIRED);
    assert!(!db.lock().unwrap().contains_key(&99));
}

#[tokio::test]
async fn rfc6585_3_a_future_date_does_not_satisfy_require_precondition() {
    let (app, db) = app();
    let res = put_json(
        &app,
        "/products/1",
        &[("if-unmodified-since", "Fri, 31 Dec 9999 23:59:59 GMT")],
        r#"{"name":"blind"}"#,
    )
    .await;
    assert_eq!(res.status, StatusCode::PRECONDITION_REQUIRED);
    assert_eq!(db.lock().unwrap()[&1].name, "Mouse");
}

#[tokio::test]
async fn rfc6585_3_strict_mode_counts_entity_tags_only() {
    let (_, db) = app();
    let app = Router::new()
        .route("/strict/{id}", put(strict_put))
        .with_state(db);
    let date = ("if-unmodified-since", "Sun, 06 Nov 1994 08:49:37 GMT");
    let res = send(&app, Method::PUT, "/strict/1", &[date], None).await;
    assert_eq!(res.status, StatusCode::PRECONDITION_REQUIRED);
    let res = send(
        &app,
        Method::PUT,
        "/strict/1",
        &[("if-match", "\"3\"")],
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT);
    let res = send(
        &app,
        Method::PUT,
        "/strict/2",
        &[("if-none-match", "*")],
        None,
    )
    .await;
    assert_eq!(res.status, StatusCode::NO_CONTENT);
}

//! Products whose model names its cache groups (`#[versioned(group = "product")]`),
//! behind every kind of handler the cache-group and wait tests need: `#[etag]` items and
//! list, a validators-first item, a write and a delete, a model without a group, a
//! per-user response and a `private` one. Included by those tests with `#[path]`.

#![allow(dead_code, unreachable_pub)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{FromRef, Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use etag_runtime::groups::ResponseGroups;
use etag_runtime::principal::TagKey;
use etag_runtime::{Conditions, Precondition, Versioned, WithValidators, etag};

use crate::common::principal::Caller;

#[derive(Clone, serde::Serialize, Versioned)]
#[versioned(group = "product")]
pub struct Product {
    #[group_key]
    pub id: i64,
    pub name: String,
    #[version]
    pub version: i64,
}

/// A model without a group: no cache group names it, nothing can wake a request for it.
#[derive(Clone, serde::Serialize, Versioned)]
pub struct Loose {
    #[version]
    pub version: i64,
}

#[derive(Clone)]
pub struct App {
    pub rows: Arc<Mutex<HashMap<i64, Product>>>,
    key: TagKey,
}

impl FromRef<App> for TagKey {
    fn from_ref(app: &App) -> Self {
        app.key.clone()
    }
}

impl App {
    /// Products `ids` at version 1, each named with 2,000 bytes (a body worth
    /// compressing).
    pub fn new(ids: &[i64]) -> Self {
        let rows = ids
            .iter()
            .map(|&id| {
                let name = "x".repeat(2000);
                (
                    id,
                    Product {
                        id,
                        name,
                        version: 1,
                    },
                )
            })
            .collect();
        Self {
            rows: Arc::new(Mutex::new(rows)),
            key: TagKey::new(b"grouped products test key"),
        }
    }
}

/// The value's groups, found by `#[etag]` from the model.
#[etag(cache_control = "no-cache")]
async fn get_product(State(app): State<App>, Path(id): Path<i64>) -> Option<Json<Product>> {
    app.rows.lock().unwrap().get(&id).cloned().map(Json)
}

/// Validators first: the groups declared by the handler before it decides, which the
/// early 304 carries.
#[etag(cache_control = "no-cache")]
async fn get_early(
    State(app): State<App>,
    Path(id): Path<i64>,
    conditions: Conditions,
    groups: ResponseGroups,
) -> Result<Option<WithValidators<Json<Product>>>, Precondition> {
    groups.edit().add_key::<Product>(id);
    let Some(product) = app.rows.lock().unwrap().get(&id).cloned() else {
        return Ok(None);
    };
    let checked = conditions.check(product.validators())?;
    Ok(Some(checked.respond(Json(product))))
}

/// The list: its collection's group and its members'.
#[etag(cache_control = "no-cache")]
async fn list(State(app): State<App>) -> Json<Vec<Product>> {
    let rows = app.rows.lock().unwrap();
    let mut all: Vec<Product> = rows.values().cloned().collect();
    all.sort_by_key(|p| p.id);
    Json(all)
}

#[derive(serde::Deserialize)]
struct Input {
    name: String,
}

#[etag(require_precondition)]
async fn put_product(
    State(app): State<App>,
    Path(id): Path<i64>,
    conditions: Conditions,
    Json(input): Json<Input>,
) -> Result<Json<Product>, Precondition> {
    let mut rows = app.rows.lock().unwrap();
    let row = rows.get_mut(&id).expect("a product");
    // Under the lock, nothing can change between the check and the write.
    conditions.evaluate(Some(&row.validators()))?;
    row.name = input.name;
    row.version += 1;
    Ok(Json(row.clone()))
}

/// A delete answers a bare 204: the handler names what it changed.
#[etag(require_precondition)]
async fn delete_product(
    State(app): State<App>,
    Path(id): Path<i64>,
    conditions: Conditions,
    groups: ResponseGroups,
) -> Result<StatusCode, Precondition> {
    let mut rows = app.rows.lock().unwrap();
    let row = rows.get(&id).expect("a product");
    conditions.evaluate(Some(&row.validators()))?;
    rows.remove(&id);
    groups
        .edit()
        .add_key::<Product>(id)
        .add_collection::<Product>();
    Ok(StatusCode::NO_CONTENT)
}

#[etag(cache_control = "no-cache")]
async fn loose() -> Json<Loose> {
    Json(Loose { version: 1 })
}

/// Per user: no group may go out, whatever the handler adds.
#[etag(per_user = caller, cache_control = "no-cache")]
async fn mine(State(app): State<App>, caller: Caller, groups: ResponseGroups) -> Json<Product> {
    groups.edit().add("user-data");
    let _ = caller;
    Json(app.rows.lock().unwrap()[&1].clone())
}

/// Marked private by the handler: none either.
#[etag(cache_control = "private, no-cache")]
async fn private(State(app): State<App>) -> Json<Product> {
    Json(app.rows.lock().unwrap()[&1].clone())
}

/// `/products`, `/products/{id}` (GET, PUT, DELETE), `/early/{id}`, `/loose`, `/me` and
/// `/private`.
pub fn routes(app: App) -> Router {
    Router::new()
        .route("/products", get(list))
        .route(
            "/products/{id}",
            get(get_product).put(put_product).delete(delete_product),
        )
        .route("/early/{id}", get(get_early))
        .route("/loose", get(loose))
        .route("/me", get(mine))
        .route("/private", get(private))
        .with_state(app)
}

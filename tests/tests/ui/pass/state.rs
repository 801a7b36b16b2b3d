use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use etag_runtime::{Versioned, etag};
use serde::Serialize;

#[derive(Clone, Serialize, Versioned)]
struct Product {
    id: u32,
    #[version]
    version: i64,
}

type Db = Arc<Mutex<HashMap<u32, Product>>>;

#[etag]
async fn get_product(State(db): State<Db>, Path(id): Path<u32>) -> Result<Json<Product>, StatusCode> {
    let product = db.lock().unwrap().get(&id).cloned();
    product.map(Json).ok_or(StatusCode::NOT_FOUND)
}

#[etag]
async fn list(State(db): State<Db>) -> Json<Vec<Product>> {
    let mut all: Vec<Product> = db.lock().unwrap().values().cloned().collect();
    all.sort_by_key(|p| p.id);
    Json(all)
}

fn main() {
    let db: Db = Arc::default();
    let _: Router = Router::new()
        .route("/products", get(list))
        .route("/products/{id}", get(get_product))
        .with_state(db);
}

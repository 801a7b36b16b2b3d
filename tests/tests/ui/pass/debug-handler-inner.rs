// `#[etag]` above `#[debug_handler]`: `#[etag]` expands first, keeps `#[debug_handler]` on
// the rewritten handler, and axum's checks then run on what the router really calls.
use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router, debug_handler};
use etag_runtime::{Conditions, Versioned, etag};
use serde::Serialize;

#[derive(Serialize, Versioned)]
struct Product {
    id: u32,
    #[version]
    version: i64,
}

#[derive(Clone)]
struct AppState;

#[etag]
#[debug_handler]
async fn get_product(Path(id): Path<u32>) -> Json<Product> {
    Json(Product { id, version: 1 })
}

#[etag(require_precondition)]
#[axum::debug_handler]
async fn put_product(
    State(_state): State<AppState>,
    conditions: Conditions,
    Path(id): Path<u32>,
    Json(version): Json<i64>,
) -> Json<Product> {
    let _ = conditions;
    Json(Product { id, version })
}

fn main() {
    let _: Router = Router::new()
        .route("/{id}", get(get_product).put(put_product))
        .with_state(AppState);
}

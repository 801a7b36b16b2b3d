// `#[debug_handler]` above `#[etag]` checks the handler as written, by calling it with as
// many arguments as it was written with; the router gets `#[etag]`'s handler, which has one
// more. The one supported order is `#[etag]` above `#[debug_handler]`.
use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router, debug_handler};
use etag_runtime::{Versioned, etag};
use serde::Serialize;

#[derive(Serialize, Versioned)]
struct Product {
    id: u32,
    #[version]
    version: i64,
}

#[derive(Clone)]
struct AppState;

#[debug_handler]
#[etag]
async fn get_product(Path(id): Path<u32>) -> Json<Product> {
    Json(Product { id, version: 1 })
}

#[debug_handler]
#[etag(require_precondition)]
async fn put_product(
    State(_state): State<AppState>,
    Path(id): Path<u32>,
    Json(version): Json<i64>,
) -> Json<Product> {
    Json(Product { id, version })
}

#[debug_handler(state = AppState)]
#[etag(hash)]
async fn replace(Json(body): Json<String>) -> String {
    body
}

fn main() {
    let _: Router = Router::new()
        .route("/{id}", get(get_product).put(put_product))
        .route("/", axum::routing::put(replace))
        .with_state(AppState);
}

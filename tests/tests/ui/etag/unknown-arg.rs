use axum::Json;
use axum::Router;
use axum::routing::{get, patch, put};
use etag_runtime::{Versioned, etag};

#[derive(serde::Serialize, Versioned)]
struct Product {
    #[version]
    version: i64,
}

#[etag(strong)]
async fn get_product() -> Json<Product> {
    Json(Product { version: 1 })
}

#[etag(require_preconditions)]
async fn put_product() -> Json<Product> {
    Json(Product { version: 2 })
}

#[etag(require_precondition(loose))]
async fn patch_product() -> Json<Product> {
    Json(Product { version: 3 })
}

fn main() {
    let _: Router = Router::new()
        .route("/a", get(get_product))
        .route("/b", put(put_product))
        .route("/c", patch(patch_product));
}

use axum::Json;
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
    let _ = (get_product, put_product, patch_product);
}

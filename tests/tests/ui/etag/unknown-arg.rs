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

fn main() {
    let _ = (get_product, put_product);
}

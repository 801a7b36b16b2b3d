use axum::Json;
use etag_runtime::{Versioned, etag};

#[derive(serde::Serialize, Versioned)]
struct Product {
    #[version]
    version: i64,
}

#[etag(hash, cache_control = "no-cache", hash)]
async fn get_product() -> Json<Product> {
    Json(Product { version: 1 })
}

fn main() {
    let _ = get_product;
}

// Weakness belongs where a tag is made: the hint says where.
use axum::Json;
use etag_runtime::{Versioned, etag};

#[derive(serde::Serialize, Versioned)]
struct Product {
    #[version]
    version: i64,
}

#[etag(weak)]
async fn get_product() -> Json<Product> {
    Json(Product { version: 1 })
}

fn main() {
    let _ = get_product;
}

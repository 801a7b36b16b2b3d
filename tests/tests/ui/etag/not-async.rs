use axum::Json;
use etag_runtime::{Versioned, etag};

#[derive(serde::Serialize, Versioned)]
struct Product {
    #[version]
    version: i64,
}

#[etag]
fn get_product() -> Json<Product> {
    Json(Product { version: 1 })
}

fn main() {
    // The handler is still emitted: naming it is no second error.
    let _ = get_product;
}

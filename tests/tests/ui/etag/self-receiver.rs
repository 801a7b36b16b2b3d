use axum::Json;
use etag_runtime::{Versioned, etag};

#[derive(serde::Serialize, Versioned)]
struct Product {
    #[version]
    version: i64,
}

struct Api;

impl Api {
    #[etag]
    async fn get_product(&self) -> Json<Product> {
        Json(Product { version: 1 })
    }
}

fn main() {}

use axum::extract::Path;
use axum::routing::get;
use axum::{Json, Router};
use etag_runtime::{Versioned, etag};
use serde::Serialize;

#[derive(Serialize, Versioned)]
struct Product {
    id: u32,
    #[version]
    version: i64,
}

struct Products;

impl Products {
    /// Docs on an associated handler.
    #[etag]
    pub async fn get(Path(id): Path<u32>) -> Json<Product> {
        Json(Self::load(id))
    }

    #[etag]
    async fn get_self_typed(Path(id): Path<u32>) -> Json<Product> {
        Json(Self::load(id))
    }

    fn load(id: u32) -> Product {
        Product { id, version: 1 }
    }
}

fn main() {
    let _: Router = Router::new()
        .route("/a/{id}", get(Products::get))
        .route("/b/{id}", get(Products::get_self_typed));
}

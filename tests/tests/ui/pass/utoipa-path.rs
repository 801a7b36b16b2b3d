//! `#[etag]` with `#[utoipa::path]`, in both orders, and a handler in a module.

use axum::extract::Path;
use axum::routing::get;
use axum::{Json, Router};
use etag_runtime::openapi::ConditionalRequests;
use etag_runtime::{Versioned, etag};
use serde::Serialize;
use utoipa::OpenApi;

#[derive(Serialize, Versioned, utoipa::ToSchema)]
struct Product {
    id: u32,
    #[version]
    version: i64,
}

/// `#[utoipa::path]` first: utoipa reads the handler as written.
#[utoipa::path(get, path = "/a/{id}", responses((status = 200, body = Product)))]
#[etag(cache_control = "no-cache")]
async fn path_first(Path(id): Path<u32>) -> Json<Product> {
    Json(Product { id, version: 1 })
}

/// `#[etag]` first.
#[etag(require_precondition)]
#[utoipa::path(put, path = "/a/{id}", responses((status = 200, body = Product)))]
pub async fn etag_first(Path(id): Path<u32>) -> Json<Product> {
    Json(Product { id, version: 2 })
}

mod nested {
    /// In a module.
    #[utoipa::path(get, path = "/b", responses((status = 200)))]
    #[etag_runtime::etag(hash)]
    pub async fn page() -> &'static str {
        "page"
    }
}

#[derive(OpenApi)]
#[openapi(paths(path_first, etag_first, nested::page), modifiers(&ConditionalRequests))]
struct ApiDoc;

fn main() {
    let _: Router = Router::new()
        .route("/a/{id}", get(path_first).put(etag_first))
        .route("/b", get(nested::page));
    let _ = ApiDoc::openapi();
}

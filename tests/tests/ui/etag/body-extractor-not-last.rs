// The classic axum mistake: the extractor that reads the body is not the last argument.
// One error each, at the extractor: the routes that name the handlers are not reported.
use axum::Json;
use axum::extract::Path;
use axum::routing::{post, put};
use axum::Router;
use etag_runtime::{Conditions, Versioned, etag};

#[derive(serde::Serialize, Versioned)]
struct Product {
    #[version]
    version: i64,
}

#[etag(require_precondition)]
async fn put_product(Json(version): Json<i64>, Path(_id): Path<u64>) -> Json<Product> {
    Json(Product { version })
}

// A body extractor before the conditions.
#[etag]
async fn post_product(body: String, _conditions: Conditions) -> Json<Product> {
    Json(Product { version: body.len() as i64 })
}

fn main() {
    let _: Router = Router::new()
        .route("/products/{id}", put(put_product))
        .route("/products", post(post_product));
}

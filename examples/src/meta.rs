//! The routes about the API itself: `GET /` and `GET /health`.

use axum::Json;
use axum::extract::State;
use serde_json::Value;

use crate::router::AppState;

/// `GET /`: what the API offers. It has no model and no version: [`ETagLayer`] tags it by
/// the SHA-256 of its body, and answers a matching `If-None-Match` with 304.
#[utoipa::path(
    get,
    path = "/",
    tag = "meta",
    responses((status = 200, description = "The routes, by method and path.", body = Object))
)]
pub(crate) async fn index() -> Json<Value> {
    Json(serde_json::json!({
        "name": "products",
        "routes": {
            "GET /products?limit=N&after=ID": "a page of products, by id",
            "POST /products": "create a product",
            "GET|PUT|PATCH|DELETE /products/{id}": "one product; writes need If-Match",
            "GET|PUT /me/favorites": "your favourite product ids (Authorization: Bearer <name>); PUT needs If-Match",
            "GET /health": "whether the server is up",
            "GET /openapi.json": "the OpenAPI 3.1 document of these routes",
        },
    }))
}

/// `GET /health`: whether the server is up, and how many reads wait for a change.
#[utoipa::path(
    get,
    path = "/health",
    tag = "meta",
    responses((status = 200, description = "`{\"status\": \"ok\", \"waiting\": N}`: `N` reads are held waiting for a change (`Prefer: wait`).", body = Object))
)]
pub(crate) async fn health(State(app): State<AppState>) -> Json<Value> {
    Json(serde_json::json!({ "status": "ok", "waiting": app.store.changes().waiting() }))
}

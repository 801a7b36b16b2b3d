//! The OpenAPI 3.1 document of the API: `GET /openapi.json`, and `products --openapi`.

use axum::Json;
use etag_runtime::openapi::ConditionalRequests;
use utoipa::OpenApi;

use crate::export::__path_export_csv;
use crate::favorites::{__path_get_favorites, __path_put_favorites};
use crate::meta::{__path_health, __path_index};
use crate::products::{
    __path_create_product, __path_delete_product, __path_get_product, __path_list_products,
    __path_patch_product, __path_put_product,
};

/// The OpenAPI 3.1 document of every route, generated from the handlers' `#[utoipa::path]`;
/// [`ConditionalRequests`] adds what each `#[etag]` handler answers: its validators, the
/// conditional header fields it reads, and its 304, 412 and 428.
#[derive(OpenApi)]
#[openapi(
    info(title = "products", description = "A products API with ETags and conditional requests (RFC 9110 section 13)."),
    paths(
        index,
        health,
        openapi_json,
        list_products,
        create_product,
        get_product,
        put_product,
        patch_product,
        delete_product,
        export_csv,
        get_favorites,
        put_favorites,
    ),
    modifiers(&ConditionalRequests),
    tags(
        (name = "products", description = "The products, with their versions as ETags."),
        (name = "favorites", description = "The caller's own list (`Authorization: Bearer <name>`)."),
        (name = "meta", description = "About the API."),
    )
)]
struct ApiDoc;

/// The API's OpenAPI document: `GET /openapi.json`, and what `products --openapi` prints.
pub fn openapi() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// `GET /openapi.json`: [`openapi`]. A plain route: [`ETagLayer`] tags it by its body.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "meta",
    responses((status = 200, description = "This document.", body = Object))
)]
pub(crate) async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(openapi())
}

//! The OpenAPI 3.1 document of the API: `GET /openapi.json`, and `products --openapi`.

use axum::Json;
use etag_runtime::openapi::ConditionalRequests;
use utoipa::openapi::{HeaderBuilder, Object, RefOr, Type};
use utoipa::{Modify, OpenApi};

use crate::export::__path_export_csv;
use crate::favorites::{__path_get_favorites, __path_put_favorites};
use crate::meta::{__path_health, __path_index};
use crate::products::{
    __path_create_product, __path_delete_product, __path_get_product, __path_list_products,
    __path_patch_product, __path_put_product,
};

/// The OpenAPI 3.1 document of every route, generated from the handlers' `#[utoipa::path]`;
/// [`ConditionalRequests`] adds what each `#[etag]` handler answers: its validators, the
/// conditional header fields it reads, and its 304, 412 and 428; [`CacheGroupFields`] the
/// cache-group fields of the product routes.
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
    modifiers(&ConditionalRequests, &CacheGroupFields),
    tags(
        (name = "products", description = "The products, with their versions as ETags."),
        (name = "favorites", description = "The caller's own list (`Authorization: Bearer <name>`)."),
        (name = "meta", description = "About the API."),
    )
)]
struct ApiDoc;

/// The product routes' cache groups (RFC 9875) in the document: `Cache-Groups` (and, in
/// cache mode, `CDN-Cache-Control`) on the 200 and 304 of the reads, and
/// `Cache-Group-Invalidation` on the 2xx of the writes. After [`ConditionalRequests`], which
/// adds the 304s.
struct CacheGroupFields;

/// The reads, then the writes, by operation id.
const GROUPED_READS: &[&str] = &["list_products", "get_product"];
const GROUPED_WRITES: &[&str] = &[
    "create_product",
    "put_product",
    "patch_product",
    "delete_product",
];

impl Modify for CacheGroupFields {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let read_fields = [
            (
                "Cache-Groups",
                "The cache groups (RFC 9875) this response belongs to, a structured-field List of Strings: `\"product/{id}\"` for a product; `\"product\"` and each listed product's for a page. A write to any of them answers with it in `Cache-Group-Invalidation`.",
            ),
            (
                "CDN-Cache-Control",
                "In cache mode (`--shared-max-age`): how long shared caches may keep this response (RFC 9213), since a write invalidates its groups. Clients still revalidate (`Cache-Control: no-cache`).",
            ),
        ];
        let write_fields = [(
            "Cache-Group-Invalidation",
            "The cache groups (RFC 9875) this write made stale, a structured-field List of Strings: the product's (`\"product/{id}\"`) and the list's (`\"product\"`). A shared cache the response passes through drops what it stored for them.",
        )];
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                item.get.as_mut(),
                item.post.as_mut(),
                item.put.as_mut(),
                item.patch.as_mut(),
                item.delete.as_mut(),
            ];
            for operation in operations.into_iter().flatten() {
                let id = operation.operation_id.as_deref().unwrap_or_default();
                let fields: &[(&str, &str)] = if GROUPED_READS.contains(&id) {
                    &read_fields
                } else if GROUPED_WRITES.contains(&id) {
                    &write_fields
                } else {
                    continue;
                };
                for (status, response) in operation.responses.responses.iter_mut() {
                    let RefOr::T(response) = response else {
                        continue;
                    };
                    if !(status.starts_with('2') || status == "304") {
                        continue;
                    }
                    for (name, description) in fields {
                        response
                            .headers
                            .entry((*name).to_owned())
                            .or_insert_with(|| {
                                HeaderBuilder::new()
                                    .schema(Some(Object::with_type(Type::String)))
                                    .description(Some(*description))
                                    .build()
                                    .into()
                            });
                    }
                }
            }
        }
    }
}

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

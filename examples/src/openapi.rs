//! The OpenAPI 3.1 document of the API: `GET /openapi.json`, and `products --openapi`.

use std::collections::BTreeMap;

use axum::Json;
use etag_runtime::openapi::ConditionalRequests;
use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
use utoipa::openapi::{
    ContentBuilder, HeaderBuilder, Object, Ref, RefOr, Required, Response, ResponseBuilder, Type,
};
use utoipa::{IntoResponses, Modify, OpenApi};

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
/// `Cache-Group-Invalidation` on the 2xx of the writes; and, on the reads, which a write
/// to their groups wakes, the `Prefer: wait` they honour and its `Preference-Applied`.
/// After [`ConditionalRequests`], which adds the 304s.
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
        let waited = [(
            "Preference-Applied",
            "`wait=M` (RFC 7240) when the request waited for a change: `M` is the seconds it was willing to hold the request, the client's `wait` or the server's maximum if less. Absent when the request was answered at once.",
        )];
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
                    let params = operation.parameters.get_or_insert_with(Vec::new);
                    params.push(RefOr::T(
                        ParameterBuilder::new()
                            .name("Prefer")
                            .parameter_in(ParameterIn::Header)
                            .required(Required::False)
                            .schema(Some(Object::with_type(Type::String)))
                            .description(Some(PREFER))
                            .build(),
                    ));
                    for status in ["200", "304"] {
                        if let Some(RefOr::T(response)) =
                            operation.responses.responses.get_mut(status)
                        {
                            add_fields(response, &waited);
                        }
                    }
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
                    add_fields(response, fields);
                }
            }
        }
    }
}

/// `Prefer: wait=N` on the reads that wait for a change.
const PREFER: &str = "`wait=N` (RFC 7240), with the `ETag` the client has in `If-None-Match`: while that tag is current, the server holds the request for up to `N` seconds (at most its maximum, a little less by jitter) and answers 200 with the new representation as soon as a write changes it (404 if deleted), or 304 at the end. Answered at once when the tag is not current, or when the server already holds its most waiters or is stopping (then without `Preference-Applied`).";

/// Adds header fields to a response, keeping those it documents already.
fn add_fields(response: &mut Response, fields: &[(&str, &str)]) {
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

/// A problem-details response (the `ProblemBody` schema), with these header fields.
fn problem(description: &str, headers: &[(&str, &str)]) -> RefOr<Response> {
    let mut response = ResponseBuilder::new().description(description).content(
        "application/problem+json",
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("ProblemBody")))
            .build(),
    );
    for (name, text) in headers {
        let header = HeaderBuilder::new()
            .schema(Some(utoipa::openapi::schema::Object::with_type(
                Type::String,
            )))
            .description(Some(*text))
            .build();
        response = response.header(*name, header);
    }
    RefOr::T(response.build())
}

/// What every route that reads a request body can answer about the body's delivery: 408
/// when it stopped arriving or trickled past the deadline ([`Problem::rejected_body`]),
/// and 413 over axum's default limit of 2 MiB, which the router keeps.
///
/// [`Problem::rejected_body`]: crate::problem::Problem::rejected_body
fn body_delivery() -> BTreeMap<String, RefOr<Response>> {
    BTreeMap::from([
        (
            "408".to_owned(),
            problem(
                "Request Timeout: the body did not arrive whole in time (a piece came later \
                 than the request-body timeout, the whole body later than the request-body \
                 deadline, or it was the oldest body still arriving when every connection was \
                 taken). The connection is closed.",
                &[("Connection", "`close`.")],
            ),
        ),
        (
            "413".to_owned(),
            problem("Content Too Large: the body is larger than 2 MiB.", &[]),
        ),
    ])
}

/// The refusals of a JSON request body (`POST /products`, `PUT /products/{id}`, `PUT
/// /me/favorites`): axum's `Json` rejections as problems ([`ApiError`]'s `From`), and
/// [`body_delivery`]. A body that parses but is not what the route takes is the route's own
/// 422.
///
/// [`ApiError`]: crate::problem::ApiError
pub(crate) struct JsonBodyRefusals;

impl IntoResponses for JsonBodyRefusals {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let mut responses = body_delivery();
        responses.insert(
            "400".to_owned(),
            problem(
                "Bad Request: the body is not JSON (a syntax error, or it ends early).",
                &[],
            ),
        );
        responses.insert(
            "415".to_owned(),
            problem(
                "Unsupported Media Type: no `Content-Type: application/json` (or another \
                 `+json` type).",
                &[],
            ),
        );
        responses
    }
}

/// The refusals of `PATCH /products/{id}`'s merge patch, checked by the handler itself:
/// its content type first, then [`body_delivery`], then whether it is JSON.
pub(crate) struct MergePatchRefusals;

impl IntoResponses for MergePatchRefusals {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        let mut responses = body_delivery();
        responses.insert(
            "400".to_owned(),
            problem("Bad Request: the merge patch is not JSON.", &[]),
        );
        responses.insert(
            "415".to_owned(),
            problem(
                "Unsupported Media Type: not `Content-Type: application/merge-patch+json`.",
                &[(
                    "Accept-Patch",
                    "`application/merge-patch+json`: the one patch format accepted.",
                )],
            ),
        );
        responses
    }
}

/// What every route that reads the database can answer when it fails ([`ApiError::Store`]):
/// 503 with `Retry-After` while it is unavailable, 500 for any other failure.
///
/// [`ApiError::Store`]: crate::problem::ApiError::Store
pub(crate) struct StoreFailures;

impl IntoResponses for StoreFailures {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        BTreeMap::from([
            ("500".to_owned(), problem(STORE_FAILED, &[])),
            (
                "503".to_owned(),
                problem(STORE_UNAVAILABLE, &[("Retry-After", RETRY_AFTER)]),
            ),
        ])
    }
}

const STORE_FAILED: &str = "Internal Server Error: the database failed. Try again later.";
const STORE_UNAVAILABLE: &str = "Service Unavailable: the database is unavailable \
    (a connection could not be had in time, or a statement ran out of time). Try again after \
    `Retry-After`; a write sent again with the same `If-Match` cannot be applied twice.";
const RETRY_AFTER: &str = "Seconds to wait before trying again.";

//! The product handlers: `GET /products`, `POST /products`, and `GET`, `PUT`, `PATCH` and
//! `DELETE /products/{id}`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::{BytesRejection, JsonRejection};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri, header};
use etag_runtime::groups::{CacheGroups, ResponseGroups};
use etag_runtime::write::Guard;
use etag_runtime::{Conditions, Versioned, WithValidators, etag};
use serde_json::Value;

use crate::extract::{PageQuery, ProductBody, ProductFields, ProductId, ProductPatch};
use crate::merge_patch::merge_patch;
use crate::model::{PageRequest, PageStamp, Product};
use crate::openapi::{JsonBodyRefusals, MergePatchRefusals, StoreFailures};
use crate::problem::{ApiError, Problem, ProblemBody};
use crate::router::AppState;

const MERGE_PATCH: &str = "application/merge-patch+json";

/// A write's answer: the product as it now is. `#[etag]` adds its `ETag` and
/// `Last-Modified`.
type Saved = (StatusCode, HeaderMap, Json<Product>);

/// 200 OK with the product.
fn updated(product: Product) -> Saved {
    (StatusCode::OK, HeaderMap::new(), Json(product))
}

/// 201 Created, with the new product's URL.
fn created(product: Product) -> Saved {
    let mut headers = HeaderMap::new();
    if let Ok(location) = HeaderValue::from_str(&format!("/products/{}", product.id)) {
        headers.insert(header::LOCATION, location);
    }
    (StatusCode::CREATED, headers, Json(product))
}

/// A page of the list, with `Link: <...>; rel="next"` when another page follows.
type Page = (HeaderMap, Json<Vec<Product>>);

fn page_response(page: PageRequest, stamp: &PageStamp, products: Vec<Product>) -> Page {
    let mut headers = HeaderMap::new();
    if let Some(after) = stamp.next_after() {
        let link = format!(
            "</products?limit={}&after={after}>; rel=\"next\"",
            page.limit
        );
        if let Ok(value) = HeaderValue::from_str(&link) {
            headers.insert(header::LINK, value);
        }
    }
    (headers, Json(products))
}

/// `GET /products?limit=N&after=ID`: the products with an id above `after`, by id, at most
/// `limit` of them (default 100, at most 1000), and a `Link` to the next page.
///
/// Each page has its own validators ([`PageStamp`]), computed in the database as one
/// aggregate row; for a conditional request they are read first, and the page is loaded
/// only when the client's copy is stale. A request without preconditions goes straight to
/// the one statement that loads the page and its stamp together.
#[utoipa::path(
    get,
    path = "/products",
    tag = "products",
    params(
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 1000, description = "At most this many products, 1 to 1000 (default 100)."),
        ("after" = Option<i64>, Query, minimum = 1, maximum = 9_007_199_254_740_991_i64, description = "Only products with a larger id: the last id of the previous page."),
    ),
    responses(
        (status = 200, description = "A page of products, by id.", body = Vec<Product>,
            headers(("Link" = String, description = "`</products?limit=N&after=LAST>; rel=\"next\"` when another page follows."))),
        (status = 400, description = "A query parameter that is not `limit` or `after`, repeated, or out of range.", body = ProblemBody, content_type = "application/problem+json"),
        StoreFailures,
    )
)]
#[etag(cache_control = "no-cache", error = ApiError)]
pub(crate) async fn list_products(
    State(app): State<AppState>,
    conditions: Conditions,
    groups: ResponseGroups,
    uri: Uri,
) -> Result<WithValidators<Page>, ApiError> {
    let page = PageQuery::parse(uri.query())?.page()?;
    if app.options.late_check || !conditions.is_conditional() {
        let (stamp, products) = app.store.list_page(page).await?;
        groups.edit().add_all(&CacheGroups::of(&stamp));
        let checked = conditions.check(stamp.validators())?;
        return Ok(checked.respond(page_response(page, &stamp, products)));
    }
    // The page's validators from its ids and versions alone; the page itself only when
    // the client's copy is stale, sent with the validators it was read at. Its groups on
    // the 304 as on the 200.
    let groups = &groups;
    conditions
        .read(
            async {
                let stamp = app.store.page_stamp(page).await?;
                groups.edit().add_all(&CacheGroups::of(&stamp));
                Ok::<_, ApiError>(stamp.validators())
            },
            || async {
                let (stamp, products) = app.store.list_page(page).await?;
                groups.edit().add_all(&CacheGroups::of(&stamp));
                Ok((stamp.validators(), page_response(page, &stamp, products)))
            },
        )
        .await
}

/// `GET /products/{id}`: for a conditional request the product's version and time are
/// read first, and the rest of the row only when the client's copy is stale. A request
/// without preconditions goes straight to the one full read: an early read could only
/// cost it a query.
#[utoipa::path(
    get,
    path = "/products/{id}",
    tag = "products",
    params(("id" = i64, Path, minimum = 1, maximum = 9_007_199_254_740_991_i64, description = "The product's id, in plain decimal digits.")),
    responses(
        (status = 200, description = "The product.", body = Product),
        (status = 404, description = "No such product, or no product can have this URL (an id out of range, or not in plain decimal digits).", body = ProblemBody, content_type = "application/problem+json"),
        StoreFailures,
    )
)]
#[etag(cache_control = "no-cache", error = ApiError)]
pub(crate) async fn get_product(
    State(app): State<AppState>,
    ProductId(id): ProductId,
    conditions: Conditions,
    groups: ResponseGroups,
) -> Result<WithValidators<Json<Product>>, ApiError> {
    // On the 304 as on the 200: `product/{id}`.
    groups.edit().add_key::<Product>(id);
    if app.options.late_check || !conditions.is_conditional() {
        let product = app
            .store
            .get(id)
            .await?
            .ok_or_else(|| Problem::no_product(id))?;
        let checked = conditions.check(product.validators())?;
        return Ok(checked.respond(Json(product)));
    }
    conditions
        .read(
            async {
                let stamp = app.store.stamp(id).await?;
                Ok::<_, ApiError>(stamp.ok_or_else(|| Problem::no_product(id))?.validators())
            },
            || async {
                let product = app.store.get(id).await?;
                Ok(Json(product.ok_or_else(|| Problem::no_product(id))?))
            },
        )
        .await
}

/// `POST /products`: 201 with the new product. Preconditions, if any, are evaluated
/// against the collection, and the product is created only if the collection is still in
/// the state they held against.
#[utoipa::path(
    post,
    path = "/products",
    tag = "products",
    request_body = ProductFields,
    responses(
        (status = 201, description = "The new product.", body = Product,
            headers(("Location" = String, description = "The new product's URL."))),
        (status = 422, description = "Not a valid product.", body = ProblemBody, content_type = "application/problem+json"),
        (status = 507, description = "Every product id is taken: no product can be created.", body = ProblemBody, content_type = "application/problem+json"),
        JsonBodyRefusals,
        StoreFailures,
    )
)]
#[etag(error = ApiError)]
pub(crate) async fn create_product(
    State(app): State<AppState>,
    conditions: Conditions,
    body: Result<Json<ProductBody>, JsonRejection>,
) -> Result<Saved, ApiError> {
    let input = body?.0.validate()?;
    // If-Modified-Since and If-Range do not apply to a POST (RFC 9110 sections 13.1.3
    // and 13.1.5): without the fields evaluated for it, the create is unconditional and
    // needs no read of the collection.
    let (store, input) = (&app.store, &input);
    if conditions.if_match().is_none()
        && conditions.if_unmodified_since().is_none()
        && conditions.if_none_match().is_none()
    {
        return Ok(created(store.create(input, None).await?.ok_or_else(
            || {
                Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "The product was not created.",
                )
            },
        )?));
    }
    // The preconditions are decided against the collection, and the product is created
    // only while the collection is at the revision they held for.
    let product = conditions
        .write(
            || async { Ok::<_, ApiError>(Some(store.collection_state().await?)) },
            |guard| async move {
                let expected = guard.expected().map(|state| state.revision);
                Ok(store.create(input, expected).await?)
            },
        )
        .await?;
    Ok(created(product))
}

/// `PUT /products/{id}`: replaces the product if the client has seen its current state
/// (`If-Match` or `If-Unmodified-Since`), or creates it if the client asked for that
/// (`If-None-Match: *`) and it does not exist. Without a precondition: 428.
#[utoipa::path(
    put,
    path = "/products/{id}",
    tag = "products",
    params(("id" = i64, Path, minimum = 1, maximum = 9_007_199_254_740_991_i64, description = "The product's id, in plain decimal digits.")),
    request_body = ProductFields,
    responses(
        (status = 200, description = "The product as changed.", body = Product),
        (status = 201, description = "The product, created (with `If-None-Match: *`).", body = Product,
            headers(("Location" = String, description = "The product's URL."))),
        (status = 404, description = "No product can have this URL (an id out of range, or not in plain decimal digits).", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "Not a valid product.", body = ProblemBody, content_type = "application/problem+json"),
        JsonBodyRefusals,
        StoreFailures,
    )
)]
#[etag(require_precondition, error = ApiError)]
pub(crate) async fn put_product(
    State(app): State<AppState>,
    ProductId(id): ProductId,
    conditions: Conditions,
    body: Result<Json<ProductBody>, JsonRejection>,
) -> Result<Saved, ApiError> {
    let input = body?.0.validate()?;
    let (store, input) = (&app.store, &input);
    let written = conditions
        .write(
            || async { Ok::<_, ApiError>(store.get(id).await?) },
            |guard| async move {
                match guard {
                    // INSERT ... ON CONFLICT (id) DO NOTHING: only If-None-Match: * gets
                    // here (the handler's 428 refuses an If-None-Match with tags alone, and
                    // an If-Unmodified-Since alone on a missing product, which has no date).
                    Guard::Absent => Ok(store.create_at(id, input).await?.map(created)),
                    // UPDATE ... WHERE id = $1 AND ($2 IS NULL OR version = $2)
                    guard => {
                        let expected = guard.expected().map(|p| p.version);
                        Ok(store.update(id, expected, input).await?.map(updated))
                    }
                }
            },
        )
        .await?;
    Ok(written)
}

/// `PATCH /products/{id}` with a JSON merge patch: the same preconditions as PUT.
#[utoipa::path(
    patch,
    path = "/products/{id}",
    tag = "products",
    params(("id" = i64, Path, minimum = 1, maximum = 9_007_199_254_740_991_i64, description = "The product's id, in plain decimal digits.")),
    request_body(content = ProductPatch, content_type = "application/merge-patch+json", description = "A JSON merge patch (RFC 7396) of the product."),
    responses(
        (status = 200, description = "The product as changed.", body = Product),
        (status = 404, description = "No such product, or no product can have this URL (an id out of range, or not in plain decimal digits).", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "The patched product is not valid.", body = ProblemBody, content_type = "application/problem+json"),
        MergePatchRefusals,
        StoreFailures,
    )
)]
#[etag(require_precondition, error = ApiError)]
pub(crate) async fn patch_product(
    State(app): State<AppState>,
    ProductId(id): ProductId,
    conditions: Conditions,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Saved, ApiError> {
    let essence = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::trim);
    if !essence.is_some_and(|e| e.eq_ignore_ascii_case(MERGE_PATCH)) {
        let problem = Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("Send a JSON merge patch, with `Content-Type: {MERGE_PATCH}`."),
        );
        return Err(problem
            .with_header(
                HeaderName::from_static("accept-patch"),
                HeaderValue::from_static(MERGE_PATCH),
            )
            .into());
    }
    let body = body.map_err(|e| Problem::rejected_body(e.status(), e.body_text(), &e))?;
    let patch: Value = serde_json::from_slice(&body).map_err(|e| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            format!("The merge patch is not valid JSON: {e}"),
        )
    })?;
    // A missing product is a 404 whatever the preconditions (RFC 9110 section 13.2.1).
    let (store, patch) = (&app.store, &patch);
    let product = conditions
        .write(
            || async {
                let current = store.get(id).await?;
                Ok::<_, ApiError>(Some(current.ok_or_else(|| Problem::no_product(id))?))
            },
            |guard| async move {
                // The patch applies to the state read: its version is checked whatever
                // the preconditions ask, and a lost race reads and merges again.
                let (Guard::Exists(current) | Guard::Unchanged(current)) = guard else {
                    return Err(Problem::no_product(id).into());
                };
                let mut merged = serde_json::to_value(&current).map_err(|e| {
                    Problem::new(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        format!("serializing: {e}"),
                    )
                })?;
                merge_patch(&mut merged, patch);
                let input = serde_json::from_value::<ProductBody>(merged)
                    .map_err(|e| {
                        Problem::invalid(format!("The patched product is not valid: {e}"))
                    })?
                    .validate()?;
                Ok(store.update(id, Some(current.version), &input).await?)
            },
        )
        .await?;
    Ok(updated(product))
}

/// `DELETE /products/{id}`: the same preconditions as PUT; 204, which carries no
/// validators (there is no representation left).
#[utoipa::path(
    delete,
    path = "/products/{id}",
    tag = "products",
    params(("id" = i64, Path, minimum = 1, maximum = 9_007_199_254_740_991_i64, description = "The product's id, in plain decimal digits.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 404, description = "No such product, or no product can have this URL (an id out of range, or not in plain decimal digits).", body = ProblemBody, content_type = "application/problem+json"),
        StoreFailures,
    )
)]
#[etag(require_precondition, error = ApiError)]
pub(crate) async fn delete_product(
    State(app): State<AppState>,
    ProductId(id): ProductId,
    conditions: Conditions,
    groups: ResponseGroups,
) -> Result<StatusCode, ApiError> {
    // A missing product is a 404 whatever the preconditions (RFC 9110 section 13.2.1).
    let store = &app.store;
    conditions
        .write(
            || async {
                let current = store.stamp(id).await?;
                Ok::<_, ApiError>(Some(current.ok_or_else(|| Problem::no_product(id))?))
            },
            |guard| async move {
                // DELETE ... WHERE id = $1 AND ($2 IS NULL OR version = $2)
                let expected = guard.expected().map(|stamp| stamp.version);
                Ok(store.delete(id, expected).await?.then_some(()))
            },
        )
        .await?;
    // A 204 has no product to take them from: the product's and the list's.
    groups
        .edit()
        .add_key::<Product>(id)
        .add_collection::<Product>();
    Ok(StatusCode::NO_CONTENT)
}

//! The HTTP API: routes, handlers, and the request bodies they accept.
//!
//! Reads compute their validators first, from a query that reads nothing else, and answer
//! 304 or 412 before loading the resource ([`Conditions::check`]). Writes evaluate the
//! request's preconditions against the state they found ([`Conditions::check_upsert`]) and
//! then write only if the row is still at that state's version, in one statement.
//!
//! `#[etag]` does the rest: `Cache-Control: no-cache` on reads, 428 for writes without a
//! precondition (before their body is read), and the new `ETag` and `Last-Modified` on
//! every successful write.
//!
//! `/me/favorites` belongs to the caller ([`Caller`]): `#[etag(per_user = caller)]` seals
//! its tags for them, so another caller's tag never revalidates nor writes it. `/` has no
//! model: [`ETagLayer`] tags it by its body. Every response goes through tower-http's
//! compressor (gzip and br), and [`EncodingTagsLayer`] outside it gives each coding its
//! own tag and maps coded tags in requests back.
//!
//! Every handler has its `#[utoipa::path]`, written above its `#[etag]`; `GET /openapi.json`
//! serves the document they make ([`openapi`]), in which [`ConditionalRequests`] documents
//! the conditional side of each `#[etag]` handler.

use std::fmt;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::FromRef;
use axum::extract::rejection::{BytesRejection, JsonRejection};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use etag_runtime::header::TagList;
use etag_runtime::layer::{ETagLayer, EncodingTagsLayer};
use etag_runtime::openapi::ConditionalRequests;
use etag_runtime::principal::TagKey;
use etag_runtime::{Conditions, Upsert, Versioned, WithValidators, etag};
use serde::de::value::MapAccessDeserializer;
use serde::de::{IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use tower_http::compression::CompressionLayer;
use utoipa::{OpenApi, ToSchema};

use crate::auth::Caller;
use crate::model::{Favorites, NewProduct, PageRequest, PageStamp, Product};
use crate::problem::{ApiError, Problem, ProblemBody};
use crate::store::{MAX_ID, MIN_ID, Store};

/// How the API decides conditional reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiOptions {
    /// Load the whole resource first and decide 304/412 afterwards, as most frameworks do,
    /// instead of deciding from the validators alone. The responses are the same; only the
    /// work done for a 304 differs. For measuring what the early check saves.
    pub late_check: bool,
    /// The secret per-user tags are sealed with; a random one when `None`.
    pub tag_key: Option<String>,
}

#[derive(Debug, Clone)]
struct AppState {
    store: Store,
    options: ApiOptions,
    tag_key: TagKey,
}

/// `#[etag(per_user = ...)]` takes the key from the state.
impl FromRef<AppState> for TagKey {
    fn from_ref(app: &AppState) -> Self {
        app.tag_key.clone()
    }
}

/// 32 bytes no other process has: from the system's random source where there is one,
/// else from the standard library's per-process random hasher keys.
fn random_secret() -> Vec<u8> {
    use std::hash::{BuildHasher, Hasher};
    use std::io::Read;
    let mut secret = vec![0u8; 32];
    let read = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut secret));
    if read.is_err() {
        for (i, chunk) in secret.chunks_mut(8).enumerate() {
            let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
            hasher.write_usize(i);
            chunk.copy_from_slice(&hasher.finish().to_le_bytes());
        }
    }
    secret
}

/// How many times a write re-reads the state and re-evaluates its preconditions when
/// another writer changed the row between the read and the conditional write.
const WRITE_ATTEMPTS: usize = 8;

const MERGE_PATCH: &str = "application/merge-patch+json";

/// The products API on `store`.
///
/// Outermost first: the request log; [`EncodingTagsLayer`], which gives each
/// content-coding its own tag; the compressor (gzip and br); the 405 problem body;
/// [`ETagLayer`], which tags the routes that have no model (`/`) and leaves the tags of
/// the `#[etag]` routes as they are; the routes.
pub fn router(store: Store, options: ApiOptions) -> Router {
    let products = Router::new()
        .route("/products", get(list_products).post(create_product))
        .route(
            "/products/{id}",
            get(get_product)
                .put(put_product)
                .patch(patch_product)
                .delete(delete_product),
        );
    let tag_key = match &options.tag_key {
        Some(secret) => TagKey::new(secret),
        None => TagKey::new(random_secret()),
    };
    Router::new()
        .route("/", get(index))
        .route("/health", get(health))
        .route("/openapi.json", get(openapi_json))
        .route("/products.csv", get(export_csv))
        .route("/me/favorites", get(get_favorites).put(put_favorites))
        .merge(products)
        .fallback(no_route)
        .layer(ETagLayer::new())
        .layer(middleware::map_response(problem_for_405))
        .layer(CompressionLayer::new().gzip(true).br(true))
        .layer(EncodingTagsLayer::new())
        .layer(middleware::from_fn(log_request))
        .with_state(AppState {
            store,
            options,
            tag_key,
        })
}

/// `GET /`: what the API offers. It has no model and no version: [`ETagLayer`] tags it by
/// the SHA-256 of its body, and answers a matching `If-None-Match` with 304.
#[utoipa::path(
    get,
    path = "/",
    tag = "meta",
    responses((status = 200, description = "The routes, by method and path.", body = Object))
)]
async fn index() -> Json<Value> {
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

/// The body of `PUT /me/favorites`: a JSON array of product ids, each at most once.
fn favorite_ids(ids: Vec<i64>) -> Result<Vec<i64>, Problem> {
    if ids.len() > Favorites::MAX_IDS {
        return Err(Problem::invalid(format!(
            "At most {} favourites.",
            Favorites::MAX_IDS
        )));
    }
    let mut seen = std::collections::HashSet::new();
    for &id in &ids {
        if !(MIN_ID..=MAX_ID).contains(&id) {
            return Err(Problem::invalid(format!(
                "{id} is not a product id: ids are integers from {MIN_ID} to {MAX_ID}."
            )));
        }
        if !seen.insert(id) {
            return Err(Problem::invalid(format!("{id} is listed twice.")));
        }
    }
    Ok(ids)
}

/// `GET /me/favorites`: the caller's favourite product ids. Its `ETag` is sealed for the
/// caller, it is `private` and varies on `Authorization`; the caller is known (or the
/// request refused with 401) before any validator is computed.
#[utoipa::path(
    get,
    path = "/me/favorites",
    tag = "favorites",
    responses(
        (status = 200, description = "The caller's favourite product ids.", body = Vec<i64>),
        (status = 401, description = "No valid `Authorization: Bearer <name>`.", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
#[etag(per_user = caller, cache_control = "no-cache", error = ApiError)]
async fn get_favorites(
    State(app): State<AppState>,
    caller: Caller,
) -> Result<Json<Favorites>, ApiError> {
    Ok(Json(app.store.favorites(&caller.name).await?))
}

/// `PUT /me/favorites` with a JSON array of product ids: replaces the caller's list if
/// `If-Match` names its current version (428 without a precondition; 412 with a stale
/// tag, or with a tag another caller got).
#[utoipa::path(
    put,
    path = "/me/favorites",
    tag = "favorites",
    request_body(content = Vec<i64>, description = "Product ids, each at most once."),
    responses(
        (status = 200, description = "The list as saved.", body = Vec<i64>),
        (status = 401, description = "No valid `Authorization: Bearer <name>`.", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "Not a list of product ids, or one listed twice.", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
#[etag(per_user = caller, require_precondition, error = ApiError)]
async fn put_favorites(
    State(app): State<AppState>,
    caller: Caller,
    conditions: Conditions,
    body: Result<Json<Vec<i64>>, JsonRejection>,
) -> Result<Json<Favorites>, ApiError> {
    let ids = favorite_ids(body?.0)?;
    for _ in 0..WRITE_ATTEMPTS {
        let current = app.store.favorites(&caller.name).await?;
        let current = conditions.check_update(&current)?;
        // INSERT or UPDATE ... WHERE version = $3: the check and the write are one step.
        if let Some(saved) = app
            .store
            .set_favorites(&caller.name, current.version, &ids)
            .await?
        {
            return Ok(Json(saved));
        }
    }
    Err(conditions.failed().into())
}

/// `/products/{id}`: an id in [`MIN_ID`]`..=`[`MAX_ID`], written the one way the API writes
/// it (plain decimal: no sign, no leading zero, no percent-encoding). Anything else names no
/// product (404), so that every product has exactly one URL and caches keep one copy of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ProductId(i64);

impl ProductId {
    /// The id that `segment`, the last path segment exactly as the client sent it, names.
    fn parse(segment: &str) -> Result<Self, Problem> {
        let canonical = !segment.is_empty()
            && segment.bytes().all(|b| b.is_ascii_digit())
            && !segment.starts_with('0');
        if !canonical {
            return Err(Problem::new(
                StatusCode::NOT_FOUND,
                format!(
                    "There is no product at /products/{segment}: a product's URL has its id \
                     in plain decimal digits, with no sign, leading zero or percent-encoding \
                     (/products/1)."
                ),
            ));
        }
        segment
            .parse::<i64>()
            .ok()
            .filter(|id| (MIN_ID..=MAX_ID).contains(id))
            .map(Self)
            .ok_or_else(|| {
                Problem::new(
                    StatusCode::NOT_FOUND,
                    format!(
                        "There is no product {segment}: product ids are integers from \
                         {MIN_ID} to {MAX_ID}."
                    ),
                )
            })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ProductId {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        // The route is `/products/{id}`: the id is the last segment. It is read as sent, not
        // percent-decoded, so that `/products/%31` is not a second URL for product 1.
        let segment = parts.uri.path().rsplit('/').next().unwrap_or_default();
        Self::parse(segment)
    }
}

/// The body of `POST /products` and `PUT /products/{id}`, and what a merge patch must
/// produce: a JSON object. The read-only fields of a product may be sent back as they were
/// received; they are ignored. Any other field is refused (422), and so is anything that is
/// not an object: serde's derived `Deserialize` would also take an array of the fields in
/// order (`["Lamp", 12]`), which no client means.
#[derive(Debug)]
struct ProductBody(ProductFields);

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ProductFields {
    name: String,
    price: f64,
    #[serde(default, rename = "id")]
    #[schema(ignore)]
    _id: Option<IgnoredAny>,
    #[serde(default, rename = "version")]
    #[schema(ignore)]
    _version: Option<IgnoredAny>,
    #[serde(default, rename = "updated_at")]
    #[schema(ignore)]
    _updated_at: Option<IgnoredAny>,
}

impl<'de> Deserialize<'de> for ProductBody {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectOnly;

        impl<'de> Visitor<'de> for ObjectOnly {
            type Value = ProductFields;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object with `name` and `price`")
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<ProductFields, A::Error> {
                ProductFields::deserialize(MapAccessDeserializer::new(map))
            }
        }

        deserializer.deserialize_map(ObjectOnly).map(Self)
    }
}

impl ProductBody {
    fn validate(self) -> Result<NewProduct, Problem> {
        NewProduct::new(self.0.name, self.0.price).map_err(Problem::invalid)
    }
}

/// Applies a JSON merge patch (RFC 7396) to `target`.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(serde_json::Map::new());
    }
    if let Value::Object(target) = target {
        for (key, value) in patch {
            if value.is_null() {
                target.remove(key);
            } else {
                merge_patch(target.entry(key.as_str()).or_insert(Value::Null), value);
            }
        }
    }
}

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

/// How many times the export reads the whole list again when a write lands while it reads.
const EXPORT_ATTEMPTS: usize = 3;

/// `GET /products.csv`: every product as CSV, a larger body for range requests and resumed
/// downloads (`Range`, `If-Range`). Its validators are the collection's, checked before any
/// row is read; the rows are read page by page, and read again if a write landed meanwhile,
/// so that the body is always the one state its validators name.
#[utoipa::path(
    get,
    path = "/products.csv",
    tag = "products",
    responses(
        (status = 200, description = "Every product, one CSV row each.", body = String, content_type = "text/csv"),
        (status = 503, description = "The products changed on every read; try again after `Retry-After`.", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
#[etag(cache_control = "no-cache", error = ApiError)]
async fn export_csv(
    State(app): State<AppState>,
    conditions: Conditions,
) -> Result<WithValidators<([(HeaderName, HeaderValue); 1], String)>, ApiError> {
    for _ in 0..EXPORT_ATTEMPTS {
        let state = app.store.collection_state().await?;
        let checked = conditions.check(state.validators())?;
        let mut csv = String::from("id,name,price,version,updated_at\r\n");
        let mut page = crate::model::PageRequest {
            after: 0,
            limit: crate::model::PageRequest::MAX_LIMIT,
        };
        loop {
            let (stamp, products) = app.store.list_page(page).await?;
            for p in &products {
                csv.push_str(&format!(
                    "{},\"{}\",{},{},{}\r\n",
                    p.id,
                    p.name.replace('"', "\"\""),
                    p.price,
                    p.version,
                    p.updated_at
                        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
                ));
            }
            match (stamp.next_after(), products.last()) {
                (Some(_), Some(last)) => page.after = last.id,
                _ => break,
            }
        }
        if app.store.collection_state().await? == state {
            let csv_type = HeaderValue::from_static("text/csv; charset=utf-8");
            return Ok(checked.respond(([(header::CONTENT_TYPE, csv_type)], csv)));
        }
    }
    Err(Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "The products changed on every read of the export; try again.",
    )
    .with_header(header::RETRY_AFTER, HeaderValue::from_static("1"))
    .into())
}

/// `GET /health`: whether the server is up.
#[utoipa::path(
    get,
    path = "/health",
    tag = "meta",
    responses((status = 200, description = "`{\"status\": \"ok\"}`.", body = Object))
)]
async fn health() -> Json<Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

/// The query of `GET /products`: `limit` and `after`, each at most once, nothing else.
/// Read as sent, not percent-decoded: like a product's URL, a page has one spelling.
#[derive(Debug, Default)]
struct PageQuery {
    limit: Option<String>,
    after: Option<String>,
}

impl PageQuery {
    fn parse(query: Option<&str>) -> Result<Self, Problem> {
        let mut parsed = Self::default();
        let Some(query) = query else {
            return Ok(parsed);
        };
        let bad = |detail: String| Problem::new(StatusCode::BAD_REQUEST, detail);
        for pair in query.split('&') {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let slot = match name {
                "limit" => &mut parsed.limit,
                "after" => &mut parsed.after,
                _ => {
                    return Err(bad(format!(
                        "Unknown query parameter {name:?}: the list takes `limit` and `after`."
                    )));
                }
            };
            if slot.replace(value.to_owned()).is_some() {
                return Err(bad(format!("`{name}` is given more than once.")));
            }
        }
        Ok(parsed)
    }
}

impl PageQuery {
    fn page(self) -> Result<PageRequest, Problem> {
        let max = PageRequest::MAX_LIMIT;
        let limit = match self.limit {
            None => PageRequest::DEFAULT_LIMIT,
            Some(text) => canonical_integer(&text)
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| {
                    Problem::new(
                        StatusCode::BAD_REQUEST,
                        format!("`limit` must be an integer from 1 to {max}, not {text:?}."),
                    )
                })?,
        };
        let after = match self.after {
            None => 0,
            Some(text) => canonical_integer(&text)
                .filter(|id| (MIN_ID..=MAX_ID).contains(id))
                .ok_or_else(|| {
                    Problem::new(
                        StatusCode::BAD_REQUEST,
                        format!(
                            "`after` must be a product id, an integer from {MIN_ID} to \
                             {MAX_ID}, not {text:?}."
                        ),
                    )
                })?,
        };
        Ok(PageRequest { after, limit })
    }
}

/// A positive integer written in plain decimal digits with no leading zero: the one
/// spelling that names an id or a count in a URL.
fn canonical_integer(text: &str) -> Option<i64> {
    let canonical =
        !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) && !text.starts_with('0');
    canonical.then(|| text.parse().ok()).flatten()
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
/// Each page has its own validators ([`PageStamp`]), computed from one query that reads
/// only the page's ids and versions; the page is loaded only when the client's copy is
/// stale.
#[utoipa::path(
    get,
    path = "/products",
    tag = "products",
    params(
        ("limit" = Option<i64>, Query, description = "At most this many products, 1 to 1000 (default 100)."),
        ("after" = Option<i64>, Query, description = "Only products with a larger id: the last id of the previous page."),
    ),
    responses(
        (status = 200, description = "A page of products, by id.", body = Vec<Product>,
            headers(("Link" = String, description = "`</products?limit=N&after=LAST>; rel=\"next\"` when another page follows."))),
        (status = 400, description = "A query parameter that is not `limit` or `after`, repeated, or out of range.", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
#[etag(cache_control = "no-cache", error = ApiError)]
async fn list_products(
    State(app): State<AppState>,
    conditions: Conditions,
    uri: Uri,
) -> Result<WithValidators<Page>, ApiError> {
    let page = PageQuery::parse(uri.query())?.page()?;
    if app.options.late_check {
        let (stamp, products) = app.store.list_page(page).await?;
        let checked = conditions.check(stamp.validators())?;
        return Ok(checked.respond(page_response(page, &stamp, products)));
    }
    let stamp = app.store.page_stamp(page).await?;
    let checked = conditions.check(stamp.validators())?;
    // The page and the stamp it is at, read together.
    let (current, products) = app.store.list_page(page).await?;
    let checked = if current == stamp {
        checked
    } else {
        // A write landed in between: decide again against what is sent.
        conditions.check(current.validators())?
    };
    Ok(checked.respond(page_response(page, &current, products)))
}

/// `GET /products/{id}`: for a conditional request the product's version and time are
/// read first, and the rest of the row only when the client's copy is stale. A request
/// without preconditions goes straight to the one full read: an early read could only
/// cost it a query.
#[utoipa::path(
    get,
    path = "/products/{id}",
    tag = "products",
    params(("id" = i64, Path, description = "The product's id, in plain decimal digits.")),
    responses(
        (status = 200, description = "The product.", body = Product),
        (status = 404, description = "No such product.", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
#[etag(cache_control = "no-cache", error = ApiError)]
async fn get_product(
    State(app): State<AppState>,
    ProductId(id): ProductId,
    conditions: Conditions,
) -> Result<WithValidators<Json<Product>>, ApiError> {
    if app.options.late_check || !conditions.is_conditional() {
        let product = app
            .store
            .get(id)
            .await?
            .ok_or_else(|| Problem::no_product(id))?;
        let checked = conditions.check(product.validators())?;
        return Ok(checked.respond(Json(product)));
    }
    let stamp = app
        .store
        .stamp(id)
        .await?
        .ok_or_else(|| Problem::no_product(id))?;
    let checked = conditions.check(stamp.validators())?;
    let product = app
        .store
        .get(id)
        .await?
        .ok_or_else(|| Problem::no_product(id))?;
    let checked = if product.version == stamp.version {
        checked
    } else {
        // Changed in between: decide again against what is sent.
        conditions.check(product.validators())?
    };
    Ok(checked.respond(Json(product)))
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
    )
)]
#[etag(error = ApiError)]
async fn create_product(
    State(app): State<AppState>,
    conditions: Conditions,
    body: Result<Json<ProductBody>, JsonRejection>,
) -> Result<Saved, ApiError> {
    let input = body?.0.validate()?;
    // If-Modified-Since and If-Range do not apply to a POST (RFC 9110 sections 13.1.3
    // and 13.1.5): only the fields evaluated for it make the create conditional.
    let expected = if conditions.if_match().is_some()
        || conditions.if_unmodified_since().is_some()
        || conditions.if_none_match().is_some()
    {
        let state = app.store.collection_state().await?;
        Some(conditions.check_update(&state)?.revision)
    } else {
        None
    };
    let product = app
        .store
        .create(&input, expected)
        .await?
        .ok_or_else(|| conditions.failed())?;
    Ok(created(product))
}

/// `PUT /products/{id}`: replaces the product if the client has seen its current state
/// (`If-Match` or `If-Unmodified-Since`), or creates it if the client asked for that
/// (`If-None-Match: *`) and it does not exist. Without a precondition: 428.
#[utoipa::path(
    put,
    path = "/products/{id}",
    tag = "products",
    params(("id" = i64, Path, description = "The product's id, in plain decimal digits.")),
    request_body = ProductFields,
    responses(
        (status = 200, description = "The product as changed.", body = Product),
        (status = 201, description = "The product, created (with `If-None-Match: *`).", body = Product,
            headers(("Location" = String, description = "The product's URL."))),
        (status = 422, description = "Not a valid product.", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
#[etag(require_precondition, error = ApiError)]
async fn put_product(
    State(app): State<AppState>,
    ProductId(id): ProductId,
    conditions: Conditions,
    body: Result<Json<ProductBody>, JsonRejection>,
) -> Result<Saved, ApiError> {
    let input = body?.0.validate()?;
    for _ in 0..WRITE_ATTEMPTS {
        let stamp = app.store.stamp(id).await?;
        let written = match conditions.check_upsert(stamp.as_ref())? {
            // UPDATE ... WHERE id = $1 AND version = $2: the check and the write are one step.
            Upsert::Update(current) => app
                .store
                .update(id, current.version, &input)
                .await?
                .map(updated),
            // INSERT ... ON CONFLICT (id) DO NOTHING, and only when the client asked for a
            // create (If-None-Match: *). An If-Unmodified-Since alone on a missing product
            // is ignored (it has no date), which `check_upsert` already answers with 428.
            Upsert::Create if conditions.if_none_match().is_some_and(TagList::is_any) => {
                app.store.create_at(id, &input).await?.map(created)
            }
            Upsert::Create => return Err(conditions.failed().into()),
        };
        if let Some(response) = written {
            return Ok(response);
        }
        // Another writer got there first: evaluate the preconditions again against what
        // it left. With If-Match naming the version we saw, that is a 412.
    }
    Err(conditions.failed().into())
}

/// `PATCH /products/{id}` with a JSON merge patch: the same preconditions as PUT.
#[utoipa::path(
    patch,
    path = "/products/{id}",
    tag = "products",
    params(("id" = i64, Path, description = "The product's id, in plain decimal digits.")),
    request_body(content = Object, content_type = "application/merge-patch+json", description = "A JSON merge patch (RFC 7396) of the product."),
    responses(
        (status = 200, description = "The product as changed.", body = Product),
        (status = 404, description = "No such product.", body = ProblemBody, content_type = "application/problem+json"),
        (status = 415, description = "Not `application/merge-patch+json`.", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "The patched product is not valid.", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
#[etag(require_precondition, error = ApiError)]
async fn patch_product(
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
    for _ in 0..WRITE_ATTEMPTS {
        let current = app
            .store
            .get(id)
            .await?
            .ok_or_else(|| Problem::no_product(id))?;
        let current = conditions.check_update(&current)?;
        let mut merged = serde_json::to_value(current).map_err(|e| {
            Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("serializing: {e}"),
            )
        })?;
        merge_patch(&mut merged, &patch);
        let input = serde_json::from_value::<ProductBody>(merged)
            .map_err(|e| Problem::invalid(format!("The patched product is not valid: {e}")))?
            .validate()?;
        if let Some(product) = app.store.update(id, current.version, &input).await? {
            return Ok(updated(product));
        }
    }
    Err(conditions.failed().into())
}

/// `DELETE /products/{id}`: the same preconditions as PUT; 204, which carries no
/// validators (there is no representation left).
#[utoipa::path(
    delete,
    path = "/products/{id}",
    tag = "products",
    params(("id" = i64, Path, description = "The product's id, in plain decimal digits.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 404, description = "No such product.", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
#[etag(require_precondition, error = ApiError)]
async fn delete_product(
    State(app): State<AppState>,
    ProductId(id): ProductId,
    conditions: Conditions,
) -> Result<StatusCode, ApiError> {
    for _ in 0..WRITE_ATTEMPTS {
        let stamp = app
            .store
            .stamp(id)
            .await?
            .ok_or_else(|| Problem::no_product(id))?;
        let current = conditions.check_update(&stamp)?;
        if app.store.delete(id, current.version).await? {
            return Ok(StatusCode::NO_CONTENT);
        }
    }
    Err(conditions.failed().into())
}

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
async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(openapi())
}

async fn no_route(uri: Uri) -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        format!("There is nothing at {}.", uri.path()),
    )
}

/// axum's 405 has an empty body: give it a problem body, keeping its `Allow`.
async fn problem_for_405(response: Response) -> Response {
    if response.status() != StatusCode::METHOD_NOT_ALLOWED
        || response.headers().contains_key(header::CONTENT_TYPE)
    {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    let problem = Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "This resource does not support that method; see Allow.",
    )
    .into_response();
    let (problem_parts, body) = problem.into_parts();
    parts.headers.extend(problem_parts.headers);
    Response::from_parts(parts, body)
}

/// One log line per request: method, path, status, latency.
async fn log_request(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    tracing::info!(
        %method,
        path,
        status = response.status().as_u16(),
        latency = ?started.elapsed(),
        "request"
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rfc7396_appendix_a() {
        let cases = [
            (json!({"a": "b"}), json!({"a": "c"}), json!({"a": "c"})),
            (
                json!({"a": "b"}),
                json!({"b": "c"}),
                json!({"a": "b", "b": "c"}),
            ),
            (json!({"a": "b"}), json!({"a": null}), json!({})),
            (
                json!({"a": "b", "b": "c"}),
                json!({"a": null}),
                json!({"b": "c"}),
            ),
            (json!({"a": ["b"]}), json!({"a": "c"}), json!({"a": "c"})),
            (json!({"a": "c"}), json!({"a": ["b"]}), json!({"a": ["b"]})),
            (
                json!({"a": {"b": "c"}}),
                json!({"a": {"b": "d", "c": null}}),
                json!({"a": {"b": "d"}}),
            ),
            (
                json!({"a": [{"b": "c"}]}),
                json!({"a": [1]}),
                json!({"a": [1]}),
            ),
            (json!(["a", "b"]), json!(["c", "d"]), json!(["c", "d"])),
            (json!({"a": "b"}), json!(["c"]), json!(["c"])),
            (json!({"a": "foo"}), json!(null), json!(null)),
            (json!({"a": "foo"}), json!("bar"), json!("bar")),
            (
                json!({"e": null}),
                json!({"a": 1}),
                json!({"e": null, "a": 1}),
            ),
            (
                json!([1, 2]),
                json!({"a": "b", "c": null}),
                json!({"a": "b"}),
            ),
            (
                json!({}),
                json!({"a": {"bb": {"ccc": null}}}),
                json!({"a": {"bb": {}}}),
            ),
        ];
        for (target, patch, expected) in cases {
            let mut doc = target.clone();
            merge_patch(&mut doc, &patch);
            assert_eq!(doc, expected, "{target} + {patch}");
        }
    }

    #[test]
    fn product_bodies() {
        let ok: ProductBody = serde_json::from_value(json!({
            "id": 3, "name": "Lamp", "price": 12.5, "version": 2,
            "updated_at": "2026-11-25T14:03:07.123456Z"
        }))
        .unwrap();
        assert_eq!(ok.validate().unwrap().price.cents(), 1250);
        assert!(
            serde_json::from_value::<ProductBody>(
                json!({"name": "Lamp", "price": 1, "colour": "red"})
            )
            .is_err()
        );
        assert!(serde_json::from_value::<ProductBody>(json!({"name": "Lamp"})).is_err());
        assert!(
            serde_json::from_value::<ProductBody>(json!({"name": "Lamp", "price": "1.00"}))
                .is_err()
        );
        // Only an object is a product body, never its fields in order nor a scalar.
        for not_an_object in [
            json!(["Lamp", 12]),
            json!(["Lamp", 12, 3, 1, "2026-11-25T14:03:07.123456Z"]),
            json!("Lamp"),
            json!(12),
            json!(true),
            json!(null),
        ] {
            let err = serde_json::from_value::<ProductBody>(not_an_object.clone()).unwrap_err();
            assert!(
                err.to_string().contains("a JSON object"),
                "{not_an_object}: {err}"
            );
        }
        let err = serde_json::from_str::<ProductBody>("[\"Lamp\", 12]").unwrap_err();
        assert!(err.is_data(), "{err}");
    }

    #[test]
    fn page_queries() {
        let page = |q: Option<&str>| PageQuery::parse(q).and_then(PageQuery::page);
        let ok = |q: Option<&str>| page(q).unwrap();
        assert_eq!(
            ok(None),
            PageRequest {
                after: 0,
                limit: 100
            }
        );
        assert_eq!(ok(Some("limit=5")), PageRequest { after: 0, limit: 5 });
        assert_eq!(
            ok(Some("after=42&limit=1000")),
            PageRequest {
                after: 42,
                limit: 1000
            }
        );
        for bad in [
            "",
            "limit",
            "limit=",
            "limit=0",
            "limit=1001",
            "limit=05",
            "limit=%35",
            "limit=+5",
            "limit=5&limit=5",
            "after=0",
            "after=-1",
            "after=x",
            "after=9007199254740992",
            "Limit=5",
            "limit=5&",
            "page=2",
        ] {
            let problem = page(Some(bad)).unwrap_err();
            assert_eq!(problem.status, StatusCode::BAD_REQUEST, "{bad:?}");
        }
    }

    #[test]
    fn only_the_canonical_spelling_of_an_id_names_a_product() {
        assert_eq!(ProductId::parse("1").unwrap(), ProductId(1));
        assert_eq!(ProductId::parse("42").unwrap(), ProductId(42));
        assert_eq!(
            ProductId::parse("9007199254740991").unwrap(),
            ProductId(MAX_ID)
        );
        for alias in [
            "01", "+1", "%2B1", "%31", "1%20", " 1", "-1", "0", "00", "", "1.0", "1e0",
        ] {
            let problem = ProductId::parse(alias).unwrap_err();
            assert_eq!(problem.status, StatusCode::NOT_FOUND, "{alias:?}");
        }
        for beyond in ["9007199254740992", "99999999999999999999"] {
            let problem = ProductId::parse(beyond).unwrap_err();
            assert_eq!(problem.status, StatusCode::NOT_FOUND);
            assert!(
                problem.detail.contains("from 1 to 9007199254740991"),
                "{problem:?}"
            );
        }
    }
}

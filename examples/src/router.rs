//! The router: which handler serves which route, the layers every response passes through,
//! and the state the handlers share.
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
//! model: [`ETagLayer`] tags it by its body. Every response goes through
//! [`Compression`]: tower-http's compressor (gzip and br) with the layer outside it that
//! gives each coding its own tag and maps coded tags in requests back.
//!
//! Every handler has its `#[utoipa::path]`, written above its `#[etag]`; `GET /openapi.json`
//! serves the document they make ([`openapi`]), in which [`ConditionalRequests`] documents
//! the conditional side of each `#[etag]` handler.
//!
//! [`Conditions::check`]: etag_runtime::Conditions::check
//! [`Conditions::check_upsert`]: etag_runtime::Conditions::check_upsert
//! [`Caller`]: crate::auth::Caller
//! [`openapi`]: crate::openapi::openapi
//! [`ConditionalRequests`]: etag_runtime::openapi::ConditionalRequests

use axum::Router;
use axum::extract::FromRef;
use axum::http::HeaderValue;
use axum::middleware;
use axum::routing::get;
use etag_runtime::layer::{Compression, ETagLayer};
use etag_runtime::principal::TagKey;
use tower_http::compression::CompressionLayer;

use crate::cors::cors_layer;
use crate::export::export_csv;
use crate::favorites::{get_favorites, put_favorites};
use crate::logging::log_request;
use crate::meta::{health, index};
use crate::openapi::openapi_json;
use crate::problem::{no_route, problem_for_405};
use crate::products::{
    create_product, delete_product, get_product, list_products, patch_product, put_product,
};
use crate::secret::Secret;
use crate::store::Store;

/// How the API decides conditional reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiOptions {
    /// Load the whole resource first and decide 304/412 afterwards, as most frameworks do,
    /// instead of deciding from the validators alone. The responses are the same; only the
    /// work done for a 304 differs. For measuring what the early check saves.
    pub late_check: bool,
    /// The secret per-user tags are sealed with; a random one ([`Secret::random`]) when
    /// `None`.
    pub tag_key: Option<Secret>,
    /// The origins whose pages may call the API from a browser: their scripts can read the
    /// validators ([`EXPOSE_HEADERS`], with the example's `Location`, `Link`, ...) and
    /// send the preconditions ([`ALLOW_HEADERS`], with `Content-Type` and
    /// `Authorization`). No CORS at all when empty.
    ///
    /// [`EXPOSE_HEADERS`]: etag_runtime::cors::EXPOSE_HEADERS
    /// [`ALLOW_HEADERS`]: etag_runtime::cors::ALLOW_HEADERS
    pub cors_origins: Vec<HeaderValue>,
}

/// What every handler is given: the store, the options, and the key of per-user tags.
#[derive(Debug, Clone)]
pub(crate) struct AppState {
    pub(crate) store: Store,
    pub(crate) options: ApiOptions,
    pub(crate) tag_key: TagKey,
}

/// `#[etag(per_user = ...)]` takes the key from the state.
impl FromRef<AppState> for TagKey {
    fn from_ref(app: &AppState) -> Self {
        app.tag_key.clone()
    }
}

/// The products API on `store`.
///
/// Outermost first: the request log; with [`ApiOptions::cors_origins`], tower-http's CORS
/// layer, which answers preflights itself; [`Compression`], the compressor (gzip and br)
/// with a tag per content-coding; the 405 problem body; [`ETagLayer`], which tags the
/// routes that have no model (`/`) and leaves the tags of the `#[etag]` routes as they
/// are; the routes.
///
/// # Panics
///
/// Without [`ApiOptions::tag_key`], when the system's random source is unavailable (the
/// `products` binary makes its secret before, and fails with an error instead).
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
        Some(secret) => TagKey::new(secret.as_bytes()),
        None => TagKey::new(
            Secret::random()
                .expect("the system's random source, for the secret of per-user ETags")
                .as_bytes(),
        ),
    };
    let mut app = Router::new()
        .route("/", get(index))
        .route("/health", get(health))
        .route("/openapi.json", get(openapi_json))
        .route("/products.csv", get(export_csv))
        .route("/me/favorites", get(get_favorites).put(put_favorites))
        .merge(products)
        .fallback(no_route)
        .layer(ETagLayer::new())
        .layer(middleware::map_response(problem_for_405))
        .layer(Compression::new(
            CompressionLayer::new().gzip(true).br(true),
        ));
    if !options.cors_origins.is_empty() {
        app = app.layer(cors_layer(&options.cors_origins));
    }
    app.layer(middleware::from_fn(log_request))
        .with_state(AppState {
            store,
            options,
            tag_key,
        })
}

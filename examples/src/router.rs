//! The router: which handler serves which route, the layers every response passes through,
//! and the state the handlers share.
//!
//! Reads compute their validators first, from a query that reads nothing else, and answer
//! 304 or 412 before loading the resource ([`Conditions::read`]). Writes evaluate the
//! request's preconditions against the state they found and write only if the row is
//! still in the state the preconditions need, in one statement ([`Conditions::write`]).
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
//! [`Conditions::read`]: etag_runtime::Conditions::read
//! [`Conditions::write`]: etag_runtime::Conditions::write
//! [`Caller`]: crate::auth::Caller
//! [`openapi`]: crate::openapi::openapi
//! [`ConditionalRequests`]: etag_runtime::openapi::ConditionalRequests

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{FromRef, Request};
use axum::http::HeaderValue;
use axum::http::header::HeaderName;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use etag_runtime::groups::CACHE_GROUPS;
use etag_runtime::layer::{CacheGroupsLayer, Compression, ETagLayer, WaitLayer};
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
use crate::purge::{VarnishPurge, WritePurge};
use crate::secret::Secret;
use crate::store::{Backend, Store};

/// How the API decides conditional reads, and how shared caches may keep its responses.
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
    /// Cache mode: how long shared caches may keep a response that names its cache groups
    /// (`CDN-Cache-Control: max-age=N`, RFC 9213), since every write invalidates its
    /// groups; clients still revalidate every time (`Cache-Control: no-cache`). `None`:
    /// shared caches revalidate too.
    pub shared_max_age: Option<Duration>,
    /// Where writes send the groups they changed (`PURGE` with `xkey-purge`, as
    /// deploy/varnish/default.vcl takes it), for the writes that do not pass through it.
    pub purge_url: Option<String>,
    /// The longest a read that waits for a change (`Prefer: wait`) is held;
    /// [`WaitLayer::MAX_WAIT`] when `None`.
    pub max_wait: Option<Duration>,
    /// The most reads held at once; [`WaitLayer::MAX_WAITERS`] when `None`. Each holds its
    /// connection: keep it well below the server's connection cap.
    pub max_waiters: Option<usize>,
}

/// What every handler is given: the store, the options, and the key of per-user tags,
/// shared. Each request clones the state, and a clone of the fields themselves (the
/// store's handles, the CORS origins, the purge URL) showed in the item path's profile.
#[derive(Debug, Clone)]
pub(crate) struct AppState(Arc<Shared>);

#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) store: Store,
    pub(crate) options: ApiOptions,
    pub(crate) tag_key: TagKey,
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
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
/// layer, which answers preflights itself; in cache mode, `CDN-Cache-Control` on the
/// responses that name their cache groups; [`WaitLayer`], which holds a read that waits
/// for a change (`Prefer: wait`) on the store's feed ([`Store::changes`]) and publishes
/// each write into it; on PostgreSQL or with a purge URL, [`CacheGroupsLayer`] and its
/// hook, which announces each write to the other processes on the database and purges it
/// from Varnish ([`VarnishPurge`]); [`Compression`], the compressor (gzip and br) with a tag per
/// content-coding; the 405 problem body; [`ETagLayer`], which tags the routes that have no
/// model (`/`) and leaves the tags of the `#[etag]` routes as they are; the routes.
///
/// # Panics
///
/// Without [`ApiOptions::tag_key`], when the system's random source is unavailable (the
/// `products` binary makes its secret before, and fails with an error instead); with
/// [`ApiOptions::purge_url`], when the HTTP client cannot be built.
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
    let shared_max_age = options.shared_max_age;
    let varnish = options
        .purge_url
        .as_ref()
        .map(|url| VarnishPurge::new(url.clone()).expect("an HTTP client for the purges"));
    // Someone to tell of each write: the other processes on PostgreSQL, or Varnish. A
    // SQLite store without a purge URL has neither, and its writes skip the hook.
    let purge = (varnish.is_some() || store.backend() == Backend::Postgres).then(|| {
        CacheGroupsLayer::new().purge(WritePurge {
            store: store.clone(),
            varnish,
        })
    });
    let mut wait = WaitLayer::new(store.changes().clone());
    if let Some(max) = options.max_wait {
        wait = wait.max_wait(max);
    }
    if let Some(max) = options.max_waiters {
        wait = wait.max_waiters(max);
    }
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
    if let Some(purge) = purge {
        app = app.layer(purge);
    }
    app = app.layer(wait);
    if let Some(age) = shared_max_age {
        app = app.layer(middleware::from_fn(move |req: Request, next: Next| {
            shared_lifetime(age, req, next)
        }));
    }
    if !options.cors_origins.is_empty() {
        app = app.layer(cors_layer(&options.cors_origins));
    }
    app.layer(middleware::from_fn(log_request))
        .with_state(AppState(Arc::new(Shared {
            store,
            options,
            tag_key,
        })))
}

/// `CDN-Cache-Control` (RFC 9213).
const CDN_CACHE_CONTROL: HeaderName = HeaderName::from_static("cdn-cache-control");

/// Cache mode: a response that names its cache groups may be kept by shared caches for
/// `age`, because a write invalidates them; the others (errors, per-user responses, the
/// routes without a model) keep their `Cache-Control` alone.
async fn shared_lifetime(age: Duration, req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    if res.headers().contains_key(CACHE_GROUPS)
        && let Ok(value) = HeaderValue::from_str(&format!("max-age={}", age.as_secs()))
    {
        res.headers_mut().insert(CDN_CACHE_CONTROL, value);
    }
    res
}

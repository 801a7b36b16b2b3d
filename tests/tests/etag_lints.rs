//! The expansions of both macros are clean under `#![deny(warnings)]` and clippy's
//! `all` + `pedantic` groups (`cargo clippy --all-targets` checks this file), for every
//! shape of model and handler the macros take.

/// Models and handlers.
pub mod app {
    #![deny(warnings)]
    #![deny(clippy::all, clippy::pedantic)]
    #![deny(
        unused_qualifications,
        unused_results,
        unused_lifetimes,
        unreachable_pub,
        rust_2018_idioms,
        single_use_lifetimes,
        trivial_casts,
        trivial_numeric_casts,
        missing_debug_implementations
    )]

    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};
    use std::time::SystemTime;

    use axum::extract::{Path, State};
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    use axum::routing::get;
    use axum::{Json, Router};
    use etag_runtime::{Conditions, Halt, VersionValue, Versioned, Write, etag};
    use serde::{Deserialize, Serialize};

    /// A named model with both helpers.
    #[derive(Debug, Clone, Serialize, Deserialize, Versioned)]
    pub struct Product {
        /// Id.
        pub id: u32,
        /// Version.
        #[version]
        pub version: i64,
        /// Change time.
        #[last_modified]
        pub updated_at: SystemTime,
    }

    /// A tuple model with weak tags and a timestamp version.
    #[derive(Debug, Versioned)]
    #[versioned(weak)]
    pub struct Stamp(#[version] pub SystemTime);

    /// A generic model.
    #[derive(Debug, Versioned)]
    pub struct Tagged<'a, T, V: VersionValue>
    where
        T: Clone,
    {
        /// Payload.
        pub item: &'a T,
        /// Version.
        #[version]
        pub version: V,
    }

    /// The store.
    pub type Db = Arc<Mutex<HashMap<u32, Product>>>;

    fn load(db: &Db, id: u32) -> Option<Product> {
        db.lock().ok()?.get(&id).cloned()
    }

    /// Read.
    #[etag(cache_control = "no-cache")]
    pub async fn get_product(
        State(db): State<Db>,
        Path(id): Path<u32>,
    ) -> Result<Json<Product>, StatusCode> {
        let product = load(&db, id).ok_or(StatusCode::NOT_FOUND)?;
        Ok(Json(product))
    }

    /// Read, `Option`.
    #[etag(weak)]
    pub async fn find(State(db): State<Db>, Path(id): Path<u32>) -> Option<Json<Product>> {
        load(&db, id).map(Json)
    }

    /// Write.
    #[etag(require_precondition)]
    pub async fn put_product(
        State(db): State<Db>,
        conditions: Conditions,
        Path(id): Path<u32>,
        Json(mut body): Json<Product>,
    ) -> Result<(StatusCode, Json<Product>), Halt> {
        let current = load(&db, id);
        let status = match conditions.check_write(current.as_ref())? {
            Write::Update(current) => {
                body.version = current.version + 1;
                StatusCode::OK
            }
            Write::Create => StatusCode::CREATED,
        };
        let mut map = db.lock().map_err(|_| Halt::PreconditionFailed)?;
        let _previous = map.insert(id, body.clone());
        Ok((status, Json(body)))
    }

    /// Hash, opaque.
    #[etag(hash(limit = 65_536), weak)]
    pub async fn page() -> impl IntoResponse {
        "<p>hi</p>"
    }

    /// Only argument reads the body.
    #[etag(hash)]
    pub async fn echo(body: String) -> String {
        body
    }

    /// No arguments.
    #[etag]
    pub async fn stamp() -> Json<Vec<Product>> {
        Json(Vec::new())
    }

    /// Generic.
    #[etag]
    pub async fn generic<S>(State(state): State<S>) -> Json<Vec<Product>>
    where
        S: Clone + Send + Sync + 'static,
    {
        let _state = state;
        Json(Vec::new())
    }

    /// Under `#[debug_handler]`, in both orders.
    pub mod debug {
        // `#[debug_handler]`'s own checks call the handler with `panic!()` arguments and
        // copy its body into an `async fn` without `.await`: these two lints fire on them
        // with or without `#[etag]`.
        #![allow(clippy::diverging_sub_expression, clippy::unused_async)]

        use axum::Json;
        use axum::extract::{Path, State};
        use axum::http::StatusCode;
        use etag_runtime::etag;

        use super::{Db, Product, load};

        /// `#[etag]` first.
        #[etag]
        #[axum::debug_handler]
        pub async fn inner(State(db): State<Db>, Path(id): Path<u32>) -> Option<Json<Product>> {
            load(&db, id).map(Json)
        }

        /// See above. Outermost, `#[debug_handler]` checks the return type as written, which
        /// must then be an `IntoResponse` (an `Option` is not).
        #[axum::debug_handler]
        #[etag]
        pub async fn outer(
            State(db): State<Db>,
            Path(id): Path<u32>,
        ) -> Result<Json<Product>, StatusCode> {
            load(&db, id).map(Json).ok_or(StatusCode::NOT_FOUND)
        }
    }

    /// Associated handlers.
    #[derive(Debug)]
    pub struct Products;

    impl Products {
        /// Associated.
        #[etag]
        pub async fn get(State(db): State<Db>, Path(id): Path<u32>) -> Option<Json<Product>> {
            load(&db, id).map(Json)
        }
    }

    /// The router.
    pub fn router() -> Router {
        Router::new()
            .route("/products/{id}", get(get_product).put(put_product))
            .route("/find/{id}", get(find))
            .route("/debug/{id}", get(debug::inner).head(debug::outer))
            .route("/assoc/{id}", get(Products::get))
            .route("/page", get(page).post(echo))
            .route("/stamp", get(stamp))
            .route("/generic", get(generic::<Db>))
            .with_state(Db::default())
    }
}

#[test]
fn expansions_compile_and_route() {
    use std::time::{Duration, SystemTime};

    use etag_runtime::Versioned;

    let _ = app::router();
    let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1);
    assert!(app::Stamp(t).etag().is_weak());
    assert_eq!(app::Stamp(t).last_modified(), Some(t));
    let item = 5_u8;
    let tagged = app::Tagged {
        item: &item,
        version: "v1".to_owned(),
    };
    assert_eq!(tagged.etag().to_string(), "\"v1\"");
    assert_eq!(*tagged.item, 5);
}

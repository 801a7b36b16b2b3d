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
    use etag_runtime::version::VersionValue;
    use etag_runtime::write::Guard;
    use etag_runtime::{Conditions, Precondition, Versioned, etag};
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

    /// A model with the column types sqlx users store: a naive UTC timestamp version and
    /// a nullable change time.
    #[derive(Debug, Clone, Serialize, Versioned)]
    pub struct Note {
        /// Version.
        #[version]
        pub written: chrono::NaiveDateTime,
        /// Change time, when known.
        #[last_modified]
        pub edited: Option<chrono::DateTime<chrono::Utc>>,
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
    #[etag]
    pub async fn find(State(db): State<Db>, Path(id): Path<u32>) -> Option<Json<Product>> {
        load(&db, id).map(Json)
    }

    /// Write.
    #[etag(require_precondition)]
    pub async fn put_product(
        State(db): State<Db>,
        conditions: Conditions,
        Path(id): Path<u32>,
        Json(body): Json<Product>,
    ) -> Result<(StatusCode, Json<Product>), Precondition> {
        let (db, body) = (&db, &body);
        let (status, saved) = conditions
            .write(
                || async { Ok::<_, Precondition>(load(db, id)) },
                |guard| async move {
                    let mut map = db.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    let mut saved = body.clone();
                    let status = match guard {
                        Guard::Unchanged(current) | Guard::Exists(current) => {
                            if map.get(&id).map(|p| p.version) != Some(current.version) {
                                return Ok(None);
                            }
                            saved.version = current.version + 1;
                            StatusCode::OK
                        }
                        Guard::Absent => StatusCode::CREATED,
                    };
                    let _previous = map.insert(id, saved.clone());
                    Ok(Some((status, saved)))
                },
            )
            .await?;
        Ok((status, Json(saved)))
    }

    /// Hash, opaque.
    #[etag(hash(limit = 65_536))]
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

    /// No arguments, the body on one line, in braces of its own (kept as written).
    #[rustfmt::skip]
    #[etag]
    pub async fn one() -> Json<Note> { Json(Note { written: chrono::NaiveDateTime::MIN, edited: None }) }

    /// Hash mode, a `String` body.
    #[etag(hash)]
    pub async fn text() -> String {
        "plain".to_owned()
    }

    /// A list of models.
    #[etag]
    pub async fn notes() -> Json<Vec<Note>> {
        Json(vec![])
    }

    /// The application's own error type for the refusals.
    #[derive(Debug)]
    pub struct ApiError(Precondition);

    impl From<Precondition> for ApiError {
        fn from(refused: Precondition) -> Self {
            Self(refused)
        }
    }

    impl IntoResponse for ApiError {
        fn into_response(self) -> axum::response::Response {
            let title = self.0.title();
            self.0.respond_with(title)
        }
    }

    /// With `error = ...`.
    #[etag(require_precondition, error = ApiError)]
    pub async fn remove(conditions: Conditions) -> Result<StatusCode, ApiError> {
        conditions.require_precondition()?;
        Ok(StatusCode::NO_CONTENT)
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

    /// Under `#[debug_handler]`, in the one order that compiles.
    pub mod debug {
        // `#[debug_handler]`'s own checks call the handler with `panic!()` arguments and
        // copy its body into an `async fn` without `.await`: these two lints fire on them
        // with or without `#[etag]`.
        #![allow(clippy::diverging_sub_expression, clippy::unused_async)]

        use axum::Json;
        use axum::extract::{Path, State};
        use etag_runtime::etag;

        use super::{Db, Product, load};

        /// `#[etag]` first.
        #[etag]
        #[axum::debug_handler]
        pub async fn inner(State(db): State<Db>, Path(id): Path<u32>) -> Option<Json<Product>> {
            load(&db, id).map(Json)
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

        /// Associated, naming `Self`, generic.
        #[etag]
        pub async fn all<S: Send + Sync>(
            State(_state): State<S>,
        ) -> Result<Json<Vec<Product>>, Self> {
            Ok(Json(Vec::new()))
        }
    }

    impl IntoResponse for Products {
        fn into_response(self) -> axum::response::Response {
            StatusCode::NOT_FOUND.into_response()
        }
    }

    /// The router.
    pub fn router() -> Router {
        Router::new()
            .route("/products/{id}", get(get_product).put(put_product))
            .route("/find/{id}", get(find))
            .route("/debug/{id}", get(debug::inner))
            .route("/assoc/{id}", get(Products::get))
            .route("/assoc", get(Products::all::<Db>))
            .route("/one", get(one))
            .route("/text", get(text))
            .route("/notes", get(notes).delete(remove))
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

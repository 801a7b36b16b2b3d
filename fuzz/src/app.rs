//! The applications the request-level checks drive: real axum routers with `#[etag]`
//! handlers and the crate's layers, called in-process on one current-thread runtime.

use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::extract::{FromRef, FromRequestParts, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use etag_runtime::layer::{ETagLayer, EncodingTagsLayer};
use etag_runtime::principal::{Principal, TagKey};
use etag_runtime::write::Guard;
use etag_runtime::{Conditions, ETag, Precondition, Versioned, etag};
use http::header::{self, HeaderMap, HeaderName};
use http::request::Parts;
use http::{Request, StatusCode};
use tower::{ServiceBuilder, ServiceExt};
use tower_http::compression::CompressionLayer;

/// The one runtime of the process.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a current-thread runtime")
    })
}

/// A response, read whole.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Answer {
    pub(crate) fn header(&self, name: &HeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Sends one request through `app` and reads the whole response.
pub(crate) fn send(app: &Router, req: Request<Body>) -> Answer {
    runtime().block_on(async {
        let res = app
            .clone()
            .oneshot(req)
            .await
            .expect("a router never fails");
        let (parts, body) = res.into_parts();
        let body = axum::body::to_bytes(body, usize::MAX)
            .await
            .expect("an in-memory body reads");
        Answer {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    })
}

/// When the first version was made: 2026-11-25 12:00:00.300 UTC, sub-second on purpose.
pub(crate) fn base_time() -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(1_795_608_000_300)
}

/// The one resource of the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Doc {
    pub(crate) version: i64,
    pub(crate) modified: SystemTime,
    pub(crate) body: Bytes,
}

impl Versioned for Doc {
    fn etag(&self) -> ETag {
        ETag::from_version(&self.version)
    }
    fn last_modified(&self) -> Option<SystemTime> {
        Some(self.modified)
    }
}

impl IntoResponse for Doc {
    fn into_response(self) -> Response {
        (
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            self.body,
        )
            .into_response()
    }
}

#[derive(Debug)]
pub(crate) struct Rows {
    pub(crate) doc: Option<Doc>,
    /// The store-wide revision: a version never repeats, even after a delete.
    pub(crate) revision: i64,
}

/// The state the handlers share.
#[derive(Debug, Clone)]
pub(crate) struct Store(Arc<Mutex<Rows>>);

impl Store {
    /// A store holding version 1 of `body`.
    pub(crate) fn with(body: Bytes) -> Self {
        Self(Arc::new(Mutex::new(Rows {
            doc: Some(Doc {
                version: 1,
                modified: base_time(),
                body,
            }),
            revision: 1,
        })))
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Rows> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn doc(&self) -> Option<Doc> {
        self.lock().doc.clone()
    }
}

/// The cache fields of the 200, which its 304 must carry too (RFC 9110 section 15.4.5).
const CACHE_FIELDS: [(HeaderName, &str); 4] = [
    (header::CACHE_CONTROL, "max-age=60"),
    (header::VARY, "accept-language"),
    (header::EXPIRES, "Thu, 01 Jan 2099 00:00:00 GMT"),
    (header::CONTENT_LOCATION, "/doc"),
];

#[etag]
async fn read_doc(State(store): State<Store>) -> Option<([(HeaderName, &'static str); 4], Doc)> {
    store.doc().map(|doc| (CACHE_FIELDS, doc))
}

fn next_version(rows: &mut Rows, body: Bytes) -> Doc {
    rows.revision += 1;
    let offset = u64::try_from(rows.revision).unwrap_or(0);
    Doc {
        version: rows.revision,
        modified: base_time() + Duration::from_secs(offset),
        body,
    }
}

#[etag(require_precondition)]
async fn write_doc(
    State(store): State<Store>,
    conditions: Conditions,
    body: Bytes,
) -> Result<(StatusCode, Doc), Precondition> {
    let (store, body) = (&store, &body);
    conditions
        .write(
            || async { Ok::<_, Precondition>(store.lock().doc.clone()) },
            |guard| async move {
                let mut rows = store.lock();
                // The guarded statement: nothing written when the guard no longer holds.
                let found = rows.doc.as_ref().map(|doc| doc.version);
                let status = match (&guard, found) {
                    (Guard::Absent, None) => StatusCode::CREATED,
                    (Guard::Exists(_), Some(_)) => StatusCode::OK,
                    (Guard::Unchanged(read), Some(v)) if v == read.version => StatusCode::OK,
                    _ => return Ok(None),
                };
                let doc = next_version(&mut rows, body.clone());
                rows.doc = Some(doc.clone());
                Ok(Some((status, doc)))
            },
        )
        .await
}

#[etag(require_precondition)]
async fn delete_doc(
    State(store): State<Store>,
    conditions: Conditions,
) -> Result<StatusCode, Precondition> {
    let mut rows = store.lock();
    let Some(current) = rows.doc.clone() else {
        return Ok(StatusCode::NOT_FOUND);
    };
    // Under the lock, nothing can change between the check and the write.
    conditions.evaluate(Some(&current.validators()))?;
    rows.doc = None;
    rows.revision += 1;
    Ok(StatusCode::NO_CONTENT)
}

/// A route without a model: `ETagLayer` tags it by its body.
async fn hashed(State(store): State<Store>) -> Response {
    match store.doc() {
        Some(doc) => doc.into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// `/doc` (`#[etag]` read, conditional write and delete) and `/hashed` (`ETagLayer`),
/// behind `EncodingTagsLayer` and tower-http's `CompressionLayer`, in the documented order.
pub(crate) fn doc_app(store: Store) -> Router {
    Router::new()
        .route("/doc", get(read_doc).put(write_doc).delete(delete_doc))
        .route("/hashed", get(hashed).layer(ETagLayer::new()))
        .layer(
            ServiceBuilder::new()
                .layer(EncodingTagsLayer::new())
                .layer(CompressionLayer::new()),
        )
        .with_state(store)
}

/// The principal: whatever `Authorization` holds, as bytes; no field is a 401.
pub(crate) struct Caller(Vec<u8>);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = StatusCode;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, StatusCode> {
        match parts.headers.get(header::AUTHORIZATION) {
            Some(v) => Ok(Self(v.as_bytes().to_vec())),
            None => Err(StatusCode::UNAUTHORIZED),
        }
    }
}

impl Principal for Caller {
    const VARY: &'static [HeaderName] = &[header::AUTHORIZATION];

    fn id(&self) -> impl AsRef<[u8]> {
        self.0.clone()
    }
}

#[derive(Clone)]
pub(crate) struct UserApp {
    key: TagKey,
    store: Store,
}

impl FromRef<UserApp> for TagKey {
    fn from_ref(app: &UserApp) -> Self {
        app.key.clone()
    }
}

#[etag(per_user = caller)]
async fn inbox(State(app): State<UserApp>, caller: Caller) -> Option<Doc> {
    let mut doc = app.store.doc()?;
    let mut body = b"inbox of ".to_vec();
    body.extend_from_slice(&caller.0);
    doc.body = body.into();
    Some(doc)
}

#[etag(per_user = caller)]
async fn write_inbox(
    State(app): State<UserApp>,
    caller: Caller,
    conditions: Conditions,
) -> Result<StatusCode, Precondition> {
    let _ = &caller;
    let mut rows = app.store.lock();
    let Some(current) = rows.doc.clone() else {
        return Ok(StatusCode::NOT_FOUND);
    };
    // Under the lock, nothing can change between the check and the write.
    conditions.evaluate(Some(&current.validators()))?;
    let body = current.body.clone();
    let doc = next_version(&mut rows, body);
    rows.doc = Some(doc);
    Ok(StatusCode::NO_CONTENT)
}

/// `/inbox` (`#[etag(per_user = caller)]`, read and conditional write) and `/layer`
/// (`ETagLayer::per_user`), with the per-user key made from `secret`.
pub(crate) fn user_app(secret: &[u8], store: Store) -> Router {
    let key = TagKey::new(secret);
    Router::new()
        .route("/inbox", get(inbox).put(write_inbox))
        .route(
            "/layer",
            get(hashed_inbox).layer(ETagLayer::new().per_user::<Caller, _>(key.clone())),
        )
        .with_state(UserApp { key, store })
}

async fn hashed_inbox(State(app): State<UserApp>) -> Response {
    hashed(State(app.store)).await
}

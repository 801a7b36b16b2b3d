// A small products server on loopback, for the doc examples and the tests that need no
// database: `/products/{id}` answers GET with `ETag`, `Cache-Control: no-cache` and 304 for
// a matching `If-None-Match`, and PUT with `If-Match` (412 when stale), `If-None-Match: *`
// (412 when the product exists) or neither (428), as an etag-runtime server does.
// `/restless` changes on every read, so every write to it meets a 412.
//
// Included by the doc examples (`include!`) as well as by the tests (`mod common`), so no
// inner attributes here.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// A server on a free loopback port, stopped when dropped.
pub(crate) struct Running {
    /// `http://127.0.0.1:PORT`
    pub(crate) base: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves `app` on a free loopback port.
pub(crate) async fn serve(app: Router) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let base = format!("http://{}", listener.local_addr().expect("an address"));
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Running { base, task }
}

/// What the products server has answered.
#[derive(Debug, Default)]
pub(crate) struct Counts {
    requests: AtomicUsize,
    not_modified: AtomicUsize,
}

impl Counts {
    /// Requests of any kind.
    pub(crate) fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// 304s.
    pub(crate) fn not_modified(&self) -> usize {
        self.not_modified.load(Ordering::SeqCst)
    }
}

#[derive(Default)]
struct Rows {
    /// id -> (version, JSON object)
    products: HashMap<String, (u64, serde_json::Value)>,
    /// One revision for the store, so that no version repeats.
    revision: u64,
    restless: u64,
}

#[derive(Clone)]
struct Shop {
    rows: Arc<Mutex<Rows>>,
    counts: Arc<Counts>,
}

/// The products server, with product 1 (`{"id": "1", "name": "Wireless Mouse", "price":
/// 29.99, "version": 1}`) in it.
pub(crate) struct Products {
    /// `http://127.0.0.1:PORT`
    pub(crate) base: String,
    pub(crate) counts: Arc<Counts>,
    _running: Running,
}

impl Products {
    pub(crate) async fn start() -> Self {
        let mut rows = Rows {
            revision: 1,
            ..Rows::default()
        };
        rows.products.insert(
            "1".to_owned(),
            (
                1,
                serde_json::json!({"id": "1", "name": "Wireless Mouse", "price": 29.99, "version": 1}),
            ),
        );
        let shop = Shop {
            rows: Arc::new(Mutex::new(rows)),
            counts: Arc::new(Counts::default()),
        };
        let counts = Arc::clone(&shop.counts);
        let app = Router::new()
            .route("/products/{id}", get(get_product).put(put_product))
            .route("/restless", get(get_restless).put(put_restless))
            .with_state(shop);
        let running = serve(app).await;
        Self {
            base: running.base.clone(),
            counts,
            _running: running,
        }
    }
}

fn tag(version: u64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).expect("a tag")
}

/// Whether `field` (`If-None-Match` or `If-Match`) lists `current`: weakly for reads,
/// strongly for writes.
fn lists(field: &HeaderValue, current: &HeaderValue, weak: bool) -> bool {
    let Ok(field) = field.to_str() else {
        return false;
    };
    let Ok(current) = current.to_str() else {
        return false;
    };
    field.split(',').map(str::trim).any(|listed| {
        listed == "*" || listed == current || (weak && listed.strip_prefix("W/") == Some(current))
    })
}

fn problem(status: StatusCode, detail: &str) -> Response {
    let body = serde_json::json!({"title": status.to_string(), "status": status.as_u16(), "detail": detail});
    (
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        body.to_string(),
    )
        .into_response()
}

fn representation(status: StatusCode, version: u64, body: &serde_json::Value) -> Response {
    (
        status,
        [
            (header::ETAG, tag(version)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
        ],
        body.to_string(),
    )
        .into_response()
}

fn read(counts: &Counts, headers: &HeaderMap, version: u64, body: &serde_json::Value) -> Response {
    let current = tag(version);
    if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|field| lists(field, &current, true))
    {
        counts.not_modified.fetch_add(1, Ordering::SeqCst);
        return (
            StatusCode::NOT_MODIFIED,
            [
                (header::ETAG, current),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            ],
        )
            .into_response();
    }
    representation(StatusCode::OK, version, body)
}

async fn get_product(
    State(shop): State<Shop>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    shop.counts.requests.fetch_add(1, Ordering::SeqCst);
    let rows = shop.rows.lock().expect("not poisoned");
    match rows.products.get(&id) {
        Some((version, body)) => read(&shop.counts, &headers, *version, body),
        None => problem(StatusCode::NOT_FOUND, &format!("There is no product {id}.")),
    }
}

async fn put_product(
    State(shop): State<Shop>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    shop.counts.requests.fetch_add(1, Ordering::SeqCst);
    let Ok(serde_json::Value::Object(mut fields)) = serde_json::from_slice(&body) else {
        return problem(StatusCode::UNPROCESSABLE_ENTITY, "Send a JSON object.");
    };
    let mut rows = shop.rows.lock().expect("not poisoned");
    let current = rows.products.get(&id).map(|(version, _)| tag(*version));
    let status = match (
        headers.get(header::IF_MATCH),
        headers.get(header::IF_NONE_MATCH),
    ) {
        (Some(if_match), _) => match &current {
            Some(current) if lists(if_match, current, false) => StatusCode::OK,
            _ => {
                return problem(
                    StatusCode::PRECONDITION_FAILED,
                    "The product changed since you read it: read it again and re-apply your change.",
                );
            }
        },
        (None, Some(any)) if any == "*" => match current {
            None => StatusCode::CREATED,
            Some(_) => {
                return problem(StatusCode::PRECONDITION_FAILED, "The product exists.");
            }
        },
        _ => {
            return problem(
                StatusCode::PRECONDITION_REQUIRED,
                "Send the product's ETag in If-Match, or If-None-Match: * to create it.",
            );
        }
    };
    rows.revision += 1;
    let version = rows.revision;
    fields.insert("id".to_owned(), id.clone().into());
    fields.insert("version".to_owned(), version.into());
    let product = serde_json::Value::Object(fields);
    rows.products.insert(id, (version, product.clone()));
    representation(status, version, &product)
}

async fn get_restless(State(shop): State<Shop>, headers: HeaderMap) -> Response {
    shop.counts.requests.fetch_add(1, Ordering::SeqCst);
    let mut rows = shop.rows.lock().expect("not poisoned");
    rows.restless += 1;
    let version = rows.restless;
    read(
        &shop.counts,
        &headers,
        version,
        &serde_json::json!({"version": version}),
    )
}

async fn put_restless(State(shop): State<Shop>) -> Response {
    shop.counts.requests.fetch_add(1, Ordering::SeqCst);
    // Another writer always got there first.
    problem(
        StatusCode::PRECONDITION_FAILED,
        "Changed since you read it.",
    )
}

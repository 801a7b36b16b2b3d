// A small products server on loopback, for the doc examples and the tests that need no
// database: `/products/{id}` answers GET with `ETag`, `Cache-Control: no-cache` and 304 for
// a matching `If-None-Match`, and PUT with `If-Match` (412 when stale), `If-None-Match: *`
// (412 when the product exists) or neither (428), as an etag-runtime server does.
// `/restless` changes on every read, so every write to it meets a 412. `Watched` serves a
// document that a watch can wait on (`Prefer: wait`), with switches that make it fail.
//
// Included by the doc examples (`include!`) as well as by the tests (`mod common`), so no
// inner attributes here.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
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

/// The longest `Watched` holds a request, in seconds.
const MAX_WAIT: u64 = 30;

/// A document at `/doc`, `version N` with `ETag: "N"` and `Cache-Control: no-cache`, that
/// a watch can wait on, as etag-runtime answers with waits: a GET whose `If-None-Match`
/// matches and that carries `Prefer: wait=N` is held until the document changes (200, the
/// new version), is deleted (404) or is woken without a change (304), or for N seconds at
/// most (30), less up to a sixteenth at random (304); all of these answers carry
/// `Preference-Applied: wait=N`. Without `Prefer`, or when the tag does not match, it
/// answers at once, without `Preference-Applied`. Switches make it a server that does not
/// wait, one that says it waited but answers at once, or one whose answers fail.
#[derive(Clone)]
pub(crate) struct Watched {
    base: String,
    doc: Arc<Doc>,
    _running: Arc<Running>,
}

/// One request to `/doc` and its answer.
#[derive(Debug, Clone)]
pub(crate) struct Logged {
    pub(crate) if_none_match: Option<String>,
    pub(crate) prefer: Option<String>,
    /// The status sent; 200 for an answer whose body broke off.
    pub(crate) status: u16,
    /// Its `Preference-Applied`, if any.
    pub(crate) applied: Option<String>,
    /// Whether the body broke off, the connection closed in the middle of it.
    pub(crate) cut: bool,
}

/// What `/doc` sends in place of its answer.
enum Sabotage {
    Status(StatusCode),
    Cut,
}

struct Doc {
    /// The current version; `None` once deleted.
    version: tokio::sync::watch::Sender<Option<u64>>,
    /// Wakes every held request without a change: each answers 304.
    nudge: tokio::sync::Notify,
    cache_control: Mutex<&'static str>,
    ignore_prefer: AtomicBool,
    hasty: AtomicBool,
    sabotage: Mutex<VecDeque<Sabotage>>,
    /// Requests as they arrive.
    arrived: AtomicUsize,
    /// Requests held now.
    held: AtomicUsize,
    log: Mutex<Vec<Logged>>,
}

impl Watched {
    /// The document at version 1.
    pub(crate) async fn start() -> Self {
        let doc = Arc::new(Doc {
            version: tokio::sync::watch::Sender::new(Some(1)),
            nudge: tokio::sync::Notify::new(),
            cache_control: Mutex::new("no-cache"),
            ignore_prefer: AtomicBool::new(false),
            hasty: AtomicBool::new(false),
            sabotage: Mutex::new(VecDeque::new()),
            arrived: AtomicUsize::new(0),
            held: AtomicUsize::new(0),
            log: Mutex::new(Vec::new()),
        });
        let app = Router::new()
            .route("/doc", get(watched_doc))
            .with_state(Arc::clone(&doc));
        let running = serve(app).await;
        Self {
            base: running.base.clone(),
            doc,
            _running: Arc::new(running),
        }
    }

    /// `http://127.0.0.1:PORT/doc`
    pub(crate) fn url(&self) -> String {
        format!("{}/doc", self.base)
    }

    /// A new version, which every held request answers.
    pub(crate) fn change(&self) {
        self.doc.version.send_modify(|version| {
            if let Some(version) = version {
                *version += 1;
            }
        });
    }

    /// Deletes the document: 404 from now on, and to every held request.
    pub(crate) fn delete(&self) {
        self.doc.version.send_replace(None);
    }

    /// Wakes every held request without a change: each answers 304.
    pub(crate) fn nudge(&self) {
        self.doc.nudge.notify_waiters();
    }

    /// The `Cache-Control` of its answers (default `no-cache`).
    pub(crate) fn cache_control(&self, value: &'static str) {
        *self.doc.cache_control.lock().expect("not poisoned") = value;
    }

    /// Answers as a server without waits does (or one that cannot wait now): at once, a
    /// 304 without `Preference-Applied`.
    pub(crate) fn ignore_prefer(&self, ignore: bool) {
        self.doc.ignore_prefer.store(ignore, Ordering::SeqCst);
    }

    /// Answers a request it would hold at once, yet with `Preference-Applied`, as a server
    /// shutting down does to its waiters.
    pub(crate) fn hasty(&self, hasty: bool) {
        self.doc.hasty.store(hasty, Ordering::SeqCst);
    }

    /// The next answers, one each, are these statuses instead (after any wait).
    pub(crate) fn fail_with(&self, statuses: impl IntoIterator<Item = StatusCode>) {
        let mut sabotage = self.doc.sabotage.lock().expect("not poisoned");
        sabotage.extend(statuses.into_iter().map(Sabotage::Status));
    }

    /// The next answer (after any wait) breaks off in its body, and its connection closes.
    pub(crate) fn cut(&self) {
        let mut sabotage = self.doc.sabotage.lock().expect("not poisoned");
        sabotage.push_back(Sabotage::Cut);
    }

    /// Requests that arrived, answered or not.
    pub(crate) fn arrived(&self) -> usize {
        self.doc.arrived.load(Ordering::SeqCst)
    }

    /// Returns once a request is held.
    pub(crate) async fn until_held(&self) {
        while self.doc.held.load(Ordering::SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// The requests answered, in order.
    pub(crate) fn log(&self) -> Vec<Logged> {
        self.doc.log.lock().expect("not poisoned").clone()
    }
}

/// The seconds of a `wait` preference in `Prefer`.
fn wait_of(prefer: &str) -> Option<u64> {
    prefer.split(',').find_map(|preference| {
        let (name, value) = preference.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("wait") {
            return None;
        }
        value.trim().parse().ok()
    })
}

impl Doc {
    fn version_answer(&self, status: StatusCode, tag: &str, body: Option<u64>) -> Response {
        let cache_control = *self.cache_control.lock().expect("not poisoned");
        let fields = [
            (header::ETAG, HeaderValue::from_str(tag).expect("a tag")),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static(cache_control),
            ),
        ];
        match body {
            Some(version) => (status, fields, format!("version {version}")).into_response(),
            None => (status, fields).into_response(),
        }
    }

    /// The answer to a GET, after any wait.
    async fn answer(&self, if_none_match: Option<&str>, prefer: Option<&str>) -> Response {
        let mut changes = self.version.subscribe();
        let Some(version) = *changes.borrow_and_update() else {
            return problem(StatusCode::NOT_FOUND, "There is no document.");
        };
        let tag = format!("\"{version}\"");
        if if_none_match != Some(tag.as_str()) {
            return self.version_answer(StatusCode::OK, &tag, Some(version));
        }
        let wait = prefer
            .and_then(wait_of)
            .map(|seconds| seconds.min(MAX_WAIT))
            .filter(|_| !self.ignore_prefer.load(Ordering::SeqCst));
        let Some(wait) = wait else {
            return self.version_answer(StatusCode::NOT_MODIFIED, &tag, None);
        };
        if !self.hasty.load(Ordering::SeqCst) {
            let nudged = self.nudge.notified();
            let hold = Duration::from_secs(wait).mul_f64(1.0 - fastrand::f64() / 16.0);
            let _held = Held::new(&self.held);
            tokio::select! {
                _ = changes.wait_for(|now| *now != Some(version)) => {}
                () = nudged => {}
                () = tokio::time::sleep(hold) => {}
            }
        }
        let now = *self.version.borrow();
        let mut response = match now {
            None => problem(StatusCode::NOT_FOUND, "The document was deleted."),
            Some(now) if now != version => {
                self.version_answer(StatusCode::OK, &format!("\"{now}\""), Some(now))
            }
            Some(_) => self.version_answer(StatusCode::NOT_MODIFIED, &tag, None),
        };
        let applied = HeaderValue::from_str(&format!("wait={wait}")).expect("a value");
        response
            .headers_mut()
            .insert(HeaderName::from_static("preference-applied"), applied);
        response
    }
}

/// Counts a held request for as long as it lives, also when its client goes away.
struct Held<'a>(&'a AtomicUsize);

impl<'a> Held<'a> {
    fn new(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Self(count)
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn watched_doc(State(doc): State<Arc<Doc>>, headers: HeaderMap) -> Response {
    doc.arrived.fetch_add(1, Ordering::SeqCst);
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    };
    let if_none_match = text("if-none-match");
    let prefer = text("prefer");
    let mut response = doc
        .answer(if_none_match.as_deref(), prefer.as_deref())
        .await;
    let sabotage = doc.sabotage.lock().expect("not poisoned").pop_front();
    let cut = matches!(sabotage, Some(Sabotage::Cut));
    match sabotage {
        Some(Sabotage::Status(status)) => response = problem(status, "Not now."),
        Some(Sabotage::Cut) => {
            let chunks: [Result<Bytes, std::io::Error>; 2] = [
                Ok(Bytes::from_static(b"versi")),
                Err(std::io::Error::other("the connection breaks")),
            ];
            let body = axum::body::Body::from_stream(futures_util::stream::iter(chunks));
            response = (StatusCode::OK, body).into_response();
        }
        None => {}
    }
    let applied = response
        .headers()
        .get("preference-applied")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    doc.log.lock().expect("not poisoned").push(Logged {
        if_none_match,
        prefer,
        status: response.status().as_u16(),
        applied,
        cut,
    });
    response
}

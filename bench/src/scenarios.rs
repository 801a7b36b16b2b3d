//! The in-process scenarios: requests through a real `axum::Router` with `oneshot`.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use bytes::Bytes;
use etag_runtime::layer::ETagLayer;
use etag_runtime::{Conditions, ETag, Validators, Versioned, etag};
use headers::HeaderMapExt as _;
use http_body_util::BodyExt as _;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tower::ServiceExt as _;

use crate::harness::{Budget, Comparison, compare, time};
use crate::report::{Figure, Goal};

/// A representative product: about 10 KB of JSON.
#[derive(Debug, Clone, Serialize, Versioned)]
pub(crate) struct Product {
    id: i64,
    name: String,
    description: String,
    tags: Vec<String>,
    price_cents: i64,
    #[version]
    version: i64,
    #[last_modified]
    updated_at: SystemTime,
}

impl Product {
    fn sample(id: i64) -> Self {
        Self {
            id,
            name: format!("Wireless Mouse {id}"),
            description: "An ergonomic wireless mouse with a silent click. ".repeat(160),
            tags: (0..100).map(|i| format!("tag-{i}")).collect(),
            price_cents: 2_999,
            version: 7,
            updated_at: SystemTime::UNIX_EPOCH + Duration::from_millis(1_764_079_387_123),
        }
    }
}

/// Shares one value between requests; serializes and versions as the value.
#[derive(Debug)]
pub(crate) struct Shared<T>(Arc<T>);

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<T: Serialize> Serialize for Shared<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<T: Versioned> Versioned for Shared<T> {
    fn etag(&self) -> ETag {
        self.0.etag()
    }
    fn last_modified(&self) -> Option<SystemTime> {
        self.0.last_modified()
    }
    // The derive's hook (not public API), forwarded as the runtime's own wrappers do.
    fn fingerprint(&self, out: &mut etag_runtime::__private::Fingerprint) {
        self.0.fingerprint(out);
    }
}

/// A small row, as in a list endpoint: about 170 bytes of JSON.
#[derive(Debug, Clone, Serialize, Versioned)]
pub(crate) struct SmallRow {
    id: i64,
    name: String,
    sku: String,
    price_cents: i64,
    stock: i64,
    #[version]
    version: i64,
    #[last_modified]
    #[serde(serialize_with = "unix_millis")]
    updated_at: SystemTime,
}

fn unix_millis<S: serde::Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    let ms = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    s.serialize_u128(ms)
}

impl SmallRow {
    fn sample(id: i64) -> Self {
        Self {
            id,
            name: format!("Wireless Mouse, silent click, model {id:05}"),
            sku: format!("WM-{id:08}-BLK-2026"),
            price_cents: 2_999 + id,
            stock: 40 + id % 17,
            version: 1 + id % 5,
            updated_at: SystemTime::UNIX_EPOCH
                + Duration::from_millis(1_764_079_387_123 + id as u64),
        }
    }
}

/// The handlers' state, shared as applications share theirs: one reference count per
/// request, whatever it holds.
type AppState = Arc<Data>;

struct Data {
    product: Shared<Product>,
    list: Shared<Vec<Product>>,
    small: Shared<Vec<SmallRow>>,
    list_validators: Validators,
    blob: Bytes,
}

#[etag]
async fn item_etag(State(s): State<AppState>) -> Json<Shared<Product>> {
    Json(s.product.clone())
}

async fn item_plain(State(s): State<AppState>) -> Json<Shared<Product>> {
    Json(s.product.clone())
}

#[etag]
async fn list_etag(State(s): State<AppState>) -> Json<Shared<Vec<Product>>> {
    Json(s.list.clone())
}

async fn list_plain(State(s): State<AppState>) -> Json<Shared<Vec<Product>>> {
    Json(s.list.clone())
}

#[etag]
async fn small_etag(State(s): State<AppState>) -> Json<Shared<Vec<SmallRow>>> {
    Json(s.small.clone())
}

async fn small_plain(State(s): State<AppState>) -> Json<Shared<Vec<SmallRow>>> {
    Json(s.small.clone())
}

/// The list tag users write by hand: the count and the highest version. It misses a member
/// replaced by one at a lower version; it is the cost to compare with.
async fn small_hand_written(State(s): State<AppState>, headers: HeaderMap) -> Response {
    let rows = &s.small.0;
    let max = rows.iter().map(|r| r.version).max().unwrap_or(0);
    let tag = format!("\"{}-{max}\"", rows.len());
    let Ok(tag) = HeaderValue::from_str(&tag) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if headers.get(header::IF_NONE_MATCH) == Some(&tag) {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, tag)]).into_response();
    }
    ([(header::ETAG, tag)], Json(s.small.clone())).into_response()
}

/// The list with validators computed before the load, as `GET /products` does in the example.
#[etag]
async fn list_early(
    conditions: Conditions,
    State(s): State<AppState>,
) -> Result<etag_runtime::WithValidators<Json<Shared<Vec<Product>>>>, etag_runtime::Precondition> {
    let checked = conditions.check(s.list_validators.clone())?;
    Ok(checked.respond(Json(s.list.clone())))
}

/// The floor: an empty 304 with a fixed ETag and nothing else.
async fn floor_304() -> Response {
    (
        StatusCode::NOT_MODIFIED,
        [(header::ETAG, HeaderValue::from_static("\"7\""))],
    )
        .into_response()
}

/// The same GET as `item_etag`, written by hand with the `headers` crate's typed headers.
async fn hand_written(State(s): State<AppState>, headers: HeaderMap) -> Response {
    let product = &s.product.0;
    let Ok(etag) = format!("\"{}\"", product.version).parse::<headers::ETag>() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if let Some(if_none_match) = headers.typed_get::<headers::IfNoneMatch>()
        && !if_none_match.precondition_passes(&etag)
    {
        let mut res = StatusCode::NOT_MODIFIED.into_response();
        res.headers_mut().typed_insert(etag);
        return res;
    }
    let mut res = Json(s.product.clone()).into_response();
    res.headers_mut().typed_insert(etag);
    res.headers_mut()
        .typed_insert(headers::LastModified::from(product.updated_at));
    res
}

/// 1 MiB with validators from a version: the body a range request slices.
#[etag]
async fn blob(
    conditions: Conditions,
    State(s): State<AppState>,
) -> Result<etag_runtime::WithValidators<Bytes>, etag_runtime::Precondition> {
    let checked = conditions.check(Validators::new().with_etag(ETag::from_version(&9_u8)))?;
    Ok(checked.respond(s.blob.clone()))
}

#[etag(hash)]
async fn hash_etag(State(s): State<AppState>) -> Bytes {
    s.blob.clone()
}

/// The floor for hashing: the same bytes and one SHA-256 of them.
async fn hash_floor(State(s): State<AppState>) -> Response {
    let digest = Sha256::digest(&s.blob);
    let tag = format!("\"{:x}\"", digest);
    let mut res = s.blob.clone().into_response();
    if let Ok(v) = HeaderValue::from_str(&tag) {
        res.headers_mut().insert(header::ETAG, v);
    }
    res
}

pub(crate) fn router() -> Router {
    let list: Vec<Product> = (0..1_000).map(Product::sample).collect();
    let list_validators = list.validators();
    let state = Arc::new(Data {
        product: Shared(Arc::new(Product::sample(1))),
        list: Shared(Arc::new(list)),
        small: Shared(Arc::new((0..1_000).map(SmallRow::sample).collect())),
        list_validators,
        blob: Bytes::from(vec![0x5a; 1 << 20]),
    });
    Router::new()
        .route("/item/etag", get(item_etag))
        .route("/item/plain", get(item_plain))
        .route("/item/hand", get(hand_written))
        // The plain handler behind the body-hash layer: no model, no annotation.
        .route("/item/layer", get(item_plain).layer(ETagLayer::new()))
        .route("/list/etag", get(list_etag))
        .route("/list/plain", get(list_plain))
        .route("/list/early", get(list_early))
        .route("/small/etag", get(small_etag))
        .route("/small/plain", get(small_plain))
        .route("/small/hand", get(small_hand_written))
        .route("/floor", get(floor_304))
        .route("/hash/etag", get(hash_etag))
        .route("/blob", get(blob))
        .route("/hash/floor", get(hash_floor))
        .with_state(state)
}

/// One request through the router, body drained; returns the status.
pub(crate) async fn call(
    app: &Router,
    uri: &str,
    if_none_match: Option<&HeaderValue>,
) -> StatusCode {
    let mut req = Request::get(uri);
    if let Some(tag) = if_none_match {
        req = req.header(header::IF_NONE_MATCH, tag);
    }
    // `/blob?range` asks for its first KiB.
    if uri.ends_with("?range") {
        req = req.header(header::RANGE, "bytes=0-1023");
    }
    let Ok(req) = req.body(Body::empty()) else {
        return StatusCode::BAD_REQUEST;
    };
    let Ok(res) = app.clone().oneshot(req).await;
    let status = res.status();
    let _ = res.into_body().collect().await;
    status
}

struct Bench {
    rt: tokio::runtime::Runtime,
    app: Router,
    budget: Budget,
}

impl Bench {
    /// A closure that sends `iterations` requests and returns the elapsed time, after
    /// checking once that the request gets the status the scenario is about.
    fn requests<'a>(
        &'a self,
        uri: &'a str,
        tag: Option<&'a HeaderValue>,
        expect: StatusCode,
    ) -> impl FnMut(u64) -> Duration + 'a {
        let got = self.rt.block_on(call(&self.app, uri, tag));
        assert_eq!(got, expect, "{uri} with If-None-Match {tag:?}");
        move |iterations| {
            self.rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iterations {
                    call(&self.app, uri, tag).await;
                }
                start.elapsed()
            })
        }
    }

    fn compare(
        &self,
        base: (&str, Option<&HeaderValue>, StatusCode),
        cand: (&str, Option<&HeaderValue>, StatusCode),
    ) -> Comparison {
        compare(
            self.budget,
            self.requests(base.0, base.1, base.2),
            self.requests(cand.0, cand.1, cand.2),
        )
    }
}

fn etag_of(v: &impl Versioned) -> HeaderValue {
    v.etag().into()
}

/// The current tags of the product, of the small-row list, and the hand-written tag of
/// that list, as header text.
pub(crate) fn current_tags() -> (String, String, String) {
    let small: Vec<SmallRow> = (0..1_000).map(SmallRow::sample).collect();
    let max = small.iter().map(|r| r.version).max().unwrap_or(0);
    (
        Product::sample(1).etag().to_string(),
        small.etag().to_string(),
        format!("\"{}-{max}\"", small.len()),
    )
}

pub(crate) fn run(budget: Budget, figures: &mut Vec<Figure>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime");
    let bench = Bench {
        rt,
        app: router(),
        budget,
    };
    let item_tag = etag_of(&Product::sample(1));
    let list: Vec<Product> = (0..1_000).map(Product::sample).collect();
    let list_tag = etag_of(&list);
    let ok = StatusCode::OK;
    let nm = StatusCode::NOT_MODIFIED;

    let c = bench.compare(("/item/plain", None, ok), ("/item/etag", None, ok));
    figures.push(Figure::ratio(
        "etag_200_overhead",
        c,
        "the same handler without #[etag]",
        Goal::AtMost(1.03),
    ));

    let c = bench.compare(
        ("/item/etag", None, ok),
        ("/item/etag", Some(&item_tag), nm),
    );
    figures.push(Figure::ratio(
        "etag_304_vs_200",
        c,
        "the #[etag] 200 of the 10 KB product",
        Goal::AtMost(0.5),
    ));

    let c = bench.compare(
        ("/list/etag", None, ok),
        ("/list/etag", Some(&list_tag), nm),
    );
    figures.push(Figure::ratio(
        "etag_304_vs_200_list",
        c,
        "the #[etag] 200 of the 1,000-product list",
        Goal::AtMost(0.5),
    ));

    let c = bench.compare(
        ("/list/etag", None, ok),
        ("/list/early", Some(&list_tag), nm),
    );
    figures.push(Figure::ratio(
        "etag_304_vs_200_list_early",
        c,
        "the #[etag] 200 of the list, validators checked first",
        Goal::AtMost(0.5),
    ));

    let floor_tag = HeaderValue::from_static("\"7\"");
    let c = bench.compare(
        ("/floor", Some(&floor_tag), nm),
        ("/item/etag", Some(&item_tag), nm),
    );
    figures.push(Figure::ratio(
        "etag_304_vs_floor",
        c,
        "a bare handler returning an empty 304 with a fixed ETag",
        Goal::AtMost(1.15),
    ));

    let c = bench.compare(("/item/hand", None, ok), ("/item/etag", None, ok));
    figures.push(Figure::ratio(
        "vs_hand_written_200",
        c,
        "the same GET by hand with the headers crate",
        Goal::AtMost(1.0),
    ));

    let c = bench.compare(
        ("/item/hand", Some(&item_tag), nm),
        ("/item/etag", Some(&item_tag), nm),
    );
    figures.push(Figure::ratio(
        "vs_hand_written_304",
        c,
        "the same 304 by hand with the headers crate",
        Goal::AtMost(1.0),
    ));

    let c = bench.compare(
        ("/blob", None, ok),
        ("/blob?range", None, StatusCode::PARTIAL_CONTENT),
    );
    figures.push(Figure::ratio(
        "range_206_1kib_of_1mib",
        c,
        "the full 200 of the same 1 MiB in process, where the 206's saving (1 KiB sent instead of 1 MiB) is not seen: the cost of slicing",
        Goal::Info,
    ));

    let c = bench.compare(("/hash/floor", None, ok), ("/hash/etag", None, ok));
    figures.push(Figure::ratio(
        "hash_1mib",
        c,
        "a plain handler plus one SHA-256 of the same 1 MiB",
        Goal::AtMost(1.10),
    ));

    let small: Vec<SmallRow> = (0..1_000).map(SmallRow::sample).collect();
    let small_tag = etag_of(&small);
    let c = bench.compare(("/small/plain", None, ok), ("/small/etag", None, ok));
    figures.push(Figure::ratio(
        "list_200_overhead_small_rows",
        c,
        "the same 1,000 rows of ~170 bytes from plain Json",
        Goal::AtMost(1.05),
    ));
    let max = small.iter().map(|r| r.version).max().unwrap_or(0);
    let hand_tag =
        HeaderValue::from_str(&format!("\"{}-{max}\"", small.len())).expect("a header value");
    let c = bench.compare(
        ("/small/hand", Some(&hand_tag), nm),
        ("/small/etag", Some(&small_tag), nm),
    );
    figures.push(Figure::ratio(
        "list_304_vs_hand_written",
        c,
        "a hand-written 304 of the same list, tagged by count and highest version",
        Goal::AtMost(3.0),
    ));

    layer(&bench, &item_tag, figures);
    parse_eval(budget, figures);
    collection_scaling(budget, figures);
    allocs_304(&bench, &item_tag, figures);
}

/// `ETagLayer` on the 10 KB product's plain handler: its 200 against the handler alone,
/// its 304 against its own 200, and its 304 against the 304 `#[etag]` makes from the
/// version. The layer renders and hashes the body before it can answer; `#[etag]` does not.
fn layer(bench: &Bench, item_tag: &HeaderValue, figures: &mut Vec<Figure>) {
    let ok = StatusCode::OK;
    let nm = StatusCode::NOT_MODIFIED;
    let layer_tag = etag_of_response(bench, "/item/layer");

    let c = bench.compare(("/item/plain", None, ok), ("/item/layer", None, ok));
    figures.push(Figure::ratio(
        "layer_200_overhead",
        c,
        "the same handler without the layer",
        Goal::AtMost(1.25),
    ));

    let c = bench.compare(
        ("/item/layer", None, ok),
        ("/item/layer", Some(&layer_tag), nm),
    );
    figures.push(Figure::ratio(
        "layer_304_vs_200",
        c,
        "the layer's 200 of the 10 KB product",
        Goal::Info,
    ));

    let c = bench.compare(
        ("/item/etag", Some(item_tag), nm),
        ("/item/layer", Some(&layer_tag), nm),
    );
    figures.push(Figure::ratio(
        "layer_304_vs_etag_304",
        c,
        "the #[etag] 304 of the same product, decided from its version",
        Goal::Info,
    ));
}

/// The `ETag` a route answers a plain GET with.
fn etag_of_response(bench: &Bench, uri: &str) -> HeaderValue {
    bench.rt.block_on(async {
        let req = Request::get(uri)
            .body(Body::empty())
            .expect("a valid request");
        let Ok(res) = bench.app.clone().oneshot(req).await;
        res.headers()
            .get(header::ETAG)
            .cloned()
            .expect("the layer tags the response")
    })
}

/// One-member `If-None-Match` parsed and evaluated once, by the crate (`ours`) or by the
/// `headers` crate: what `parse_eval_1` times, for the callgrind child.
pub(crate) fn parse_eval_once(ours: bool) {
    thread_local! {
        static SET_UP: (HeaderMap, Validators, headers::ETag) = {
            let mut headers = HeaderMap::new();
            headers.insert(header::IF_NONE_MATCH, HeaderValue::from_static("\"7\""));
            let current = Validators::new().with_etag(ETag::from_version(&7_i64));
            let theirs: headers::ETag = "\"7\"".parse().expect("a valid tag");
            (headers, current, theirs)
        };
    }
    let method = http::Method::GET;
    SET_UP.with(|(headers, current, theirs)| {
        let headers = std::hint::black_box(headers);
        if ours {
            let c = Conditions::from_headers(std::hint::black_box(&method), headers);
            let _ = std::hint::black_box(c.evaluate(Some(current)));
        } else {
            let passes = headers
                .typed_get::<headers::IfNoneMatch>()
                .map(|inm| inm.precondition_passes(theirs));
            std::hint::black_box(passes);
        }
    });
}

/// Parsing and evaluating If-None-Match of 1, 10 and 100 members, the match last.
fn parse_eval(budget: Budget, figures: &mut Vec<Figure>) {
    for members in [1usize, 10, 100] {
        let list = (0..members)
            .map(|i| {
                if i + 1 == members {
                    "\"7\"".to_owned()
                } else {
                    format!("\"other-{i}\"")
                }
            })
            .collect::<Vec<_>>()
            .join(", ");
        let mut headers = HeaderMap::new();
        headers.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_str(&list).expect("a valid list"),
        );
        let method = http::Method::GET;
        let current = Validators::new().with_etag(ETag::from_version(&7_i64));
        let theirs_tag: headers::ETag = "\"7\"".parse().expect("a valid tag");

        let ours = |n| {
            time(n, || {
                let c = Conditions::from_headers(
                    std::hint::black_box(&method),
                    std::hint::black_box(&headers),
                );
                let _ = std::hint::black_box(c.evaluate(Some(&current)));
            })
        };
        let theirs = |n| {
            time(n, || {
                let h = std::hint::black_box(&headers);
                let passes = h
                    .typed_get::<headers::IfNoneMatch>()
                    .map(|inm| inm.precondition_passes(&theirs_tag));
                std::hint::black_box(passes);
            })
        };
        let c = compare(budget, theirs, ours);
        figures.push(Figure::ratio(
            &format!("parse_eval_{members}"),
            c,
            "headers::IfNoneMatch decoding plus precondition_passes",
            Goal::AtMost(1.0),
        ));
    }
}

#[derive(Serialize, Versioned)]
struct Item {
    #[version]
    version: i64,
    #[last_modified]
    updated_at: SystemTime,
}

/// The list ETag's time per item for 10 to 10,000 items: the largest per-item time over
/// the smallest.
fn collection_scaling(budget: Budget, figures: &mut Vec<Figure>) {
    let mut per_item = Vec::new();
    for n in [10usize, 100, 1_000, 10_000] {
        let items: Vec<Item> = (0..n)
            .map(|i| Item {
                version: i as i64,
                updated_at: SystemTime::UNIX_EPOCH + Duration::from_secs(i as u64),
            })
            .collect();
        let run = |iters| {
            time(iters, || {
                std::hint::black_box(std::hint::black_box(&items).validators());
            })
        };
        // Compared with itself only to reuse the calibrated timing.
        let c = compare(budget, run, run);
        per_item.push((n, c.baseline_ns / n as f64));
    }
    let max = per_item.iter().map(|p| p.1).fold(f64::MIN, f64::max);
    let min = per_item.iter().map(|p| p.1).fold(f64::MAX, f64::min);
    let detail = per_item
        .iter()
        .map(|(n, ns)| format!("{n}: {ns:.0} ns/item"))
        .collect::<Vec<_>>()
        .join(", ");
    figures.push(Figure {
        name: "collection_scaling".into(),
        value: max / min,
        unit: "ratio".into(),
        baseline: format!("the smallest per-item time ({detail})"),
        goal: Goal::AtMost(2.0),
    });
}

fn allocs_304(bench: &Bench, item_tag: &HeaderValue, figures: &mut Vec<Figure>) {
    let floor_tag = HeaderValue::from_static("\"7\"");
    let count = |uri: &str, tag: &HeaderValue| {
        // Warm up lazily initialised state first.
        bench.rt.block_on(call(&bench.app, uri, Some(tag)));
        crate::count_allocations(|| {
            bench.rt.block_on(call(&bench.app, uri, Some(tag)));
        })
    };
    let floor = count("/floor", &floor_tag);
    let ours = count("/item/etag", item_tag);
    figures.push(Figure {
        name: "allocs_304".into(),
        value: ours as f64,
        unit: "allocations".into(),
        baseline: format!("the bare-304 floor: {floor} allocations"),
        goal: Goal::AtMost(floor as f64 + 2.0),
    });
}

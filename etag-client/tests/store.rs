//! The store against a small axum server on loopback: what is stored and reused (size
//! limits, `no-store`, `private`, `Vary`, `max-age`), how a 304 updates a stored copy, and
//! the write refusals that are not retried.

#[allow(dead_code)]
mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use etag_client::{Client, Error, Source, Step};
use serde_json::Value;

/// One request as the server saw it: method, path and the validator it carried
/// (`If-None-Match`, or else `If-Modified-Since`).
type Seen = (Method, String, Option<String>);

#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<Seen>>>);

impl Log {
    fn record(&self, method: Method, path: &str, headers: &HeaderMap) {
        let validator = headers
            .get(header::IF_NONE_MATCH)
            .or_else(|| headers.get(header::IF_MODIFIED_SINCE))
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        self.0
            .lock()
            .expect("not poisoned")
            .push((method, path.to_owned(), validator));
    }

    fn take(&self) -> Vec<Seen> {
        std::mem::take(&mut *self.0.lock().expect("not poisoned"))
    }
}

fn get_of(path: &str, validator: Option<&str>) -> Seen {
    (Method::GET, path.to_owned(), validator.map(str::to_owned))
}

/// A 200 with `tag` and `fields`, or a 304 with them when `If-None-Match` names `tag`.
fn answer(headers: &HeaderMap, tag: &str, fields: &[(&str, &str)], body: String) -> Response {
    let mut response = if headers.get(header::IF_NONE_MATCH).is_some_and(|v| v == tag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (StatusCode::OK, body).into_response()
    };
    let out = response.headers_mut();
    out.insert(header::ETAG, HeaderValue::from_str(tag).expect("a tag"));
    for (name, value) in fields {
        out.insert(
            header::HeaderName::from_bytes(name.as_bytes()).expect("a name"),
            HeaderValue::from_str(value).expect("a value"),
        );
    }
    response
}

async fn sized(State(log): State<Log>, Path(n): Path<usize>, headers: HeaderMap) -> Response {
    log.record(Method::GET, &format!("/sized/{n}"), &headers);
    let fields = [("cache-control", "no-cache")];
    answer(&headers, &format!("\"{n}\""), &fields, "x".repeat(n))
}

async fn no_store(State(log): State<Log>, headers: HeaderMap) -> Response {
    log.record(Method::GET, "/no-store", &headers);
    answer(
        &headers,
        "\"1\"",
        &[("cache-control", "no-store")],
        "secret".into(),
    )
}

async fn private(State(log): State<Log>, headers: HeaderMap) -> Response {
    log.record(Method::GET, "/private", &headers);
    let fields = [("cache-control", "private, no-cache")];
    answer(&headers, "\"1\"", &fields, "mine".into())
}

/// A representation per `Accept-Language`, each with its own tag.
async fn vary(State(log): State<Log>, headers: HeaderMap) -> Response {
    log.record(Method::GET, "/vary", &headers);
    let language = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("en")
        .to_owned();
    let fields = [("cache-control", "no-cache"), ("vary", "Accept-Language")];
    answer(&headers, &format!("\"{language}\""), &fields, language)
}

async fn fresh(State(log): State<Log>, headers: HeaderMap) -> Response {
    log.record(Method::GET, "/fresh", &headers);
    answer(
        &headers,
        "\"1\"",
        &[("cache-control", "max-age=60")],
        "fresh".into(),
    )
}

const DATE: &str = "Sun, 06 Nov 1994 08:49:37 GMT";

/// Validated by its date only: no `ETag`.
async fn dated(State(log): State<Log>, headers: HeaderMap) -> Response {
    log.record(Method::GET, "/dated", &headers);
    let mut response = if headers
        .get(header::IF_MODIFIED_SINCE)
        .is_some_and(|v| v == DATE)
    {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (StatusCode::OK, "dated").into_response()
    };
    let out = response.headers_mut();
    out.insert(header::LAST_MODIFIED, HeaderValue::from_static(DATE));
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// The 304 carries other values of two fields than the 200.
async fn changing_fields(State(log): State<Log>, headers: HeaderMap) -> Response {
    log.record(Method::GET, "/fields", &headers);
    let revalidating = headers.contains_key(header::IF_NONE_MATCH);
    let fields = if revalidating {
        [
            ("cache-control", "no-cache, private"),
            ("x-served", "again"),
        ]
    } else {
        [("cache-control", "no-cache"), ("x-served", "first")]
    };
    answer(&headers, "\"1\"", &fields, "the body".into())
}

/// A broken server: its 304 names another tag than the copy it validates.
async fn mismatch(State(log): State<Log>, headers: HeaderMap) -> Response {
    log.record(Method::GET, "/mismatch", &headers);
    if headers.contains_key(header::IF_NONE_MATCH) {
        return (
            StatusCode::NOT_MODIFIED,
            [
                (header::ETAG, "\"other\""),
                (header::CACHE_CONTROL, "no-cache"),
            ],
        )
            .into_response();
    }
    answer(
        &headers,
        "\"a\"",
        &[("cache-control", "no-cache")],
        "a".into(),
    )
}

async fn weak(State(log): State<Log>, method: Method, headers: HeaderMap) -> Response {
    log.record(method, "/weak", &headers);
    answer(
        &headers,
        "W/\"1\"",
        &[("cache-control", "no-cache")],
        "{}".into(),
    )
}

/// Reads fine; refuses every write as unconditional.
async fn required(State(log): State<Log>, method: Method, headers: HeaderMap) -> Response {
    log.record(method.clone(), "/required", &headers);
    if method == Method::PUT {
        let body = r#"{"status": 428, "detail": "Send If-Match with a version you read."}"#;
        return (
            StatusCode::PRECONDITION_REQUIRED,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body,
        )
            .into_response();
    }
    answer(
        &headers,
        "\"1\"",
        &[("cache-control", "no-cache")],
        "{}".into(),
    )
}

async fn server() -> (common::Running, Log) {
    let log = Log::default();
    let app = Router::new()
        .route("/sized/{n}", get(sized))
        .route("/no-store", get(no_store))
        .route("/private", get(private))
        .route("/vary", get(vary))
        .route("/fresh", get(fresh))
        .route("/fields", get(changing_fields))
        .route("/dated", get(dated))
        .route("/mismatch", get(mismatch))
        .route("/weak", get(weak).put(weak))
        .route("/required", get(required).put(required))
        .with_state(log.clone());
    (common::serve(app).await, log)
}

fn http() -> etag_client::reqwest::Client {
    etag_client::reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("an HTTP client")
}

#[tokio::test]
async fn the_store_evicts_by_size_least_recently_used_first() {
    let (server, log) = server().await;
    // Each response is its body plus about 150 bytes of URL and header fields: three
    // 1,000-byte bodies fit in 3,600 bytes, four do not.
    let client = Client::builder(http()).max_bytes(3_600).build();
    let url = |n: usize| format!("{}/sized/{n}", server.base);
    for n in [1000, 1001, 1002] {
        assert_eq!(
            client.get(url(n)).send().await.unwrap().source(),
            Source::Network
        );
    }
    // Use the oldest, so that 1001 becomes the least recently used; then a fourth one
    // pushes it out.
    let again = client.get(url(1000)).send().await.unwrap();
    assert_eq!(again.source(), Source::Revalidated);
    assert_eq!(again.bytes().len(), 1000);
    client.get(url(1003)).send().await.unwrap();
    log.take();
    for n in [1000, 1002, 1003] {
        assert_eq!(
            client.get(url(n)).send().await.unwrap().source(),
            Source::Revalidated,
            "{n}"
        );
    }
    let evicted = client.get(url(1001)).send().await.unwrap();
    assert_eq!(evicted.source(), Source::Network);
    assert_eq!(
        log.take(),
        [
            get_of("/sized/1000", Some("\"1000\"")),
            get_of("/sized/1002", Some("\"1002\"")),
            get_of("/sized/1003", Some("\"1003\"")),
            get_of("/sized/1001", None),
        ]
    );

    // A response larger than the whole store is never stored, and costs no other entry.
    client.get(url(5000)).send().await.unwrap();
    assert_eq!(
        client.get(url(5000)).send().await.unwrap().source(),
        Source::Network
    );
    assert_eq!(
        client.get(url(1003)).send().await.unwrap().source(),
        Source::Revalidated
    );
}

#[tokio::test]
async fn the_store_bounds_its_entries() {
    let (server, log) = server().await;
    let client = Client::builder(http()).max_entries(2).build();
    let url = |n: usize| format!("{}/sized/{n}", server.base);
    for n in [1, 2, 3] {
        client.get(url(n)).send().await.unwrap();
    }
    log.take();
    for n in [2, 3, 1] {
        client.get(url(n)).send().await.unwrap();
    }
    assert_eq!(
        log.take(),
        [
            get_of("/sized/2", Some("\"2\"")),
            get_of("/sized/3", Some("\"3\"")),
            get_of("/sized/1", None),
        ]
    );
}

#[tokio::test]
async fn no_store_is_never_stored_and_private_is() {
    let (server, log) = server().await;
    let client = Client::new(http());
    for _ in 0..2 {
        let secret = client
            .get(format!("{}/no-store", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(secret.source(), Source::Network);
        assert_eq!(&secret.bytes()[..], b"secret");
    }
    let first = client.get(format!("{}/private", server.base)).send().await;
    assert_eq!(first.unwrap().source(), Source::Network);
    let again = client.get(format!("{}/private", server.base)).send().await;
    assert_eq!(again.unwrap().source(), Source::Revalidated);
    assert_eq!(
        log.take(),
        [
            get_of("/no-store", None),
            get_of("/no-store", None),
            get_of("/private", None),
            get_of("/private", Some("\"1\"")),
        ]
    );
}

#[tokio::test]
async fn vary_keeps_a_copy_from_answering_another_variant() {
    let (server, log) = server().await;
    let client = Client::new(http());
    let url = format!("{}/vary", server.base);
    let read = |language: &'static str| {
        client
            .get(&url)
            .header(header::ACCEPT_LANGUAGE, HeaderValue::from_static(language))
            .send()
    };
    assert_eq!(&read("en").await.unwrap().bytes()[..], b"en");
    let en = read("en").await.unwrap();
    assert_eq!(en.source(), Source::Revalidated);
    // The English copy does not answer a French request, and is not even offered to the
    // server as a validator for it.
    let fr = read("fr").await.unwrap();
    assert_eq!(fr.source(), Source::Network);
    assert_eq!(&fr.bytes()[..], b"fr");
    let fr = read("fr").await.unwrap();
    assert_eq!(fr.source(), Source::Revalidated);
    assert_eq!(&fr.bytes()[..], b"fr");
    assert_eq!(
        log.take(),
        [
            get_of("/vary", None),
            get_of("/vary", Some("\"en\"")),
            get_of("/vary", None),
            get_of("/vary", Some("\"fr\"")),
        ]
    );
}

#[tokio::test]
async fn a_fresh_copy_is_reused_without_asking() {
    let (server, log) = server().await;
    let client = Client::new(http());
    let url = format!("{}/fresh", server.base);
    assert_eq!(
        client.get(&url).send().await.unwrap().source(),
        Source::Network
    );
    let stored = client.get(&url).send().await.unwrap();
    assert_eq!(stored.source(), Source::Stored);
    assert_eq!(&stored.bytes()[..], b"fresh");
    // A request that asks for revalidation gets it.
    let revalidated = client
        .get(&url)
        .header(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"))
        .send()
        .await
        .unwrap();
    assert_eq!(revalidated.source(), Source::Revalidated);
    assert_eq!(
        log.take(),
        [get_of("/fresh", None), get_of("/fresh", Some("\"1\""))]
    );
}

#[tokio::test]
async fn a_copy_with_only_a_date_is_revalidated_with_if_modified_since() {
    let (server, log) = server().await;
    let client = Client::new(http());
    let url = format!("{}/dated", server.base);
    assert_eq!(
        client.get(&url).send().await.unwrap().source(),
        Source::Network
    );
    let again = client.get(&url).send().await.unwrap();
    assert_eq!(again.source(), Source::Revalidated);
    assert_eq!(&again.bytes()[..], b"dated");
    assert_eq!(
        log.take(),
        [get_of("/dated", None), get_of("/dated", Some(DATE))]
    );
    // Without an entity tag there is nothing to send in If-Match.
    let error = client.update(&url, |v: Value| v).send().await.unwrap_err();
    assert!(matches!(error.reason(), Error::NoStrongEtag), "{error}");
}

#[tokio::test]
async fn a_304_updates_the_stored_header_fields() {
    let (server, _log) = server().await;
    let client = Client::new(http());
    let url = format!("{}/fields", server.base);
    let first = client.get(&url).send().await.unwrap();
    assert_eq!(first.headers()["x-served"], "first");
    let again = client.get(&url).send().await.unwrap();
    assert_eq!(again.source(), Source::Revalidated);
    assert_eq!(again.headers()["x-served"], "again");
    assert_eq!(again.headers()["cache-control"], "no-cache, private");
    // The body and the fields that describe it are the stored ones.
    assert_eq!(&again.bytes()[..], b"the body");
    assert_eq!(again.headers()["content-length"], "8");
    // And they stay updated.
    let third = client.get(&url).send().await.unwrap();
    assert_eq!(third.headers()["x-served"], "again");
}

#[tokio::test]
async fn a_304_for_another_tag_is_not_applied_to_the_copy() {
    let (server, log) = server().await;
    let client = Client::new(http());
    let url = format!("{}/mismatch", server.base);
    client.get(&url).send().await.unwrap();
    log.take();
    let again = client.get(&url).send().await.unwrap();
    // Asked again without validators, once.
    assert_eq!(again.source(), Source::Network);
    assert_eq!(&again.bytes()[..], b"a");
    assert_eq!(
        log.take(),
        [
            get_of("/mismatch", Some("\"a\"")),
            get_of("/mismatch", None)
        ]
    );
}

#[tokio::test]
async fn a_weak_tag_is_never_sent_in_if_match() {
    let (server, log) = server().await;
    let client = Client::new(http());
    let error = client
        .update(format!("{}/weak", server.base), |v: Value| v)
        .send()
        .await
        .unwrap_err();
    assert_eq!((error.attempt(), error.step()), (1, Step::Read));
    assert!(matches!(error.reason(), Error::NoStrongEtag), "{error}");
    // Read, and nothing written.
    let methods: Vec<Method> = log.take().into_iter().map(|(m, _, _)| m).collect();
    assert_eq!(methods, [Method::GET]);
}

#[tokio::test]
async fn a_428_names_what_was_sent_and_what_the_server_wants() {
    let (server, log) = server().await;
    let client = Client::new(http());
    let error = client
        .update(format!("{}/required", server.base), |v: Value| v)
        .send()
        .await
        .unwrap_err();
    assert_eq!((error.attempt(), error.step()), (1, Step::Write));
    let Error::PreconditionRequired { sent, detail } = error.reason() else {
        panic!("not a 428: {error}");
    };
    assert_eq!(sent, "If-Match: \"1\"");
    assert_eq!(detail, "Send If-Match with a version you read.");
    assert!(error.to_string().contains("If-Match"), "{error}");
    // Not retried.
    let methods: Vec<Method> = log.take().into_iter().map(|(m, _, _)| m).collect();
    assert_eq!(methods, [Method::GET, Method::PUT]);
}

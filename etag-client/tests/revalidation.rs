//! What a `304 Not Modified` does to a stored copy, against a small axum server on
//! loopback: its header fields replace the stored ones (every line of them, and those only
//! it carries are added), its freshness and its `Date` take effect, the stored body stays,
//! and the copy still answers only the user it was read for.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use etag_client::reqwest::header::AUTHORIZATION;
use etag_client::{Client, Source};

/// The 200's `Date`: long past, so that the 304's is told from it.
const FIRST_DATE: &str = "Sun, 06 Nov 1994 08:49:37 GMT";

/// What the server did: one line per request, and the `Date` of its last 304.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<(Vec<String>, Option<String>)>>);

impl Log {
    fn requests(&self) -> Vec<String> {
        self.0.lock().expect("not poisoned").0.clone()
    }

    fn last_304_date(&self) -> String {
        let log = self.0.lock().expect("not poisoned");
        log.1.clone().expect("a 304 was sent")
    }
}

/// A per-user document: tagged per user, `no-cache` with two `Link` lines when sent whole;
/// a 304 makes it fresh for a minute, with other links and a field of its own. Two `Vary`
/// lines on both, as etag-runtime and tower-http's compression send them.
async fn document(State(log): State<Log>, request: HeaderMap) -> Response {
    let user = request
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("nobody")
        .to_owned();
    let tag = format!("\"1-{user}\"");
    let validator = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok());
    let revalidated = validator == Some(tag.as_str());
    log.0
        .lock()
        .expect("not poisoned")
        .0
        .push(format!("{user} {}", validator.unwrap_or("(no validator)")));
    let mut response = if revalidated {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (StatusCode::OK, format!("for {user}")).into_response()
    };
    let out = response.headers_mut();
    out.insert(header::ETAG, HeaderValue::from_str(&tag).expect("a tag"));
    out.append(header::VARY, HeaderValue::from_static("accept-encoding"));
    out.append(header::VARY, HeaderValue::from_static("authorization"));
    if revalidated {
        let date = httpdate::fmt_http_date(SystemTime::now());
        log.0.lock().expect("not poisoned").1 = Some(date.clone());
        out.insert(header::DATE, HeaderValue::from_str(&date).expect("a date"));
        let fresh = HeaderValue::from_static("private, max-age=60");
        out.insert(header::CACHE_CONTROL, fresh);
        out.append(header::LINK, HeaderValue::from_static("</c>; rel=\"c\""));
        out.append(header::LINK, HeaderValue::from_static("</d>; rel=\"d\""));
        out.insert("x-revision", HeaderValue::from_static("2"));
    } else {
        out.insert(header::DATE, HeaderValue::from_static(FIRST_DATE));
        let stale = HeaderValue::from_static("private, no-cache");
        out.insert(header::CACHE_CONTROL, stale);
        out.append(header::LINK, HeaderValue::from_static("</a>; rel=\"a\""));
        out.append(header::LINK, HeaderValue::from_static("</b>; rel=\"b\""));
        out.insert("x-first", HeaderValue::from_static("kept"));
    }
    response
}

/// Serves the document on a free loopback port until the returned task is dropped.
async fn server() -> (String, Log, AbortOnDrop) {
    let log = Log::default();
    let app = Router::new()
        .route("/doc", get(document))
        .with_state(log.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let base = format!("http://{}", listener.local_addr().expect("an address"));
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (base, log, AbortOnDrop(task))
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn http() -> etag_client::reqwest::Client {
    etag_client::reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("an HTTP client")
}

fn lines<'a>(headers: &'a HeaderMap, name: &str) -> Vec<&'a str> {
    headers
        .get_all(name)
        .iter()
        .map(|v| v.to_str().expect("text"))
        .collect()
}

#[tokio::test]
async fn a_304_updates_the_copy_s_fields_date_and_freshness_and_keeps_its_body() {
    let (base, log, _server) = server().await;
    let client = Client::new(http());
    let url = format!("{base}/doc");
    let ann = HeaderValue::from_static("Bearer ann");
    let read = || client.get(&url).header(AUTHORIZATION, ann.clone()).send();

    let first = read().await.unwrap();
    assert_eq!(first.source(), Source::Network);
    assert_eq!(first.headers()["date"], FIRST_DATE);

    let again = read().await.unwrap();
    assert_eq!(again.source(), Source::Revalidated);
    let fields = again.headers();
    // The 304's fields replace every line of the stored ones...
    assert_eq!(fields["cache-control"], "private, max-age=60");
    assert_eq!(fields["date"], log.last_304_date().as_str());
    assert_ne!(fields["date"], FIRST_DATE);
    assert_eq!(
        lines(fields, "link"),
        ["</c>; rel=\"c\"", "</d>; rel=\"d\""]
    );
    assert_eq!(lines(fields, "vary"), ["accept-encoding", "authorization"]);
    // ...those only it carries are added, the others stay.
    assert_eq!(fields["x-revision"], "2");
    assert_eq!(fields["x-first"], "kept");
    assert_eq!(fields["etag"], "\"1-ann\"");
    // The body and its length are the stored ones.
    assert_eq!(again.status(), 200);
    assert_eq!(&again.bytes()[..], b"for ann");
    assert_eq!(fields["content-length"], "7");

    // The 304's max-age made the copy fresh: reused without asking, as updated.
    let third = read().await.unwrap();
    assert_eq!(third.source(), Source::Stored);
    assert_eq!(third.headers(), again.headers());
    assert_eq!(third.bytes(), again.bytes());
    assert_eq!(log.requests(), ["ann (no validator)", "ann \"1-ann\""]);

    // Both Vary lines still hold after the 304: another user's request is not answered
    // with ann's copy, and is sent without her validator.
    let bob = client
        .get(&url)
        .header(AUTHORIZATION, HeaderValue::from_static("Bearer bob"))
        .send()
        .await
        .unwrap();
    assert_eq!(bob.source(), Source::Network);
    assert_eq!(&bob.bytes()[..], b"for bob");
    assert_eq!(log.requests()[2..], ["bob (no validator)"]);
}

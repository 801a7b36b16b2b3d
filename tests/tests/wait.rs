//! Wait for change (`etag_runtime::wait`, `layer::WaitLayer`): a GET or HEAD with a matching
//! `If-None-Match` and `Prefer: wait=N` (RFC 7240 section 4.3) is held until one of its
//! cache groups changes, then answers 200 with the new representation; or answers its 304
//! at the end of the wait; `Preference-Applied` (RFC 7240 section 3) says what was applied.
//! Every other request answers at once and is unchanged.
//!
//! The clock is tokio's paused one: a wait that nothing ends jumps to its deadline, and the
//! durations asserted are the virtual time that passed, exact, not measured.

mod common;
#[path = "common/grouped.rs"]
mod grouped;

use std::time::Duration;

use axum::Router;
use axum::http::Method;
use common::{fetch, send};
use etag_runtime::layer::{Compression, WaitLayer};
use etag_runtime::wait::Changes;
use grouped::{App, Product, routes};
use tokio::time::Instant;
use tower_http::compression::CompressionLayer;

/// The routes behind a `WaitLayer` of at most `max` seconds, and its feed.
fn waiting(ids: &[i64], max: u64) -> (Router, Changes) {
    let changes = Changes::new();
    let router = routes(App::new(ids))
        .layer(WaitLayer::new(changes.clone()).max_wait(Duration::from_secs(max)));
    (router, changes)
}

/// Runs `request` in a task of its own, and returns once it waits.
async fn start_waiting(
    app: &Router,
    changes: &Changes,
    uri: &'static str,
    headers: Vec<(&'static str, String)>,
) -> tokio::task::JoinHandle<(etag_test_support::Reply<bytes::Bytes>, Duration)> {
    let before = changes.waiting();
    let task = {
        let app = app.clone();
        tokio::spawn(async move {
            let start = Instant::now();
            let headers: Vec<(&str, &str)> =
                headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
            let reply = fetch(&app, uri, &headers).await;
            (reply, start.elapsed())
        })
    };
    while changes.waiting() == before {
        assert!(
            !task.is_finished(),
            "the request answered instead of waiting"
        );
        tokio::task::yield_now().await;
    }
    task
}

/// `If-None-Match: tag` and `Prefer: wait=seconds`, the two fields of a request that waits.
fn held(tag: &str, seconds: u32) -> Vec<(&'static str, String)> {
    vec![
        ("if-none-match", tag.to_owned()),
        ("prefer", format!("wait={seconds}")),
    ]
}

/// `uri` asked in this task with `If-None-Match: tag` and `Prefer: prefer`: the reply, and
/// the virtual time it took.
async fn ask(
    app: &Router,
    uri: &str,
    tag: &str,
    prefer: &str,
) -> (etag_test_support::Reply<bytes::Bytes>, Duration) {
    let start = Instant::now();
    let reply = fetch(app, uri, &[("if-none-match", tag), ("prefer", prefer)]).await;
    (reply, start.elapsed())
}

async fn put(
    app: &Router,
    uri: &str,
    etag: &str,
    name: &str,
) -> etag_test_support::Reply<bytes::Bytes> {
    let body = format!(r#"{{"name":"{name}"}}"#);
    send(app, Method::PUT, uri, &[("if-match", etag)], Some(&body)).await
}

/// RFC 7240 section 4.3 with RFC 9110 section 13.1.2: the request is held while its tag
/// matches, and answered with the new representation and tag as soon as a write lands.
#[tokio::test(start_paused = true)]
async fn rfc7240_4_3_a_held_get_answers_200_with_the_new_tag_after_a_write() {
    let (app, changes) = waiting(&[1, 2], 60);
    let first = fetch(&app, "/products/1", &[]).await;
    let tag = first.etag().to_owned();
    let waiter = start_waiting(&app, &changes, "/products/1", held(&tag, 30)).await;
    // A write to another product does not answer it.
    let other = fetch(&app, "/products/2", &[]).await;
    assert_eq!(
        put(&app, "/products/2", other.etag(), "b").await.status,
        200
    );
    tokio::task::yield_now().await;
    assert!(!waiter.is_finished());
    assert_eq!(changes.waiting(), 1);

    let written = put(&app, "/products/1", &tag, "new name").await;
    assert_eq!(written.status, 200);
    let (reply, waited) = waiter.await.unwrap();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.etag(), written.etag());
    assert_ne!(reply.etag(), tag);
    assert_eq!(reply.json()["name"], "new name");
    assert_eq!(reply.header("preference-applied"), Some("wait=30"));
    assert_eq!(
        waited,
        Duration::ZERO,
        "answered when the write landed, not later"
    );
    assert_eq!(changes.waiting(), 0);
}

/// RFC 7240 section 3: nothing changed, so the 304 comes at the end of the wait, a little
/// early by the jitter (at most a sixteenth), and says the wait was applied.
#[tokio::test(start_paused = true)]
async fn rfc7240_3_a_wait_without_a_change_ends_in_304_with_preference_applied() {
    let (app, _changes) = waiting(&[1], 60);
    let tag = fetch(&app, "/products/1", &[]).await.etag().to_owned();
    let (reply, waited) = ask(&app, "/products/1", &tag, "wait=16").await;
    assert_eq!(reply.status, 304);
    assert_eq!(reply.etag(), tag);
    assert_eq!(reply.header("preference-applied"), Some("wait=16"));
    assert_eq!(reply.header("cache-groups"), Some(r#""product/1""#));
    assert!(
        waited <= Duration::from_secs(16) && waited >= Duration::from_secs(15),
        "{waited:?}"
    );
}

/// The server's maximum caps the client's wait, and `Preference-Applied` says so.
#[tokio::test(start_paused = true)]
async fn a_wait_is_capped_by_the_server_maximum() {
    let (app, _changes) = waiting(&[1], 5);
    let tag = fetch(&app, "/products/1", &[]).await.etag().to_owned();
    let (reply, took) = ask(&app, "/products/1", &tag, "wait=600").await;
    assert_eq!(reply.status, 304);
    assert_eq!(reply.header("preference-applied"), Some("wait=5"));
    assert!(took <= Duration::from_secs(5));
}

/// A change the feed never heard of (a write in another process whose notification was
/// lost) does not wake the waiter, which answers its 304 at the end of its wait; the
/// client's next request, sent with the same tag at once, no longer matches and gets the
/// 200 without being held. A lost notification costs one round trip, never a wrong
/// answer.
#[tokio::test(start_paused = true)]
async fn a_change_the_feed_missed_costs_one_request() {
    let changes = Changes::new();
    let shared = App::new(&[1]);
    let router = routes(shared.clone())
        .layer(WaitLayer::new(changes.clone()).max_wait(Duration::from_secs(60)));
    let tag = fetch(&router, "/products/1", &[]).await.etag().to_owned();
    let waiter = start_waiting(&router, &changes, "/products/1", held(&tag, 16)).await;
    // Written behind the layer's back: nothing is published.
    {
        let mut rows = shared.rows.lock().unwrap();
        let row = rows.get_mut(&1).unwrap();
        row.name = "written elsewhere".into();
        row.version += 1;
    }
    let (reply, waited) = waiter.await.unwrap();
    assert_eq!(reply.status, 304);
    assert_eq!(reply.etag(), tag);
    assert!(
        waited <= Duration::from_secs(16) && waited >= Duration::from_secs(15),
        "{waited:?}"
    );
    let (next, took) = ask(&router, "/products/1", &tag, "wait=16").await;
    assert_eq!(next.status, 200);
    assert_ne!(next.etag(), tag);
    assert_eq!(next.json()["name"], "written elsewhere");
    assert_eq!(took, Duration::ZERO, "answered at once, not held");
    assert!(!next.has("preference-applied"));
    assert_eq!(changes.waiting(), 0);
}

/// A resource deleted while a request waits on it answers 404 then.
#[tokio::test(start_paused = true)]
async fn a_delete_while_waiting_answers_404() {
    let (app, changes) = waiting(&[1], 60);
    let tag = fetch(&app, "/products/1", &[]).await.etag().to_owned();
    let waiter = start_waiting(&app, &changes, "/products/1", held(&tag, 30)).await;
    let deleted = send(
        &app,
        Method::DELETE,
        "/products/1",
        &[("if-match", &tag)],
        None,
    )
    .await;
    assert_eq!(deleted.status, 204);
    let (reply, waited) = waiter.await.unwrap();
    assert_eq!(reply.status, 404);
    assert_eq!(waited, Duration::ZERO);
    // And a request for it now answers at once.
    let (gone, took) = ask(&app, "/products/1", &tag, "wait=30").await;
    assert_eq!(gone.status, 404);
    assert_eq!(took, Duration::ZERO);
    assert!(!gone.has("preference-applied"));
}

/// Requests the layer does not hold are the same, byte for byte, with and without it:
/// without `Prefer`, with a tag that does not match (200 at once), with `If-Modified-Since`
/// alone, with `wait=0`, and for a response without cache groups (a model without a
/// group, a per-user response).
#[tokio::test(start_paused = true)]
async fn requests_not_held_answer_at_once_and_unchanged() {
    let (held, _changes) = waiting(&[1], 60);
    let plain = routes(App::new(&[1]));
    let tag = fetch(&plain, "/products/1", &[]).await.etag().to_owned();
    let me_tag = fetch(&plain, "/me", &[("authorization", "Bearer alice")])
        .await
        .etag()
        .to_owned();
    let loose_tag = fetch(&plain, "/loose", &[]).await.etag().to_owned();
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, u16);
    let cases: Vec<Case<'_>> = vec![
        ("/products/1", vec![("if-none-match", tag.as_str())], 304),
        ("/products/1", vec![("prefer", "wait=30")], 200),
        (
            "/products/1",
            vec![("if-none-match", "\"other\""), ("prefer", "wait=30")],
            200,
        ),
        (
            "/products/1",
            vec![("if-none-match", tag.as_str()), ("prefer", "wait=0")],
            304,
        ),
        (
            "/products/1",
            vec![("if-none-match", tag.as_str()), ("prefer", "respond-async")],
            304,
        ),
        (
            "/products/1",
            vec![
                ("if-modified-since", "Sun, 06 Nov 2033 08:49:37 GMT"),
                ("prefer", "wait=30"),
            ],
            200,
        ),
        (
            "/loose",
            vec![("if-none-match", loose_tag.as_str()), ("prefer", "wait=30")],
            304,
        ),
        (
            "/me",
            vec![
                ("authorization", "Bearer alice"),
                ("if-none-match", me_tag.as_str()),
                ("prefer", "wait=30"),
            ],
            304,
        ),
    ];
    for (uri, headers, status) in cases {
        let start = Instant::now();
        let with = fetch(&held, uri, &headers).await;
        assert_eq!(
            start.elapsed(),
            Duration::ZERO,
            "{uri} {headers:?} was held"
        );
        let without = fetch(&plain, uri, &headers).await;
        assert_eq!(with.status, status, "{uri} {headers:?}");
        assert_eq!(with.status, without.status, "{uri} {headers:?}");
        assert_eq!(with.headers, without.headers, "{uri} {headers:?}");
        assert_eq!(with.body, without.body, "{uri} {headers:?}");
    }
}

/// A list waits until its page changes: a write to a member (its collection's group)
/// answers it with the new list.
#[tokio::test(start_paused = true)]
async fn a_list_is_answered_when_a_member_changes() {
    let (app, changes) = waiting(&[1, 2, 3], 60);
    let tag = fetch(&app, "/products", &[]).await.etag().to_owned();
    let waiter = start_waiting(&app, &changes, "/products", held(&tag, 30)).await;
    let member = fetch(&app, "/products/3", &[]).await;
    assert_eq!(
        put(&app, "/products/3", member.etag(), "renamed")
            .await
            .status,
        200
    );
    let (reply, _) = waiter.await.unwrap();
    assert_eq!(reply.status, 200);
    assert_ne!(reply.etag(), tag);
    assert_eq!(reply.json()[2]["name"], "renamed");
}

/// A handler that decides from its validators first, with the groups it declares, waits
/// the same way; and a change another process published (`Changes::publish`) that did not
/// change this resource leaves it waiting.
#[tokio::test(start_paused = true)]
async fn a_validators_first_handler_waits_and_a_foreign_change_rechecks() {
    let (app, changes) = waiting(&[1], 60);
    let tag = fetch(&app, "/early/1", &[]).await.etag().to_owned();
    let waiter = start_waiting(&app, &changes, "/early/1", held(&tag, 30)).await;
    // Another process says product 1 changed, but here it did not: the waiter asks its
    // handler again, gets a 304, and waits on.
    let mut groups = etag_runtime::groups::CacheGroups::new();
    groups.add_key::<Product>(1);
    changes.publish(&groups);
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert!(!waiter.is_finished());
    assert_eq!(changes.waiting(), 1);
    assert_eq!(put(&app, "/products/1", &tag, "x").await.status, 200);
    let (reply, _) = waiter.await.unwrap();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["name"], "x");
}

/// HEAD waits like GET.
#[tokio::test(start_paused = true)]
async fn head_waits_like_get() {
    let (app, changes) = waiting(&[1], 60);
    let tag = fetch(&app, "/products/1", &[]).await.etag().to_owned();
    let task = {
        let app = app.clone();
        let tag = tag.clone();
        tokio::spawn(async move {
            send(
                &app,
                Method::HEAD,
                "/products/1",
                &[("if-none-match", &tag), ("prefer", "wait=30")],
                None,
            )
            .await
        })
    };
    while changes.waiting() == 0 {
        tokio::task::yield_now().await;
    }
    let written = put(&app, "/products/1", &tag, "y").await;
    let reply = task.await.unwrap();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.etag(), written.etag());
    assert!(reply.body.is_empty());
    assert_eq!(reply.header("preference-applied"), Some("wait=30"));
}

/// Over the cap of waiters, a request answers at once, without `Preference-Applied`.
#[tokio::test(start_paused = true)]
async fn beyond_the_cap_of_waiters_a_request_answers_at_once() {
    let changes = Changes::new();
    let app = routes(App::new(&[1])).layer(WaitLayer::new(changes.clone()).max_waiters(2));
    let tag = fetch(&app, "/products/1", &[]).await.etag().to_owned();
    let first = start_waiting(&app, &changes, "/products/1", held(&tag, 30)).await;
    let second = start_waiting(&app, &changes, "/products/1", held(&tag, 30)).await;
    let (third, took) = ask(&app, "/products/1", &tag, "wait=30").await;
    assert_eq!(took, Duration::ZERO);
    assert_eq!(third.status, 304);
    assert!(!third.has("preference-applied"));
    assert_eq!(changes.waiting(), 2);
    for waiter in [first, second] {
        let (reply, waited) = waiter.await.unwrap();
        assert_eq!(reply.status, 304);
        assert_eq!(reply.header("preference-applied"), Some("wait=30"));
        assert!(waited >= Duration::from_secs(28));
    }
}

/// Shutting down: `Changes::close` answers every waiter its 304 at once, and holds no new
/// request.
#[tokio::test(start_paused = true)]
async fn close_answers_every_waiter_at_once() {
    let (app, changes) = waiting(&[1], 60);
    let tag = fetch(&app, "/products/1", &[]).await.etag().to_owned();
    let mut waiters = Vec::new();
    for _ in 0..100 {
        waiters.push(start_waiting(&app, &changes, "/products/1", held(&tag, 60)).await);
    }
    assert_eq!(changes.waiting(), 100);
    changes.close();
    for waiter in waiters {
        let (reply, waited) = waiter.await.unwrap();
        assert_eq!(reply.status, 304);
        assert_eq!(reply.header("preference-applied"), Some("wait=60"));
        assert_eq!(waited, Duration::ZERO);
    }
    let (after, took) = ask(&app, "/products/1", &tag, "wait=60").await;
    assert_eq!((after.status, took), (304, Duration::ZERO));
    assert!(!after.has("preference-applied"));
}

/// Behind the compressor: a client holding the gzip tag waits, and gets the new gzip
/// representation with its own tag.
#[tokio::test(start_paused = true)]
async fn a_gzip_tag_waits_behind_compression() {
    let changes = Changes::new();
    let app = routes(App::new(&[1]))
        .layer(Compression::new(CompressionLayer::new().gzip(true)))
        .layer(WaitLayer::new(changes.clone()));
    let gz = [("accept-encoding", "gzip")];
    let first = fetch(&app, "/products/1", &gz).await;
    assert_eq!(first.header("content-encoding"), Some("gzip"));
    let tag = first.etag().to_owned();
    let waiter = start_waiting(
        &app,
        &changes,
        "/products/1",
        vec![
            ("accept-encoding", "gzip".to_owned()),
            ("if-none-match", tag.clone()),
            ("prefer", "wait=30".to_owned()),
        ],
    )
    .await;
    assert_eq!(
        put(&app, "/products/1", &tag, "a name long enough to compress")
            .await
            .status,
        200
    );
    let (reply, _) = waiter.await.unwrap();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-encoding"), Some("gzip"));
    assert!(reply.etag().ends_with("-gzip\""), "{}", reply.etag());
    assert_ne!(reply.etag(), tag);
}

/// etag-client's watch against the layer, over loopback: the current version first, then,
/// once the watch is held, the version a write makes; the server's 304s at the end of each
/// (one-second) wait in between yield nothing.
#[tokio::test]
async fn etag_client_watches_through_the_layer() {
    use futures_util::StreamExt as _;

    let changes = Changes::new();
    let app = routes(App::new(&[1]))
        .layer(WaitLayer::new(changes.clone()).max_wait(Duration::from_secs(1)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let url = format!("http://{addr}/products/1");
    let http = etag_client::reqwest::Client::new();
    let client = etag_client::Client::new(http.clone());
    let mut versions = client.watch(&url).wait(Duration::from_secs(30)).stream();
    let first = versions.next().await.expect("a version").expect("no error");
    let tag = first.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(first.json::<serde_json::Value>().unwrap()["version"], 1);

    let next = tokio::spawn(async move { versions.next().await });
    // Held, and held again after a 304 or two: nothing changed yet.
    let started = std::time::Instant::now();
    while changes.waiting() == 0 || started.elapsed() < Duration::from_millis(2_500) {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the watch never waited"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(!next.is_finished(), "a 304 was yielded");
    let written = http
        .put(&url)
        .header("if-match", &tag)
        .header("content-type", "application/json")
        .body(r#"{"name":"watched"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(written.status(), 200);
    let new_tag = written.headers()["etag"].to_str().unwrap().to_owned();
    let second = next.await.unwrap().expect("a version").expect("no error");
    assert_eq!(second.headers()["etag"], new_tag.as_str());
    assert_eq!(
        second.json::<serde_json::Value>().unwrap()["name"],
        "watched"
    );
    server.abort();
}

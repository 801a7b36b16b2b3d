//! `Client::watch` against a small axum server that waits as `Prefer: wait` asks
//! (`common::Watched`): the versions it yields, the requests it sends, and how it behaves
//! when the server does not wait, fails, breaks a connection or deletes the resource.

#[allow(dead_code)]
mod common;

use std::time::Duration;

use axum::http::StatusCode;
use common::Watched;
use etag_client::{Client, Error, Response, Source, WatchStream};
use futures_util::StreamExt;

/// Long enough for any answer a test waits for on a busy machine, and far shorter than
/// the 30 s waits the tests ask for, so that an answer that came in time was not the end
/// of a wait.
const PROMPTLY: Duration = Duration::from_secs(10);

fn client() -> Client {
    Client::new(etag_client::reqwest::Client::new())
}

/// The next item, which must come within `PROMPTLY`.
async fn next(versions: &mut WatchStream) -> Result<Response, Error> {
    tokio::time::timeout(PROMPTLY, versions.next())
        .await
        .expect("an item in time")
        .expect("the stream goes on")
}

/// Asserts that no item comes for `window`.
async fn none_for(versions: &mut WatchStream, window: Duration) {
    if let Ok(item) = tokio::time::timeout(window, versions.next()).await {
        panic!("no item was expected, got {item:?}");
    }
}

fn etag(response: &Response) -> &str {
    response.headers()["etag"].to_str().expect("text")
}

/// `server.change()` a little later, while the watch's request is held.
fn change_soon(server: &Watched) {
    let server = server.clone();
    tokio::spawn(async move {
        server.until_held().await;
        server.change();
    });
}

#[tokio::test]
async fn the_current_version_comes_first_then_a_change_as_soon_as_it_is_made() {
    let server = Watched::start().await;
    let mut versions = client()
        .watch(server.url())
        .wait(Duration::from_secs(30))
        .stream();

    let first = next(&mut versions).await.expect("the current version");
    assert_eq!(etag(&first), "\"1\"");
    assert_eq!(first.bytes(), "version 1");
    assert_eq!(first.source(), Source::Network);

    change_soon(&server);
    let second = next(&mut versions).await.expect("the new version");
    assert_eq!(etag(&second), "\"2\"");
    assert_eq!(second.bytes(), "version 2");

    let log = server.log();
    assert_eq!(log.len(), 2, "{log:?}");
    // The first asks for the current version: no tag to name, nothing to wait for.
    assert_eq!(log[0].if_none_match, None);
    assert_eq!(log[0].prefer, None);
    // The second names it and asks the server to wait, which it did until the change.
    assert_eq!(log[1].if_none_match.as_deref(), Some("\"1\""));
    assert_eq!(log[1].prefer.as_deref(), Some("wait=30"));
    assert_eq!(log[1].status, 200);
    assert_eq!(log[1].applied.as_deref(), Some("wait=30"));
}

#[tokio::test]
async fn a_stored_copy_is_revalidated_at_once_then_waited_on() {
    let server = Watched::start().await;
    let client = client();
    client.get(server.url()).send().await.expect("a read");
    let mut versions = client
        .watch(server.url())
        .wait(Duration::from_secs(30))
        .stream();

    let first = next(&mut versions).await.expect("the stored copy");
    assert_eq!(first.source(), Source::Revalidated);
    assert_eq!(first.bytes(), "version 1");
    change_soon(&server);
    let second = next(&mut versions).await.expect("the new version");
    assert_eq!(second.bytes(), "version 2");

    let log = server.log();
    assert_eq!(log.len(), 3, "{log:?}");
    // The watch's first request: the stored copy's tag, no wait, a 304 at once.
    assert_eq!(log[1].if_none_match.as_deref(), Some("\"1\""));
    assert_eq!(log[1].prefer, None);
    assert_eq!(log[1].status, 304);
    assert_eq!(log[2].prefer.as_deref(), Some("wait=30"));
    // The yielded version is the stored copy now.
    let read = client.get(server.url()).send().await.expect("a read");
    assert_eq!(read.source(), Source::Revalidated);
    assert_eq!(read.bytes(), "version 2");
}

#[tokio::test]
async fn a_fresh_stored_copy_is_still_asked_about() {
    let server = Watched::start().await;
    server.cache_control("max-age=600");
    let client = client();
    client.get(server.url()).send().await.expect("a read");
    let again = client.get(server.url()).send().await.expect("a read");
    assert_eq!(again.source(), Source::Stored);
    assert_eq!(server.log().len(), 1);

    // Changed on the server; the copy is fresh for ten minutes, but a watch asks.
    server.change();
    let mut versions = client.watch(server.url()).stream();
    let first = next(&mut versions).await.expect("the current version");
    assert_eq!(first.bytes(), "version 2");
    assert_eq!(first.source(), Source::Network);
    let log = server.log();
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!(log[1].if_none_match.as_deref(), Some("\"1\""));
}

#[tokio::test]
async fn wake_ups_without_a_change_yield_nothing() {
    let server = Watched::start().await;
    let mut versions = client()
        .watch(server.url())
        .wait(Duration::from_secs(30))
        .stream();
    let first = next(&mut versions).await.expect("the current version");
    assert_eq!(etag(&first), "\"1\"");

    // Three held requests answered 304 without a change, then a change.
    let nudger = server.clone();
    tokio::spawn(async move {
        for _ in 0..3 {
            nudger.until_held().await;
            let answered = nudger.log().len();
            nudger.nudge();
            while nudger.log().len() == answered {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        nudger.until_held().await;
        nudger.change();
    });
    let second = next(&mut versions).await.expect("the new version");
    assert_eq!(etag(&second), "\"2\"");

    let statuses: Vec<(u16, Option<String>)> = server
        .log()
        .into_iter()
        .map(|logged| (logged.status, logged.applied))
        .collect();
    let waited = Some("wait=30".to_owned());
    assert_eq!(
        statuses,
        [
            (200, None),
            (304, waited.clone()),
            (304, waited.clone()),
            (304, waited.clone()),
            (200, waited),
        ]
    );
}

#[tokio::test]
async fn a_server_that_does_not_wait_is_polled_not_hammered() {
    let server = Watched::start().await;
    server.ignore_prefer(true);
    let mut versions = client()
        .watch(server.url())
        .poll_interval(Duration::from_millis(200))
        .stream();
    next(&mut versions).await.expect("the current version");

    let before = server.arrived();
    none_for(&mut versions, Duration::from_millis(1500)).await;
    let polls = server.arrived() - before;
    // One request each 150 to 200 ms; a loop without pauses would send thousands.
    assert!((2..=12).contains(&polls), "{polls} requests in 1.5 s");
    let log = server.log();
    assert!(log[1..].iter().all(|logged| logged.status == 304
        && logged.applied.is_none()
        && logged.prefer.as_deref() == Some("wait=60")));

    // Polling still finds a change.
    server.change();
    let changed = next(&mut versions).await.expect("the new version");
    assert_eq!(etag(&changed), "\"2\"");
}

#[tokio::test]
async fn a_server_that_says_it_waited_but_answers_at_once_is_not_hammered() {
    let server = Watched::start().await;
    server.hasty(true);
    let mut versions = client().watch(server.url()).stream();
    next(&mut versions).await.expect("the current version");

    let before = server.arrived();
    none_for(&mut versions, Duration::from_millis(2500)).await;
    let asked = server.arrived() - before;
    // At most one request a second.
    assert!((1..=4).contains(&asked), "{asked} requests in 2.5 s");
    let log = server.log();
    assert!(
        log[1..]
            .iter()
            .all(|logged| logged.status == 304 && logged.applied.as_deref() == Some("wait=30")),
        "{log:?}"
    );
}

#[tokio::test]
async fn a_broken_connection_and_503s_are_asked_again_without_a_duplicate() {
    let server = Watched::start().await;
    let mut versions = client()
        .watch(server.url())
        .backoff(Duration::from_millis(10), Duration::from_millis(50))
        .stream();
    next(&mut versions).await.expect("the current version");

    // The held request's answer, the new version, breaks off; then two 503s.
    let saboteur = server.clone();
    tokio::spawn(async move {
        saboteur.until_held().await;
        saboteur.cut();
        saboteur.fail_with([StatusCode::SERVICE_UNAVAILABLE; 2]);
        saboteur.change();
    });
    let second = next(&mut versions).await.expect("the new version");
    assert_eq!(etag(&second), "\"2\"");
    assert_eq!(second.bytes(), "version 2");

    let log = server.log();
    let answers: Vec<(u16, bool)> = log.iter().map(|l| (l.status, l.cut)).collect();
    assert_eq!(
        answers,
        [
            (200, false),
            (200, true),
            (503, false),
            (503, false),
            (200, false)
        ]
    );
    // Each retry names the version last yielded.
    assert!(
        log[1..]
            .iter()
            .all(|logged| logged.if_none_match.as_deref() == Some("\"1\""))
    );
    // And version 2 is not yielded again.
    none_for(&mut versions, Duration::from_millis(300)).await;
}

#[tokio::test]
async fn a_deleted_resource_ends_the_watch_with_not_found() {
    let server = Watched::start().await;
    let client = client();
    let mut versions = client.watch(server.url()).stream();
    next(&mut versions).await.expect("the current version");

    let deleter = server.clone();
    tokio::spawn(async move {
        deleter.until_held().await;
        deleter.delete();
    });
    let gone = next(&mut versions).await;
    assert!(
        matches!(gone, Err(Error::NotFound { status, .. }) if status == 404),
        "{gone:?}"
    );
    assert!(versions.next().await.is_none());
    assert!(versions.next().await.is_none());
    assert_eq!(server.log().last().map(|l| l.status), Some(404));
}

#[tokio::test]
async fn a_refusal_ends_the_watch_without_asking_again() {
    let server = Watched::start().await;
    server.fail_with([StatusCode::FORBIDDEN]);
    let mut versions = client()
        .watch(server.url())
        .backoff(Duration::from_millis(10), Duration::from_millis(50))
        .stream();
    let refused = next(&mut versions).await;
    assert!(
        matches!(refused, Err(Error::Status { status, .. }) if status == 403),
        "{refused:?}"
    );
    assert!(versions.next().await.is_none());
    assert_eq!(server.arrived(), 1);
}

#[tokio::test]
async fn a_url_that_is_not_one_is_the_only_item() {
    let mut versions = client().watch("not a url").stream();
    let error = versions.next().await.expect("an item");
    assert!(matches!(error, Err(Error::Http(_))), "{error:?}");
    assert!(versions.next().await.is_none());
}

#[tokio::test]
async fn dropping_the_stream_stops_the_requests() {
    let server = Watched::start().await;
    server.ignore_prefer(true);
    let mut versions = client()
        .watch(server.url())
        .poll_interval(Duration::from_millis(40))
        .stream();
    next(&mut versions).await.expect("the current version");
    let polling = server.arrived();
    none_for(&mut versions, Duration::from_millis(300)).await;
    assert!(server.arrived() > polling, "the watch polls while it lives");

    drop(versions);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let dropped = server.arrived();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(server.arrived(), dropped);
}

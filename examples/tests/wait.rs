//! Wait for change against the `products` binary: a GET with a matching `If-None-Match`
//! and `Prefer: wait=N` (RFC 7240 section 4.3) is held until the product changes, then
//! answered 200 with the new tag; or 304 at the end of the wait, with `Preference-Applied`
//! (section 3). On one process (SQLite), on three processes sharing a PostgreSQL database
//! (a write on one wakes a waiter on another, through `LISTEN/NOTIFY`), through nginx
//! (deploy/nginx/balancer.conf, whose read timeout is above the longest wait), and across a
//! shutdown, which answers every waiter at once.
//!
//! The tests that need PostgreSQL or nginx are `#[ignore]`d with the reason, and fail when
//! run without them (see `scale_out.rs`). Every loop here is bounded in count and time.

mod common;

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;

use common::*;

/// A product created on `target`: its path and tag.
async fn product(target: &Endpoint) -> (String, String) {
    let created = target.create("Lamp", 10.0).await;
    let path = created.expect_header("location").to_owned();
    (path, created.etag().to_owned())
}

/// `GET path` with `If-None-Match: tag` and `Prefer: wait=seconds`, sent at once in a task
/// of its own; its reply and how long it took.
fn wait_on(
    target: &Endpoint,
    path: &str,
    tag: &str,
    seconds: u64,
) -> tokio::task::JoinHandle<(Reply, Duration)> {
    let request = target
        .get(path)
        .header("if-none-match", tag)
        .header("prefer", format!("wait={seconds}"));
    tokio::spawn(async move {
        let start = Instant::now();
        let reply = send(request).await;
        (reply, start.elapsed())
    })
}

/// Waits (at most 20 s) until `target`'s `/health` says `n` reads are held.
async fn until_waiting(target: &Endpoint, n: u64) {
    let start = Instant::now();
    loop {
        let health = send(target.get("/health")).await.json();
        if health["waiting"] == n {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{n} waiters expected, /health says {health}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn rename(target: &Endpoint, path: &str, tag: &str, name: &str) -> Reply {
    send(
        target
            .request(Method::PUT, path)
            .header("if-match", tag)
            .json(&json!({ "name": name, "price": 10.0 })),
    )
    .await
}

/// The protocol on one process: a PUT from another connection answers the waiter with the
/// PUT's tag; a wait that sees no change ends in 304 at the server's maximum, which
/// `Preference-Applied` names; a delete answers the waiter 404.
#[tokio::test]
async fn a_held_get_answers_the_change_the_wait_and_the_delete() {
    let server = Server::start_with(&["--database", "sqlite::memory:", "--max-wait", "2s"]).await;
    let api = server.endpoint();
    let (path, tag) = product(&api).await;

    // A change.
    let waiter = wait_on(&api, &path, &tag, 30);
    until_waiting(&api, 1).await;
    let written = rename(&api, &path, &tag, "Desk lamp").await;
    assert_eq!(written.status, 200, "{}", written.body);
    let (reply, _) = waiter.await.unwrap();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.etag(), written.etag());
    assert_eq!(reply.json()["name"], "Desk lamp");
    assert_eq!(reply.header("preference-applied"), Some("wait=2"));

    // No change: 304 at the cap (2 s, less up to a sixteenth), not the 30 s asked for.
    let tag = written.etag().to_owned();
    let (reply, took) = wait_on(&api, &path, &tag, 30).await.unwrap();
    assert_eq!(reply.status, 304);
    assert_eq!(reply.etag(), tag);
    assert_eq!(reply.header("preference-applied"), Some("wait=2"));
    assert!(
        took >= Duration::from_millis(1_875),
        "answered after {took:?}"
    );
    assert!(took < Duration::from_secs(30), "answered after {took:?}");

    // A tag that is not current: 200 at once, not held.
    let (reply, _) = wait_on(&api, &path, "\"0\"", 30).await.unwrap();
    assert_eq!(reply.status, 200);
    assert!(!reply.has("preference-applied"));

    // A delete.
    let waiter = wait_on(&api, &path, &tag, 30);
    until_waiting(&api, 1).await;
    let deleted = send(api.request(Method::DELETE, &path).header("if-match", &tag)).await;
    assert_eq!(deleted.status, 204);
    let (reply, _) = waiter.await.unwrap();
    assert_eq!(reply.status, 404);
    until_waiting(&api, 0).await;
}

/// The list waits too, and a new product (a change of membership) answers it.
#[tokio::test]
async fn a_held_list_answers_when_a_product_is_created() {
    let server = Server::start().await;
    let api = server.endpoint();
    product(&api).await;
    let page = send(api.get("/products")).await;
    let waiter = wait_on(&api, "/products", page.etag(), 30);
    until_waiting(&api, 1).await;
    product(&api).await;
    let (reply, _) = waiter.await.unwrap();
    assert_eq!(reply.status, 200);
    assert_ne!(reply.etag(), page.etag());
    assert_eq!(
        reply.json().as_array().map(Vec::len),
        Some(2),
        "{}",
        reply.body
    );
}

/// SIGTERM with 100 waiters: every one is answered (304, the wait was applied) at once, and
/// the process exits well within its shutdown timeout, although each asked for a minute.
#[tokio::test]
async fn sigterm_answers_every_waiter_and_exits_within_the_deadline() {
    let mut server = Server::start_with(&[
        "--database",
        "sqlite::memory:",
        "--shutdown-timeout",
        "5s",
        "--max-wait",
        "60s",
    ])
    .await;
    let api = server.endpoint();
    let (path, tag) = product(&api).await;
    let waiters: Vec<_> = (0..100).map(|_| wait_on(&api, &path, &tag, 60)).collect();
    until_waiting(&api, 100).await;
    let signalled = Instant::now();
    server.signal("-TERM").await;
    let status = server.exited_within(Duration::from_secs(20)).await;
    let took = signalled.elapsed();
    assert!(status.success(), "{status:?}");
    assert!(
        took < Duration::from_secs(5),
        "exited {took:?} after SIGTERM"
    );
    for waiter in waiters {
        let (reply, waited) = waiter.await.unwrap();
        assert_eq!(reply.status, 304);
        assert_eq!(reply.header("preference-applied"), Some("wait=60"));
        assert!(waited < Duration::from_secs(30), "{waited:?}");
    }
}

/// Over `--max-waiters`, a request is answered at once without `Preference-Applied`.
#[tokio::test]
async fn over_the_cap_of_waiters_a_request_answers_at_once() {
    let server = Server::start_with(&["--database", "sqlite::memory:", "--max-waiters", "2"]).await;
    let api = server.endpoint();
    let (path, tag) = product(&api).await;
    let held = [
        wait_on(&api, &path, &tag, 30),
        wait_on(&api, &path, &tag, 30),
    ];
    until_waiting(&api, 2).await;
    let (reply, took) = wait_on(&api, &path, &tag, 30).await.unwrap();
    assert_eq!(reply.status, 304);
    assert!(!reply.has("preference-applied"));
    assert!(took < Duration::from_secs(20), "{took:?}");
    let written = rename(&api, &path, &tag, "Floor lamp").await;
    for waiter in held {
        let (reply, _) = waiter.await.unwrap();
        assert_eq!((reply.status, reply.etag()), (200, written.etag()));
    }
}

/// Three processes on one PostgreSQL database: a waiter on one is answered by a write on
/// another (`NOTIFY` on the writer's side, `LISTEN` on the waiter's), also after the
/// waiter's process lost its connections (the listener connects again and its waiters
/// look again), and through nginx in front of all three.
#[tokio::test]
#[ignore = "needs PostgreSQL (set ETAG_TEST_POSTGRES) and nginx"]
async fn a_write_on_one_process_wakes_a_waiter_on_another_and_through_nginx() {
    let test = "a_write_on_one_process_wakes_a_waiter_on_another";
    let db = PgDatabase::create(test).await;
    let mut servers = Vec::new();
    for _ in 0..3 {
        servers.push(Server::start_logging(&["--database", &db.url], "error").await);
    }
    let [a, b, c] = [0, 1, 2].map(|i| servers[i].endpoint());
    let (path, mut tag) = product(&a).await;

    for (waiter_on, writer_on) in [(&a, &b), (&b, &c), (&c, &a)] {
        let waiter = wait_on(waiter_on, &path, &tag, 30);
        until_waiting(waiter_on, 1).await;
        let written = rename(
            writer_on,
            &path,
            &tag,
            &format!("via {}", writer_on.url("")),
        )
        .await;
        assert_eq!(written.status, 200, "{}", written.body);
        let (reply, took) = waiter.await.unwrap();
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.etag(), written.etag());
        assert!(took < Duration::from_secs(25), "{took:?}");
        tag = written.etag().to_owned();
    }

    // Every session on the database ends (as in a server restart): the listeners connect
    // again, and a write after that still wakes a waiter elsewhere.
    let mut admin = db.admin().await;
    assert!(db.terminate_sessions(&mut admin).await > 0);
    let start = Instant::now();
    let written = loop {
        let waiter = wait_on(&a, &path, &tag, 5);
        until_waiting(&a, 1).await;
        let written = rename(&b, &path, &tag, "after the restart").await;
        if written.status == 200 {
            let (reply, _) = waiter.await.unwrap();
            assert_eq!((reply.status, reply.etag()), (200, written.etag()));
            break written;
        }
        // The pool found its connections dead: the write failed with 503; again.
        assert_eq!(written.status, 503, "{}", written.body);
        assert!(start.elapsed() < Duration::from_secs(20));
        let _ = waiter.await;
    };
    tag = written.etag().to_owned();

    // Through nginx (deploy/nginx/balancer.conf): held, and answered by a write sent to a
    // process directly.
    let nginx = Nginx::start(
        &nginx_binary(test),
        "balancer.conf",
        &servers.iter().map(Server::addr).collect::<Vec<_>>(),
    )
    .await;
    let waiter = wait_on(&nginx.endpoint, &path, &tag, 30);
    let start = Instant::now();
    loop {
        let waiting = held(&[&a, &b, &c]).await;
        if waiting == 1 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no process holds the request"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let written = rename(&c, &path, &tag, "through nginx").await;
    let (reply, _) = waiter.await.unwrap();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.etag(), written.etag());
    assert_eq!(reply.header("preference-applied"), Some("wait=30"));
    drop(nginx);
}

/// How many reads the processes hold, together.
async fn held(targets: &[&Endpoint]) -> u64 {
    let mut total = 0;
    for target in targets {
        total += send(target.get("/health")).await.json()["waiting"]
            .as_u64()
            .expect("waiting");
    }
    total
}

/// A client that goes away while its request is held frees its place at once: hyper sees
/// the connection close, and drops the request's future, which leaves the feed.
#[tokio::test]
async fn a_waiter_that_hangs_up_leaves_at_once() {
    use tokio::io::AsyncWriteExt as _;

    let server = Server::start().await;
    let api = server.endpoint();
    let (path, tag) = product(&api).await;
    let mut stream = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: x\r\nIf-None-Match: {tag}\r\nPrefer: wait=60\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    until_waiting(&api, 1).await;
    drop(stream);
    until_waiting(&api, 0).await;
}

/// The header-read and idle timeouts do not cut a held request off: they apply to a
/// connection between requests, not to one whose request is being handled.
#[tokio::test]
async fn a_wait_outlasts_the_header_read_and_idle_timeouts() {
    let server = Server::start_with(&[
        "--database",
        "sqlite::memory:",
        "--header-read-timeout",
        "1",
        "--idle-timeout",
        "1",
        "--max-wait",
        "3s",
    ])
    .await;
    let api = server.endpoint();
    let (path, tag) = product(&api).await;
    let (reply, took) = wait_on(&api, &path, &tag, 3).await.unwrap();
    assert_eq!(reply.status, 304);
    assert_eq!(reply.header("preference-applied"), Some("wait=3"));
    assert!(
        took >= Duration::from_millis(2_800),
        "answered after {took:?}"
    );
}

//! Concurrent writers lose no update, on one process and on two sharing a database.
//!
//! Read-modify-write clients, and a DELETE racing PUTs that wins once.
//!
//! The `products` binary, started as a real process on a free loopback port (an in-memory
//! database unless a test says otherwise), and driven over HTTP.

mod common;

use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use common::*;

/// `clients` concurrent clients each make `cycles` changes of +1 cent by GET, then PUT with
/// If-Match, retrying on 412; client `i` talks to server `i % servers.len()`. Checks that
/// no change was lost.
async fn race_read_modify_write(servers: &[Arc<Server>], clients: usize, cycles: usize) {
    let created = servers[0].create("Counter", 10.0).await;
    let path = created.header("location").unwrap().to_owned();
    let start_cents = cents(&created.json());
    let targets = (0..clients)
        .map(|client| servers[client % servers.len()].clone())
        .collect();
    let tally = races::read_modify_write(targets, &path, cycles, Duration::from_secs(600)).await;
    for server in servers {
        races::assert_changes_counted(server, &path, start_cents, tally.successes).await;
    }
}

#[tokio::test]
async fn concurrent_read_modify_write_loses_no_update() {
    let server = Arc::new(Server::start().await);
    race_read_modify_write(&[server], 16, 50).await;
}

/// Two processes on one SQLite file: the version guard is in the database, not in either
/// process.
#[tokio::test]
async fn two_processes_on_one_database_lose_no_update() {
    let dir = temp_dir();
    let url = format!("sqlite://{}", dir.join("shared.db").display());
    let a = Arc::new(Server::start_with(&["--database", &url]).await);
    let b = Arc::new(Server::start_with(&["--database", &url]).await);
    race_read_modify_write(&[a, b], 8, 20).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn delete_racing_puts_wins_once_and_stops_every_later_put() {
    const WRITERS: usize = 8;
    let server = Arc::new(Server::start().await);
    let created = server.create("Doomed", 5.0).await;
    let path = created.header("location").unwrap().to_owned();
    // Writers read-modify-write until the product is gone; the deleter waits for some
    // writes, then deletes the version it read, retrying on 412.
    let writers = vec![server.clone(); WRITERS];
    let limit = Duration::from_secs(300);
    let deleted_version = races::delete_racing_puts(writers, server.clone(), &path, limit).await;

    send(server.get(&path)).await.assert_problem(404);
    let tag = format!("\"{deleted_version}\"");
    for method in [Method::PUT, Method::DELETE] {
        let mut request = server
            .request(method.clone(), &path)
            .header("if-match", &tag);
        if method == Method::PUT {
            request = request.json(&json!({"name": "Back", "price": 1}));
        }
        let reply = send(request).await;
        assert!(
            matches!(reply.status, 404 | 412),
            "{method}: {}",
            reply.status
        );
    }
    assert_eq!(send(server.get("/products")).await.json(), json!([]));
}

/// RFC 9110 section 8.8.1: a strong tag names one representation. Readers collect every
/// (ETag, body) pair of the list page and of the items, conditional and not, while writers
/// change the products; the validators come from the cheap stamp queries first, and each
/// 200 must carry the tag of the body it sends.
#[tokio::test]
async fn no_strong_tag_names_two_bodies_under_writes() {
    let server = Arc::new(Server::start().await);
    let mut paths = Vec::new();
    for i in 0..4 {
        let created = server.create(&format!("Item {i}"), 1.0).await;
        paths.push(created.header("location").unwrap().to_owned());
    }
    let writers = (0..6).map(|w| {
        let (server, paths) = (server.clone(), paths.clone());
        tokio::spawn(async move {
            for i in 0..30 {
                let path = &paths[(w + i) % paths.len()];
                let body = json!({ "name": format!("Item {w}.{i}"), "price": 1.0 + i as f64 });
                let reply = send(
                    server
                        .request(Method::PUT, path)
                        .header("if-match", "*")
                        .json(&body),
                )
                .await;
                assert_eq!(reply.status, 200, "{}", reply.body);
            }
        })
    });
    let readers = (0..4).map(|r| {
        let (server, paths) = (server.clone(), paths.clone());
        tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut last: Option<String> = None;
            for i in 0..60 {
                let path = if i % 2 == 0 {
                    "/products".to_owned()
                } else {
                    paths[(r + i) % paths.len()].clone()
                };
                let mut request = server.get(&path);
                // Conditional reads take the cheap-stamp path; a stale tag gets a 200.
                if let Some(tag) = last.as_ref().filter(|_| i % 3 != 0) {
                    request = request.header("if-none-match", tag.as_str());
                }
                let reply = send(request).await;
                if reply.status == 200 {
                    last = Some(reply.etag().to_owned());
                    seen.push((path, reply.etag().to_owned(), reply.body.clone()));
                } else {
                    assert_eq!(reply.status, 304);
                }
            }
            seen
        })
    });
    let (writers, readers) = futures_util::future::join(
        futures_util::future::join_all(writers),
        futures_util::future::join_all(readers),
    )
    .await;
    for writer in writers {
        writer.unwrap();
    }
    let mut bodies = std::collections::HashMap::new();
    let mut pairs = 0;
    for (path, etag, body) in readers.into_iter().flat_map(Result::unwrap) {
        pairs += 1;
        let first = bodies
            .entry((path.clone(), etag.clone()))
            .or_insert_with(|| body.clone());
        assert_eq!(
            *first, body,
            "{path}: the strong tag {etag} names two bodies"
        );
    }
    assert!(pairs >= 100, "only {pairs} 200s were collected");
}

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

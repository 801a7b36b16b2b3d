//! Writers racing on the `products` API, through any [`Target`]: the read-modify-write race
//! that must lose no update, a DELETE racing PUTs, which must win once and stop every later
//! PUT, and POSTs racing create-only PUTs of the ids they are about to hand out.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;

use crate::Reply;
use crate::client::{Target, send};
use crate::products::cents;

/// `PUT path` of the product `current` read, one cent dearer, with its `If-Match`.
async fn one_cent_more(target: &impl Target, path: &str, current: &Reply) -> Reply {
    let product = current.json();
    send(
        target
            .request(Method::PUT, path)
            .header("if-match", current.etag())
            .json(&json!({
                "name": product["name"],
                "price": (cents(&product) + 1) as f64 / 100.0,
            })),
    )
    .await
}

/// What the clients of [`read_modify_write`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    /// PUTs that succeeded: changes made.
    pub successes: u64,
    /// PUTs that got 412 and were tried again.
    pub conflicts: u64,
}

/// One client per target in `clients`, each making `cycles` changes of +1 cent to the
/// product at `path` by GET, then PUT with `If-Match`, trying again on 412, within `limit`.
/// Asserts that every change was made and that the clients did race (some 412).
///
/// ```no_run
/// # async fn f() {
/// use etag_test_support::products::Server;
/// use etag_test_support::races::read_modify_write;
/// use std::{sync::Arc, time::Duration};
///
/// let server = Arc::new(Server::start().await);
/// let created = server.create("Counter", 10.0).await;
/// let path = created.header("location").unwrap();
/// let tally = read_modify_write(vec![server.clone(); 4], path, 10, Duration::from_secs(60)).await;
/// assert_eq!(tally.successes, 40);
/// # }
/// ```
pub async fn read_modify_write<T>(
    clients: Vec<T>,
    path: &str,
    cycles: usize,
    limit: Duration,
) -> Tally
where
    T: Target + Send + Sync + 'static,
{
    let started = Instant::now();
    let count = clients.len();
    let mut tasks = Vec::new();
    for client in clients {
        let path = path.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut tally = Tally {
                successes: 0,
                conflicts: 0,
            };
            for _ in 0..cycles {
                let mut attempts = 0;
                loop {
                    attempts += 1;
                    assert!(attempts < 5_000, "no progress");
                    assert!(started.elapsed() < limit, "not done within {limit:?}");
                    let current = send(client.get(&path)).await;
                    assert_eq!(current.status, 200, "{}", current.body);
                    let reply = one_cent_more(&client, &path, &current).await;
                    match reply.status {
                        200 => {
                            tally.successes += 1;
                            break;
                        }
                        412 => tally.conflicts += 1,
                        other => panic!("unexpected {other}: {}", reply.body),
                    }
                }
            }
            tally
        }));
    }
    let mut total = Tally {
        successes: 0,
        conflicts: 0,
    };
    for task in tasks {
        let tally = task.await.expect("a client failed");
        total.successes += tally.successes;
        total.conflicts += tally.conflicts;
    }
    assert_eq!(total.successes, (count * cycles) as u64);
    assert!(total.conflicts > 0, "the clients never raced");
    total
}

/// Asserts that the product at `path` on `target` holds exactly `successes` changes of
/// +1 cent over `start_cents`, each of which made one version (the product was created
/// at version 1).
pub async fn assert_changes_counted(
    target: &impl Target,
    path: &str,
    start_cents: i64,
    successes: u64,
) {
    let last = send(target.get(path)).await;
    let product = last.json();
    assert_eq!(cents(&product), start_cents + successes as i64);
    assert_eq!(product["version"], json!(1 + successes));
    assert_eq!(last.etag(), format!("\"{}\"", 1 + successes));
}

/// Read-modify-write on the product at `path` by each of `writers` until it is gone, while
/// `deleter` waits for twenty changes and then deletes the version it read (trying again
/// on 412), all within `limit`. Asserts that the DELETE won once, that every change before
/// it made exactly one version and that no PUT sent after it succeeded; the version it
/// deleted.
///
/// ```no_run
/// # async fn f() {
/// use etag_test_support::products::Server;
/// use etag_test_support::races::delete_racing_puts;
/// use std::{sync::Arc, time::Duration};
///
/// let server = Arc::new(Server::start().await);
/// let created = server.create("Doomed", 5.0).await;
/// let path = created.header("location").unwrap();
/// let limit = Duration::from_secs(120);
/// let deleted = delete_racing_puts(vec![server.clone(); 8], server, path, limit).await;
/// assert!(deleted > 20);
/// # }
/// ```
pub async fn delete_racing_puts<T>(writers: Vec<T>, deleter: T, path: &str, limit: Duration) -> i64
where
    T: Target + Send + Sync + 'static,
{
    let started = Instant::now();
    let successes = Arc::new(AtomicU64::new(0));
    // Each success is recorded with the time its request was sent and the version it made.
    let mut tasks = Vec::new();
    for writer in writers {
        let (path, successes) = (path.to_owned(), successes.clone());
        tasks.push(tokio::spawn(async move {
            let mut won = Vec::new();
            for _ in 0..10_000 {
                let current = send(writer.get(&path)).await;
                if current.status == 404 {
                    return won;
                }
                assert_eq!(current.status, 200);
                let sent = started.elapsed();
                let reply = one_cent_more(&writer, &path, &current).await;
                match reply.status {
                    200 => {
                        successes.fetch_add(1, Ordering::Relaxed);
                        won.push((sent, reply.json()["version"].as_i64().unwrap()));
                    }
                    412 => {}
                    other => panic!("unexpected {other}: {}", reply.body),
                }
            }
            panic!("the product was never deleted");
        }));
    }

    while successes.load(Ordering::Relaxed) < 20 {
        assert!(started.elapsed() < limit, "no writes within {limit:?}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let (deleted_version, deleted_at) = loop {
        assert!(started.elapsed() < limit, "not deleted within {limit:?}");
        let current = send(deleter.get(path)).await;
        assert_eq!(current.status, 200);
        let tag = current.etag().to_owned();
        let reply = send(
            deleter
                .request(Method::DELETE, path)
                .header("if-match", &tag),
        )
        .await;
        match reply.status {
            204 => {
                let version: i64 = tag.trim_matches('"').parse().expect("a version tag");
                break (version, started.elapsed());
            }
            412 => continue,
            other => panic!("unexpected {other}: {}", reply.body),
        }
    };

    let mut versions = Vec::new();
    for task in tasks {
        for (sent, version) in task.await.expect("a writer failed") {
            assert!(
                sent < deleted_at,
                "a PUT sent after the DELETE completed succeeded"
            );
            versions.push(version);
        }
    }
    versions.sort_unstable();
    // Every success made exactly one version, and the DELETE removed the last of them.
    assert_eq!(versions, (2..=deleted_version).collect::<Vec<i64>>());
    assert_eq!(
        successes.load(Ordering::Relaxed),
        (deleted_version - 1) as u64
    );
    deleted_version
}

/// Each of `posters` POSTs `posts` products while one client PUTs, create-only
/// (`If-None-Match: *`), every id from 1 to the number of POSTs, id `i` through
/// `putters[i % putters.len()]`. Asserts that every id was created once and that every POST
/// got one; how many products there are.
///
/// ```no_run
/// # async fn f() {
/// use etag_test_support::products::Server;
/// use etag_test_support::races::posts_racing_create_only_puts;
/// use std::sync::Arc;
///
/// let server = Arc::new(Server::start().await);
/// let total = posts_racing_create_only_puts(vec![server.clone(); 4], vec![server], 10).await;
/// assert!(total >= 40);
/// # }
/// ```
pub async fn posts_racing_create_only_puts<T>(
    posters: Vec<T>,
    putters: Vec<T>,
    posts: usize,
) -> usize
where
    T: Target + Send + Sync + 'static,
{
    assert!(!putters.is_empty(), "a target to PUT through");
    let count = posters.len() * posts;
    let mut tasks = Vec::new();
    for poster in posters {
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for _ in 0..posts {
                let reply = crate::client::create(&poster, "Posted", 1.0).await;
                ids.push(reply.json()["id"].as_i64().expect("an id"));
            }
            ids
        }));
    }
    let putter = tokio::spawn(async move {
        let mut ids = Vec::new();
        for id in 1..=count as i64 {
            let putter = &putters[id as usize % putters.len()];
            let reply = send(
                putter
                    .request(Method::PUT, &format!("/products/{id}"))
                    .header("if-none-match", "*")
                    .json(&json!({"name": "Put", "price": 2.0})),
            )
            .await;
            match reply.status {
                201 => ids.push(id),
                412 => {}
                other => panic!("unexpected {other}: {}", reply.body),
            }
        }
        ids
    });
    let mut ids = putter.await.expect("the putter failed");
    let put = ids.len();
    for task in tasks {
        ids.extend(task.await.expect("a poster failed"));
    }
    ids.sort_unstable();
    let total = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), total, "an id was created twice");
    assert_eq!(total, put + count);
    total
}

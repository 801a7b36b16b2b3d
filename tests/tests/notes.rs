//! The README's notes service, built on `Conditions::write` and `Conditions::read`, on
//! SQLite, PostgreSQL and MariaDB (`notes/*.rs`), under 16 concurrent writers: no lost
//! update, no wrong 412 for `If-Match: *` or for an `If-Match` list naming the current
//! tag (RFC 9110 section 13.1.1), and no strong tag naming two bodies (section 8.8.1).
//!
//! SQLite runs everywhere, on a file. PostgreSQL and MariaDB are `#[ignore]`d: run them
//! with `--ignored` and `ETAG_TEST_POSTGRES` (an admin URL, as for the example's tests)
//! and `ETAG_TEST_MYSQL` (`mysql://root@127.0.0.1:3306/test`); each test makes a
//! database of its own and drops it. Without the variable they fail, saying so.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::http::Method;
use etag_test_support::router::send;

#[path = "notes/mysql.rs"]
mod mysql;
#[path = "notes/postgres.rs"]
mod postgres;
#[path = "notes/sqlite.rs"]
mod sqlite;

/// Writers at once, and what each does.
const WRITERS: usize = 16;
const INCREMENTS: usize = 10;
const STAR_WRITES: usize = 10;

type Reply = etag_test_support::Reply<axum::body::Bytes>;

/// `PUT uri` with `{"body": body}`.
async fn put(app: &Router, uri: &str, headers: &[(&str, &str)], body: &str) -> Reply {
    let json = serde_json::json!({ "body": body }).to_string();
    send(app, Method::PUT, uri, headers, Some(&json)).await
}

/// The version in a note's tag.
fn version(etag: &str) -> i64 {
    etag.trim_matches('"').parse().expect("a version tag")
}

/// A note's body, as the service stores it.
fn body(reply: &Reply) -> String {
    reply.json()["body"].as_str().expect("a note").to_owned()
}

/// Every scenario, on one database's app.
async fn under_contention(app: Router, gapless: bool) {
    let app = &app;
    let reply = put(app, "/notes/1", &[("if-none-match", "*")], "0").await;
    assert_eq!(reply.status, 201);
    let reply = put(app, "/notes/2", &[("if-none-match", "*")], "star").await;
    assert_eq!(reply.status, 201);
    let reply = put(app, "/notes/2", &[("if-match", "*")], "star").await;
    assert_eq!(reply.status, 200);

    let successes = Arc::new(AtomicUsize::new(0));
    let wrong_412 = Arc::new(AtomicUsize::new(0));
    let contended = Arc::new(AtomicUsize::new(0));
    let tasks = (0..WRITERS).map(|w| {
        let (app, successes, wrong_412, contended) = (
            app.clone(),
            successes.clone(),
            wrong_412.clone(),
            contended.clone(),
        );
        tokio::spawn(async move {
            // Note 1: read-modify-write increments with If-Match, re-read on 412.
            for _ in 0..INCREMENTS {
                let mut attempts = 0;
                loop {
                    attempts += 1;
                    assert!(attempts < 500, "an increment that never lands");
                    let read = send(&app, Method::GET, "/notes/1", &[], None).await;
                    assert_eq!(read.status, 200);
                    let n: i64 = body(&read).parse().unwrap();
                    let reply = put(
                        &app,
                        "/notes/1",
                        &[("if-match", read.etag())],
                        &(n + 1).to_string(),
                    )
                    .await;
                    match reply.status {
                        200 => break,
                        412 => continue,
                        other => panic!("increment answered {other}"),
                    }
                }
                successes.fetch_add(1, Ordering::Relaxed);
            }
            // Note 2: If-Match: * and lists that name the current tag among 256.
            for i in 0..STAR_WRITES {
                let text = format!("writer {w}, write {i}");
                // A 503 (the write lost the race every time it was tried, as a list
                // writer can against many `*` writers) is retried, as its Retry-After says.
                let mut tries = 0;
                let reply = loop {
                    tries += 1;
                    assert!(tries < 100, "a write that never lands");
                    let reply = if i % 2 == 0 {
                        put(&app, "/notes/2", &[("if-match", "*")], &text).await
                    } else {
                        let read = send(&app, Method::GET, "/notes/2", &[], None).await;
                        let from = version(read.etag());
                        let list: Vec<String> =
                            (from..from + 256).map(|v| format!("\"{v}\"")).collect();
                        let reply =
                            put(&app, "/notes/2", &[("if-match", &list.join(", "))], &text).await;
                        if reply.status == 412 {
                            let current = reply.json()["current_etag"].as_str().map(version);
                            if current.is_some_and(|v| (from..from + 256).contains(&v)) {
                                wrong_412.fetch_add(1, Ordering::Relaxed);
                            }
                            // Beyond the list: a right 412; the write is not counted.
                            break None;
                        }
                        reply
                    };
                    if reply.status != 503 {
                        break Some(reply);
                    }
                    assert_eq!(reply.expect_header("retry-after"), "1");
                    contended.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(std::time::Duration::from_millis(5 * tries)).await;
                };
                let Some(reply) = reply else { continue };
                match reply.status {
                    200 => {
                        successes.fetch_add(1, Ordering::Relaxed);
                    }
                    412 => {
                        wrong_412.fetch_add(1, Ordering::Relaxed);
                    }
                    other => panic!("write to note 2 answered {other}"),
                }
            }
        })
    });
    for task in futures_util::future::join_all(tasks).await {
        task.unwrap();
    }
    assert_eq!(
        wrong_412.load(Ordering::Relaxed),
        0,
        "412s for writes whose preconditions held"
    );
    println!(
        "{} writes landed; {} answers were 503 (retried)",
        successes.load(Ordering::Relaxed),
        contended.load(Ordering::Relaxed)
    );
    let final_note = send(app, Method::GET, "/notes/1", &[], None).await;
    assert_eq!(
        body(&final_note),
        (WRITERS * INCREMENTS).to_string(),
        "lost updates"
    );
    // Every successful write took one version, and on a counter row nothing else did: two
    // creates and the first If-Match: * write before the writers. (A PostgreSQL sequence
    // also hands out values to statements that then match no row.)
    let newest = [1, 2].map(|id| async move {
        version(
            send(app, Method::GET, &format!("/notes/{id}"), &[], None)
                .await
                .etag(),
        )
    });
    let newest = futures_util::future::join_all(newest)
        .await
        .into_iter()
        .max()
        .unwrap();
    let expected = 3 + successes.load(Ordering::Relaxed) as i64;
    if gapless {
        assert_eq!(newest, expected, "versions given = writes that landed");
    } else {
        assert!(
            newest >= expected,
            "{newest} versions for {expected} writes"
        );
    }

    // An idempotent retry: the first answer lost, the same PUT with the same
    // Idempotency-Key is 200, not 412 (RFC 9110 section 13.1.1). The same body without
    // the key is someone else's change: 412.
    let before = send(app, Method::GET, "/notes/2", &[], None).await;
    let tag = before.etag();
    let first = put(
        app,
        "/notes/2",
        &[("if-match", tag), ("idempotency-key", "k1")],
        "retried",
    )
    .await;
    assert_eq!(first.status, 200);
    let again = put(
        app,
        "/notes/2",
        &[("if-match", tag), ("idempotency-key", "k1")],
        "retried",
    )
    .await;
    assert_eq!(again.status, 200, "the change is already there");
    assert_eq!(again.etag(), first.etag());
    let same_body = put(app, "/notes/2", &[("if-match", tag)], "retried").await;
    assert_eq!(same_body.assert_problem(412)["current_etag"], first.etag());
    let other_key = put(
        app,
        "/notes/2",
        &[("if-match", tag), ("idempotency-key", "k2")],
        "retried",
    )
    .await;
    assert_eq!(other_key.status, 412);

    // A guarded delete: stale 412, current 204, then 404 whatever the preconditions.
    let stale = send(
        app,
        Method::DELETE,
        "/notes/2",
        &[("if-match", before.etag())],
        None,
    )
    .await;
    assert_eq!(stale.status, 412);
    let gone = send(
        app,
        Method::DELETE,
        "/notes/2",
        &[("if-match", first.etag())],
        None,
    )
    .await;
    assert_eq!(gone.status, 204);
    let again = send(
        app,
        Method::DELETE,
        "/notes/2",
        &[("if-match", first.etag())],
        None,
    )
    .await;
    assert_eq!(again.status, 404);

    // Create-only: one of 16 wins, the others are told it exists (412, naming its tag).
    let answers = futures_util::future::join_all((0..WRITERS).map(|i| async move {
        put(app, "/notes/3", &[("if-none-match", "*")], &i.to_string()).await
    }))
    .await;
    let created: Vec<_> = answers.iter().filter(|r| r.status == 201).collect();
    let statuses: Vec<u16> = answers.iter().map(|r| r.status).collect();
    assert_eq!(created.len(), 1, "one create of 16: {statuses:?}");
    for refused in answers.iter().filter(|r| r.status != 201) {
        let problem = refused.assert_problem(412);
        assert_eq!(problem["current_etag"], created[0].etag());
    }
}

/// Readers collect every (ETag, body) pair of the list and of the items while writers
/// change them: each strong tag names exactly one body.
async fn tags_name_one_body(app: Router) {
    for id in 1..=4 {
        let reply = put(
            &app,
            &format!("/notes/{id}"),
            &[("if-none-match", "*")],
            "new",
        )
        .await;
        assert_eq!(reply.status, 201);
    }
    let writers = (0..8).map(|w| {
        let app = app.clone();
        tokio::spawn(async move {
            for i in 0..40 {
                let uri = format!("/notes/{}", 1 + (w + i) % 4);
                let reply = put(&app, &uri, &[("if-match", "*")], &format!("{w}.{i}")).await;
                assert_eq!(reply.status, 200);
            }
        })
    });
    let readers = (0..4).map(|r| {
        let app = app.clone();
        tokio::spawn(async move {
            let mut seen: Vec<(String, String, Vec<u8>)> = Vec::new();
            let mut last = String::new();
            for i in 0..80 {
                let uri = if i % 2 == 0 {
                    "/notes".to_owned()
                } else {
                    format!("/notes/{}", 1 + (r + i) % 4)
                };
                // Half of them conditional on the last tag seen: a 304 is fine, a 200 counts.
                let headers: Vec<(&str, &str)> = if i % 4 == 0 && !last.is_empty() {
                    vec![("if-none-match", last.as_str())]
                } else {
                    vec![]
                };
                let reply = send(&app, Method::GET, &uri, &headers, None).await;
                if reply.status == 200 {
                    last = reply.etag().to_owned();
                    seen.push((uri, reply.etag().to_owned(), reply.body.to_vec()));
                } else {
                    assert_eq!(reply.status, 304);
                }
            }
            seen
        })
    });
    let (_, seen) = futures_util::future::join(
        futures_util::future::join_all(writers),
        futures_util::future::join_all(readers),
    )
    .await;
    let mut bodies: HashMap<(String, String), Vec<u8>> = HashMap::new();
    let mut pairs = 0;
    for (uri, etag, body) in seen.into_iter().flat_map(Result::unwrap) {
        pairs += 1;
        let first = bodies
            .entry((uri.clone(), etag.clone()))
            .or_insert_with(|| body.clone());
        assert_eq!(
            String::from_utf8_lossy(first),
            String::from_utf8_lossy(&body),
            "{uri}: the strong tag {etag} names two bodies"
        );
    }
    assert!(pairs >= 100, "only {pairs} 200s were collected");
}

// ---- SQLite ----

async fn sqlite_app() -> (Router, std::path::PathBuf) {
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
    let path = std::env::temp_dir().join(format!(
        "etag-notes-{}-{}.sqlite",
        std::process::id(),
        fastrand::u64(..)
    ));
    let options = SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .busy_timeout(std::time::Duration::from_secs(10));
    let pool = SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await
        .unwrap();
    for statement in [
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL, version INTEGER NOT NULL,
             request TEXT)",
        "CREATE TABLE note_versions (last INTEGER NOT NULL)",
        "INSERT INTO note_versions VALUES (0)",
        "CREATE TRIGGER note_created AFTER INSERT ON notes
             BEGIN UPDATE note_versions SET last = NEW.version; END",
        "CREATE TRIGGER note_changed AFTER UPDATE ON notes
             BEGIN UPDATE note_versions SET last = NEW.version; END",
    ] {
        sqlx::query(statement).execute(&pool).await.unwrap();
    }
    (sqlite::app(pool), path)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_writers_lose_no_update_and_get_no_wrong_412() {
    let (app, path) = sqlite_app().await;
    under_contention(app, true).await;
    let _ = std::fs::remove_file(path);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_strong_tags_name_one_body_under_writes() {
    let (app, path) = sqlite_app().await;
    tags_name_one_body(app).await;
    let _ = std::fs::remove_file(path);
}

/// A proxy on loopback to `upstream` that forwards every HTTP/1.1 exchange, except that it
/// drops the connection instead of answering the first `PUT`: the server applied the
/// write, and the client never heard. Returns its address and how many PUTs it saw.
async fn losing_proxy(upstream: std::net::SocketAddr) -> (std::net::SocketAddr, Arc<AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// One message (head and a `Content-Length` body), or `None` at the end of the stream.
    async fn message(stream: &mut tokio::net::TcpStream) -> Option<Vec<u8>> {
        let mut buf = Vec::new();
        let mut byte = [0u8; 1];
        while !buf.ends_with(b"\r\n\r\n") {
            if stream.read(&mut byte).await.ok()? == 0 {
                return None;
            }
            buf.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&buf).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .map_or(0, |v| v.trim().parse().unwrap());
        let mut body = vec![0; length];
        stream.read_exact(&mut body).await.ok()?;
        buf.extend(body);
        Some(buf)
    }

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let puts = Arc::new(AtomicUsize::new(0));
    let seen = puts.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut client, _)) = listener.accept().await else {
                return;
            };
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut server = tokio::net::TcpStream::connect(upstream).await.unwrap();
                while let Some(request) = message(&mut client).await {
                    server.write_all(&request).await.unwrap();
                    let Some(response) = message(&mut server).await else {
                        return;
                    };
                    if request.starts_with(b"PUT ") && seen.fetch_add(1, Ordering::SeqCst) == 0 {
                        return; // both connections dropped: the answer is lost
                    }
                    client.write_all(&response).await.unwrap();
                }
            });
        }
    });
    (addr, puts)
}

/// RFC 9110 section 13.1.1: a write whose first answer was lost is sent again as it was,
/// with the same `Idempotency-Key`; the service finds its own write there and answers 200,
/// and etag-client reports the update done, applied once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_whose_answer_is_lost_is_applied_once_and_reported_done() {
    let (app, path) = sqlite_app().await;
    let created = put(&app, "/notes/1", &[("if-none-match", "*")], "1").await;
    assert_eq!(created.status, 201);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let (proxy, puts) = losing_proxy(upstream).await;

    let client = etag_client::Client::new(etag_client::reqwest::Client::new());
    let written = client
        .update(
            format!("http://{proxy}/notes/1"),
            |mut note: serde_json::Value| {
                let n: i64 = note["body"].as_str().unwrap().parse().unwrap();
                note["body"] = (n + 1).to_string().into();
                note
            },
        )
        .send()
        .await
        .expect("the update is reported done");
    assert_eq!(written.status(), 200);
    assert_eq!(written.json::<serde_json::Value>().unwrap()["body"], "2");
    assert_eq!(puts.load(Ordering::SeqCst), 2, "the write was sent twice");
    let read = reqwest_get(&format!("http://{upstream}/notes/1")).await;
    assert_eq!(read["body"], "2", "applied once");
    let _ = std::fs::remove_file(path);
}

async fn reqwest_get(url: &str) -> serde_json::Value {
    let bytes = etag_client::reqwest::get(url)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

// ---- PostgreSQL ----

/// A database of the test's own on the server `ETAG_TEST_POSTGRES` names, dropped after.
struct PgDatabase {
    admin: String,
    name: String,
    pool: sqlx::PgPool,
}

impl PgDatabase {
    async fn create() -> Self {
        let admin = std::env::var("ETAG_TEST_POSTGRES").expect(
            "needs PostgreSQL: set ETAG_TEST_POSTGRES to an admin URL, e.g. postgres://postgres@127.0.0.1:5432/postgres",
        );
        let name = format!("etag_notes_{}_{}", std::process::id(), fastrand::u32(..));
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin)
            .await
            .unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .unwrap();
        let url = match admin.rsplit_once('/') {
            Some((server, _)) => format!("{server}/{name}"),
            None => panic!("ETAG_TEST_POSTGRES is not a URL with a database: {admin}"),
        };
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(10)
            .connect(&url)
            .await
            .unwrap();
        for statement in [
            "CREATE SEQUENCE note_versions",
            "CREATE TABLE notes (id BIGINT PRIMARY KEY, body TEXT NOT NULL, version BIGINT NOT NULL,
             request TEXT)",
        ] {
            sqlx::query(statement).execute(&pool).await.unwrap();
        }
        Self { admin, name, pool }
    }

    async fn drop(self) {
        self.pool.close().await;
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&self.admin)
            .await
            .unwrap();
        sqlx::query(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ))
        .execute(&mut conn)
        .await
        .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: ETAG_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/postgres"]
async fn postgres_writers_lose_no_update_and_get_no_wrong_412() {
    let db = PgDatabase::create().await;
    under_contention(postgres::app(db.pool.clone()), false).await;
    db.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: ETAG_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/postgres"]
async fn postgres_strong_tags_name_one_body_under_writes() {
    let db = PgDatabase::create().await;
    tags_name_one_body(postgres::app(db.pool.clone())).await;
    db.drop().await;
}

/// The README's snippet is `notes/postgres.rs` below its marker, to the letter: the code
/// the PostgreSQL tests above run under contention.
#[test]
fn the_readme_snippet_is_the_code_run_under_contention() {
    let readme = include_str!("../../README.md");
    let module = include_str!("notes/postgres.rs");
    let snippet = module
        .split_once("// ---- README ----\n")
        .expect("the marker")
        .1;
    assert!(
        readme.contains(snippet),
        "README.md's notes snippet differs from tests/tests/notes/postgres.rs"
    );
}

// ---- MariaDB / MySQL ----

/// A database of the test's own on the server `ETAG_TEST_MYSQL` names, dropped after.
struct MyDatabase {
    admin: String,
    name: String,
    pool: sqlx::MySqlPool,
}

impl MyDatabase {
    async fn create() -> Self {
        let admin = std::env::var("ETAG_TEST_MYSQL").expect(
            "needs MariaDB or MySQL: set ETAG_TEST_MYSQL to an admin URL, e.g. mysql://root@127.0.0.1:3306/test",
        );
        let name = format!("etag_notes_{}_{}", std::process::id(), fastrand::u32(..));
        let mut conn = <sqlx::MySqlConnection as sqlx::Connection>::connect(&admin)
            .await
            .unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .unwrap();
        let url = match admin.rsplit_once('/') {
            Some((server, _)) => format!("{server}/{name}"),
            None => panic!("ETAG_TEST_MYSQL is not a URL with a database: {admin}"),
        };
        let pool = sqlx::mysql::MySqlPoolOptions::new()
            .max_connections(10)
            .connect(&url)
            .await
            .unwrap();
        for statement in [
            "CREATE TABLE notes (id BIGINT PRIMARY KEY, body TEXT NOT NULL, version BIGINT NOT NULL,
             request TEXT)",
            "CREATE TABLE note_versions (last BIGINT NOT NULL)",
            "INSERT INTO note_versions VALUES (0)",
        ] {
            sqlx::query(statement).execute(&pool).await.unwrap();
        }
        Self { admin, name, pool }
    }

    async fn drop(self) {
        self.pool.close().await;
        let mut conn = <sqlx::MySqlConnection as sqlx::Connection>::connect(&self.admin)
            .await
            .unwrap();
        sqlx::query(&format!("DROP DATABASE IF EXISTS {}", self.name))
            .execute(&mut conn)
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs MariaDB or MySQL: ETAG_TEST_MYSQL=mysql://root@127.0.0.1:3306/test"]
async fn mariadb_writers_lose_no_update_and_get_no_wrong_412() {
    let db = MyDatabase::create().await;
    under_contention(mysql::app(db.pool.clone()), true).await;
    db.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs MariaDB or MySQL: ETAG_TEST_MYSQL=mysql://root@127.0.0.1:3306/test"]
async fn mariadb_strong_tags_name_one_body_under_writes() {
    let db = MyDatabase::create().await;
    tags_name_one_body(mysql::app(db.pool.clone())).await;
    db.drop().await;
}

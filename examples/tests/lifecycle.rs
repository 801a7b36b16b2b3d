//! The process's life: signals, shutdown, a database it cannot open, its debug log.
//!
//! SIGTERM and SIGINT stop it cleanly, finishing what is in flight up to the shutdown
//! timeout; a database it cannot open is one clear error line.
//!
//! The `products` binary, started as a real process on a free loopback port (an in-memory
//! database unless a test says otherwise), and driven over HTTP.

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

use common::*;

#[tokio::test]
async fn sigterm_and_sigint_stop_the_server_cleanly_and_a_file_database_persists() {
    let dir = temp_dir();
    let db = dir.join("products.db");
    let url = format!("sqlite://{}", db.display());

    let server = Server::start_with(&["--database", &url]).await;
    let created = server.create("Persistent", 3.5).await;
    assert!(db.exists(), "the database file is created on first start");
    let status = server.stop_with("-TERM").await;
    assert!(status.success(), "{status:?}");

    let server = Server::start_with(&["--database", &url]).await;
    let path = created.header("location").unwrap();
    let reply = send(server.get(path).header("if-none-match", created.etag())).await;
    assert_eq!(reply.status, 304);
    let status = server.stop_with("-INT").await;
    assert!(status.success(), "{status:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A request head that is never finished does not keep the server from stopping: hyper
/// lets a connection finish the request it has started to receive, so this one is closed
/// by the shutdown timeout (the header-read and idle timeouts are set beyond it here).
#[tokio::test]
async fn sigterm_stops_the_server_despite_a_half_sent_request() {
    let mut server = Server::start_with(&[
        "--database",
        "sqlite::memory:",
        "--shutdown-timeout",
        "2",
        "--header-read-timeout",
        "60",
        "--idle-timeout",
        "60",
    ])
    .await;
    let mut stream = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    assert_eq!(send(server.get("/health")).await.status, 200);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let signalled = Instant::now();
    server.signal("-TERM").await;
    let status = server.exited_within(Duration::from_secs(20)).await;
    let took = signalled.elapsed();
    assert!(status.success(), "{status:?}");
    assert!(
        took < Duration::from_secs(4),
        "exited {took:?} after SIGTERM"
    );
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut rest)).await;
    assert!(
        read.is_ok(),
        "the half-sent request's connection was closed"
    );
}

/// A request in flight at SIGTERM is still answered, while new connections are refused;
/// then the server exits.
#[tokio::test]
async fn a_request_in_flight_at_sigterm_completes() {
    let mut server = Server::start().await;
    let body = br#"{"name": "Finished during shutdown", "price": 1.5}"#;
    let (first, second) = body.split_at(10);
    let stream = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    let head = format!(
        "POST /products HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    );
    write.write_all(head.as_bytes()).await.unwrap();
    write.write_all(first).await.unwrap();
    // The handler is now waiting for the rest of the body.
    tokio::time::sleep(Duration::from_millis(200)).await;
    server.signal("-TERM").await;
    // The listener closes: new connections are refused.
    let refused = async {
        loop {
            if tokio::net::TcpStream::connect(server.addr()).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), refused)
        .await
        .expect("new connections are refused after SIGTERM");
    write.write_all(second).await.unwrap();
    let answer = read_to_close(&mut read, Duration::from_secs(10)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 201 Created\r\n"), "{answer}");
    assert!(answer.contains("Finished during shutdown"), "{answer}");
    let status = server.exited_within(Duration::from_secs(5)).await;
    assert!(status.success(), "{status:?}");
}

/// A request whose body keeps trickling in is cut off at the shutdown timeout.
#[tokio::test]
async fn the_shutdown_timeout_closes_what_is_still_open() {
    let mut server = Server::start_with(&[
        "--database",
        "sqlite::memory:",
        "--shutdown-timeout",
        "1",
        "--request-body-timeout",
        "30",
    ])
    .await;
    let stream = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    write
        .write_all(
            b"POST /products HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
              Content-Length: 100000\r\n\r\n{",
        )
        .await
        .unwrap();
    let trickle = tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if write.write_all(b" ").await.is_err() {
                break;
            }
        }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let signalled = Instant::now();
    server.signal("-TERM").await;
    let status = server.exited_within(Duration::from_secs(10)).await;
    let took = signalled.elapsed();
    assert!(status.success(), "{status:?}");
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(4),
        "exited {took:?} after SIGTERM"
    );
    read_to_close(&mut read, Duration::from_secs(5)).await;
    trickle.abort();
}

#[tokio::test]
async fn an_unopenable_database_is_one_clear_error_line() {
    let output = tokio::time::timeout(
        START_TIMEOUT,
        Command::new(BIN)
            .args([
                "--listen",
                "127.0.0.1:0",
                "--database",
                "sqlite:///nonexistent-dir/x.db",
            ])
            .env("RUST_BACKTRACE", "1")
            .output(),
    )
    .await
    .expect("the binary exits")
    .expect("run the binary");
    assert!(!output.status.success());
    assert!(output.stdout.is_empty(), "nothing on stdout");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].starts_with("error: cannot open database"),
        "{stderr}"
    );
    assert!(lines[0].contains("nonexistent-dir"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    let output = Command::new(BIN)
        .arg("--bogus")
        .output()
        .await
        .expect("run the binary");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");

    let output = Command::new(BIN)
        .args([
            "--database",
            "mysql://localhost/x",
            "--listen",
            "127.0.0.1:0",
        ])
        .output()
        .await
        .expect("run the binary");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("supports sqlite: and postgres://"),
        "{stderr}"
    );

    // A PostgreSQL server that is not there (nothing listens on port 1): the acquire
    // timeout bounds the wait, and the password stays out of the message.
    let started = Instant::now();
    let output = Command::new(BIN)
        .args([
            "--database",
            "postgres://app:secret@127.0.0.1:1/x",
            "--db-acquire-timeout",
            "1s",
            "--listen",
            "127.0.0.1:0",
        ])
        .output()
        .await
        .expect("run the binary");
    assert!(!output.status.success());
    assert!(started.elapsed() < Duration::from_secs(30));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].starts_with("error: cannot open database \"postgres://app:***@127.0.0.1:1/x\""),
        "{stderr}"
    );
    assert!(!stderr.contains("secret"), "{stderr}");
}

/// With `RUST_LOG=etag_runtime=debug`, the 304s, 412s and 428s are logged with the
/// method, the status and the field that decided.
#[tokio::test]
async fn decisions_are_logged_at_debug() {
    let mut child = Command::new(BIN)
        .args(["--listen", "127.0.0.1:0", "--database", "sqlite::memory:"])
        .env("RUST_LOG", "etag_runtime=debug")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn the products binary");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let line = tokio::time::timeout(START_TIMEOUT, stdout.next_line())
        .await
        .expect("the server starts")
        .expect("read stdout")
        .expect("a line");
    let base = line
        .strip_prefix("listening on ")
        .expect("the address")
        .to_owned();
    let client = client();
    let product = format!("{base}/products/1");
    let put = client
        .put(&product)
        .header("if-none-match", "*")
        .json(&json!({ "name": "Lamp", "price": 1.0 }))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 201);
    let status = |r: reqwest::Response| r.status().as_u16();
    let got = client
        .get(&product)
        .header("if-none-match", "\"1\"")
        .send()
        .await;
    assert_eq!(status(got.unwrap()), 304);
    let got = client
        .delete(&product)
        .header("if-match", "\"9\"")
        .send()
        .await;
    assert_eq!(status(got.unwrap()), 412);
    let got = client.delete(&product).send().await;
    assert_eq!(status(got.unwrap()), 428);
    child.start_kill().expect("stop the server");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .await
        .expect("read stderr");
    let events: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("precondition answered the request"))
        .collect();
    assert_eq!(events.len(), 3, "{stderr}");
    assert!(
        events[0].contains("method=GET") && events[0].contains("status=304"),
        "{stderr}"
    );
    assert!(
        events[0].contains("decided_by=\"If-None-Match\""),
        "{stderr}"
    );
    assert!(
        events[1].contains("method=DELETE") && events[1].contains("status=412"),
        "{stderr}"
    );
    assert!(events[1].contains("decided_by=\"If-Match\""), "{stderr}");
    assert!(events[2].contains("status=428"), "{stderr}");
}

//! Connection timeouts and the connection cap.
//!
//! An unfinished request head, a stalled body and idle connections are closed, while other
//! clients keep being served.
//!
//! The `products` binary, started as a real process on a free loopback port (an in-memory
//! database unless a test says otherwise), and driven over HTTP.

mod common;

use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;

use common::*;

/// A client that sends a request head a little at a time and never ends it is cut off at
/// the header-read timeout, while other clients keep being served.
#[tokio::test]
async fn an_unfinished_request_head_is_closed_at_the_header_read_timeout() {
    let server = Server::start_with(&[
        "--database",
        "sqlite::memory:",
        "--header-read-timeout",
        "1",
        "--idle-timeout",
        "30",
    ])
    .await;
    let stream = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    let started = Instant::now();
    let (mut read, mut write) = stream.into_split();
    write
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // One more header field every 100 ms, so that the connection is never idle.
    let trickle = tokio::spawn(async move {
        for i in 0.. {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let line = format!("X-Slow-{i}: 1\r\n");
            if write.write_all(line.as_bytes()).await.is_err() {
                break;
            }
        }
    });
    // Meanwhile other clients are answered at once.
    let others = async {
        let mut served = 0;
        while started.elapsed() < Duration::from_millis(800) {
            let asked = Instant::now();
            assert_eq!(send(server.get("/health")).await.status, 200);
            assert!(asked.elapsed() < Duration::from_millis(500));
            served += 1;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        served
    };
    let (answer, served) = tokio::join!(read_to_close(&mut read, Duration::from_secs(10)), others);
    let closed_after = started.elapsed();
    trickle.abort();
    assert!(served >= 5, "{served} requests served meanwhile");
    assert!(
        closed_after >= Duration::from_millis(900) && closed_after < Duration::from_secs(3),
        "closed after {closed_after:?}"
    );
    let answer = String::from_utf8_lossy(&answer);
    assert!(!answer.contains("200 OK"), "{answer}");
    assert_eq!(send(server.get("/health")).await.status, 200);
}

/// A body that stops arriving gets 408 at the request-body timeout.
#[tokio::test]
async fn a_stalled_request_body_gets_408() {
    let server = Server::start_with(&[
        "--database",
        "sqlite::memory:",
        "--request-body-timeout",
        "500ms",
    ])
    .await;
    for (method, path, content_type) in [
        ("POST", "/products", "application/json"),
        ("PATCH", "/products/1", "application/merge-patch+json"),
    ] {
        if method == "PATCH" {
            server.create("Patched", 1.0).await;
        }
        let stream = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
        let (mut read, mut write) = stream.into_split();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: x\r\nIf-Match: \"1\"\r\n\
             Content-Type: {content_type}\r\nContent-Length: 100\r\n\r\n{{\"name\""
        );
        let started = Instant::now();
        write.write_all(head.as_bytes()).await.unwrap();
        let answer = read_to_close(&mut read, Duration::from_secs(10)).await;
        let took = started.elapsed();
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 408 "), "{method}: {answer}");
        assert!(answer.contains("application/problem+json"), "{answer}");
        assert!(
            took >= Duration::from_millis(400) && took < Duration::from_secs(3),
            "{method}: 408 after {took:?}"
        );
        drop(write);
    }
    assert_eq!(send(server.get("/health")).await.status, 200);
}

/// With one connection allowed, a second waits in the accept queue until the first, idle,
/// is closed at the idle timeout.
#[tokio::test]
async fn connections_beyond_the_cap_wait_for_an_idle_one_to_close() {
    let server = Server::start_with(&[
        "--database",
        "sqlite::memory:",
        "--max-connections",
        "1",
        "--idle-timeout",
        "1",
    ])
    .await;
    let idle = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    let started = Instant::now();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let reply = send(server.get("/health")).await;
    let waited = started.elapsed();
    assert_eq!(reply.status, 200);
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(4),
        "served after {waited:?}"
    );
    let (mut read, _write) = idle.into_split();
    let answer = read_to_close(&mut read, Duration::from_secs(1)).await;
    assert!(answer.is_empty(), "{}", String::from_utf8_lossy(&answer));
}

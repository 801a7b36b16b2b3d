//! Request bodies that trickle in (slowloris, CVE-2007-6750), against the real binary: a
//! body that keeps sending a byte now and then never trips the per-piece request-body
//! timeout, so the server also bounds the whole body (the request-body deadline), and at
//! the connection cap it closes the oldest body still being read to make room for a new
//! client.
//!
//! The settings are given as environment variables, which a server that does not know
//! them ignores: these tests then fail on what the server does, not on its command line.

use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::process::{Child, ChildStdout, Command};
use tokio::task::JoinHandle;

const BIN: &str = env!("CARGO_BIN_EXE_products");

/// A running `products` process on an in-memory database; killed when dropped.
struct Server {
    _child: Child,
    addr: String,
    _stdout: Lines<BufReader<ChildStdout>>,
}

impl Server {
    async fn start(env: &[(&str, &str)]) -> Self {
        let mut child = Command::new(BIN)
            .args(["--listen", "127.0.0.1:0", "--database", "sqlite::memory:"])
            .envs(env.iter().copied())
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn the products binary");
        let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        let line = tokio::time::timeout(Duration::from_secs(60), stdout.next_line())
            .await
            .expect("the server starts in time")
            .expect("read stdout")
            .expect("the server prints its address");
        let addr = line
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .to_owned();
        Self {
            _child: child,
            addr,
            _stdout: stdout,
        }
    }
}

/// Sends a `POST /products` head announcing 100 bytes of body, then one byte a second;
/// returns the read half, and the task that trickles (it stops when the server closes).
async fn trickle(addr: &str) -> (OwnedReadHalf, JoinHandle<()>) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (read, mut write): (OwnedReadHalf, OwnedWriteHalf) = stream.into_split();
    write
        .write_all(
            b"POST /products HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\n\r\n",
        )
        .await
        .unwrap();
    let task = tokio::spawn(async move {
        for _ in 0..100 {
            if write.write_all(b" ").await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    (read, task)
}

/// Reads until the server closes the connection (or resets it), for at most `limit`;
/// what it sent, and whether it closed.
async fn read_to_close(stream: &mut OwnedReadHalf, limit: Duration) -> (String, bool) {
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    let read = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
        }
    };
    let closed = tokio::time::timeout(limit, read).await.is_ok();
    (String::from_utf8_lossy(&answer).into_owned(), closed)
}

/// A body that sends one byte a second, well within the per-piece timeout, gets 408 at
/// the request-body deadline, as a problem, and its connection is closed.
#[tokio::test]
async fn a_body_trickling_in_gets_408_at_the_request_body_deadline() {
    let server = Server::start(&[
        ("REQUEST_BODY_TIMEOUT", "5"),
        ("REQUEST_BODY_DEADLINE", "2"),
    ])
    .await;
    let started = Instant::now();
    let (mut read, trickling) = trickle(&server.addr).await;
    let (answer, closed) = read_to_close(&mut read, Duration::from_secs(8)).await;
    let took = started.elapsed();
    trickling.abort();
    assert!(
        answer.starts_with("HTTP/1.1 408 "),
        "after {took:?}: {answer:?}"
    );
    assert!(answer.contains("application/problem+json"), "{answer}");
    assert!(closed, "the connection is still open after {took:?}");
    assert!(
        took >= Duration::from_millis(1800) && took < Duration::from_secs(4),
        "408 after {took:?}"
    );
}

/// With every connection slot held by a body that trickles in, a new client is still
/// answered at once: the server closes the oldest of those bodies (408) to serve it.
#[tokio::test]
async fn trickling_bodies_cannot_hold_every_connection_slot() {
    let server = Server::start(&[
        ("MAX_CONNECTIONS", "16"),
        ("REQUEST_BODY_TIMEOUT", "30"),
        ("REQUEST_BODY_DEADLINE", "60"),
        ("IDLE_TIMEOUT", "30"),
    ])
    .await;
    let mut slow = Vec::new();
    for _ in 0..16 {
        slow.push(trickle(&server.addr).await);
    }
    // Every slot is taken, and every body is being read.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let asked = Instant::now();
    let health = async {
        let stream = TcpStream::connect(&server.addr).await.unwrap();
        let (mut read, mut write) = stream.into_split();
        write
            .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        read_to_close(&mut read, Duration::from_secs(10)).await
    };
    let (answer, _) = health.await;
    let waited = asked.elapsed();
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer:?}");
    assert!(
        waited < Duration::from_secs(2),
        "GET /health answered after {waited:?}"
    );
    // The body that made room was told why, and closed; the others are still served.
    let mut shed = 0;
    for (read, trickling) in &mut slow {
        let (answer, closed) = read_to_close(read, Duration::from_millis(100)).await;
        if closed {
            assert!(answer.starts_with("HTTP/1.1 408 "), "{answer:?}");
            assert!(answer.contains("application/problem+json"), "{answer}");
            shed += 1;
        }
        trickling.abort();
    }
    assert_eq!(shed, 1, "one slow body made room");
}

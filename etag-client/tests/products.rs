//! The client against the workspace's example application: the real `products` binary,
//! started on a free loopback port with an in-memory database.
//!
//! Cargo hands `CARGO_BIN_EXE_products` only to the examples crate's own tests, and this
//! crate has no dependency on that crate; so etag-test-support builds the binary, once per
//! test process, with the cargo that runs the tests (see
//! `etag_test_support::products::build`).
//!
//! Reads go through a byte-counting proxy, so the tests see what crossed the wire.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use etag_client::{Client, CreateOutcome, Error, Source, Step};
use etag_test_support::products::Server;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The program the READMEs show, run here against the real binary.
#[allow(dead_code)]
#[path = "../examples/products.rs"]
mod example;

/// The most of the server's answers the proxy keeps.
const TRANSCRIPT_LIMIT: usize = 4 << 20;

/// A running `products` process, killed when dropped, behind a byte-counting proxy.
struct Products {
    /// The server itself.
    direct: String,
    /// The proxy in front of it.
    proxied: String,
    /// What the server sent through the proxy.
    transcript: Arc<Mutex<Vec<u8>>>,
    _server: Server,
    _proxy: tokio::task::JoinHandle<()>,
}

impl Products {
    async fn start() -> Self {
        let server = Server::start().await;
        let direct = server.base.clone();
        let transcript = Arc::new(Mutex::new(Vec::new()));
        let upstream = direct.trim_start_matches("http://").to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let proxied = format!("http://{}", listener.local_addr().expect("an address"));
        let proxy = tokio::spawn(proxy(listener, upstream, Arc::clone(&transcript)));
        Self {
            direct,
            proxied,
            transcript,
            _server: server,
            _proxy: proxy,
        }
    }

    /// Bytes the server has sent through the proxy so far.
    fn received(&self) -> usize {
        self.transcript.lock().expect("not poisoned").len()
    }

    /// The status lines the server has sent through the proxy since `from` bytes. (A
    /// response follows the previous body directly; no body here contains `HTTP/1.1 `.)
    fn statuses_since(&self, from: usize) -> Vec<String> {
        let transcript = self.transcript.lock().expect("not poisoned");
        let text = String::from_utf8_lossy(&transcript[from..]);
        text.match_indices("HTTP/1.1 ")
            .filter_map(|(start, _)| text[start..].split("\r\n").next())
            .map(str::to_owned)
            .collect()
    }

    /// A product made by `POST /products`, as the server answered it, and its URL on the
    /// proxy.
    async fn create(&self, name: &str, price: f64) -> (Value, String) {
        let response = http()
            .post(format!("{}/products", self.direct))
            .header("content-type", "application/json")
            .body(json!({"name": name, "price": price}).to_string())
            .send()
            .await
            .expect("POST");
        assert_eq!(response.status(), 201);
        let location = response.headers()["location"]
            .to_str()
            .expect("a location")
            .to_owned();
        let body = response.bytes().await.expect("a body");
        let product = serde_json::from_slice(&body).expect("JSON");
        (product, format!("{}{location}", self.proxied))
    }
}

/// Relays connections to `upstream`, copying what the server sends into `transcript`.
async fn proxy(listener: TcpListener, upstream: String, transcript: Arc<Mutex<Vec<u8>>>) {
    while let Ok((client, _)) = listener.accept().await {
        let Ok(server) = TcpStream::connect(&upstream).await else {
            continue;
        };
        let transcript = Arc::clone(&transcript);
        tokio::spawn(async move {
            let (mut client_read, mut client_write) = client.into_split();
            let (mut server_read, mut server_write) = server.into_split();
            let up = tokio::spawn(async move {
                let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
                let _ = server_write.shutdown().await;
            });
            let mut buffer = vec![0; 16 * 1024];
            while let Ok(n) = server_read.read(&mut buffer).await {
                if n == 0 {
                    break;
                }
                {
                    let mut transcript = transcript.lock().expect("not poisoned");
                    if transcript.len() + n <= TRANSCRIPT_LIMIT {
                        transcript.extend_from_slice(&buffer[..n]);
                    }
                }
                if client_write.write_all(&buffer[..n]).await.is_err() {
                    break;
                }
            }
            up.abort();
        });
    }
}

fn http() -> etag_client::reqwest::Client {
    etag_client::reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("an HTTP client")
}

#[derive(Debug, Serialize, Deserialize)]
struct Product {
    name: String,
    price: f64,
}

#[tokio::test]
async fn a_second_get_of_an_unchanged_product_is_answered_from_the_stored_copy_after_a_304() {
    let server = Products::start().await;
    let (_, url) = server.create("Wireless Mouse", 29.99).await;
    let client = Client::new(http());

    let before = server.received();
    let first = client.get(&url).send().await.unwrap();
    assert_eq!(first.source(), Source::Network);
    assert_eq!(first.json::<Product>().unwrap().name, "Wireless Mouse");
    let first_bytes = server.received() - before;
    assert_eq!(server.statuses_since(before), ["HTTP/1.1 200 OK"]);

    let before = server.received();
    let again = client.get(&url).send().await.unwrap();
    let again_bytes = server.received() - before;
    assert_eq!(server.statuses_since(before), ["HTTP/1.1 304 Not Modified"]);
    assert_eq!(again.source(), Source::Revalidated);
    assert_eq!(again.status(), 200);
    assert_eq!(again.bytes(), first.bytes());
    assert_eq!(again.headers()["etag"], first.headers()["etag"]);
    assert_eq!(again.headers()["content-type"], "application/json");
    // The 304 carried no body: it is no larger than the 200 without its body.
    assert!(
        again_bytes <= first_bytes - first.bytes().len(),
        "304: {again_bytes} bytes; 200: {first_bytes} bytes, {} of them body",
        first.bytes().len()
    );
    eprintln!(
        "GET {url}: 200 of {first_bytes} bytes ({} of them body), then 304 of {again_bytes} bytes",
        first.bytes().len()
    );

    // A change by someone else: the next read gets it in full.
    let current = first.headers()["etag"].clone();
    let response = http()
        .put(url.replace(&server.proxied, &server.direct))
        .header("if-match", current)
        .header("content-type", "application/json")
        .body(json!({"name": "Silent Mouse", "price": 31.0}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let before = server.received();
    let changed = client.get(&url).send().await.unwrap();
    assert_eq!(server.statuses_since(before), ["HTTP/1.1 200 OK"]);
    assert_eq!(changed.source(), Source::Network);
    assert_eq!(changed.json::<Product>().unwrap().name, "Silent Mouse");
}

#[tokio::test]
async fn create_only_put_and_its_answer_is_the_stored_copy() {
    let server = Products::start().await;
    let client = Client::new(http());
    let url = format!("{}/products/77", server.proxied);
    let lamp = Product {
        name: "Desk Lamp".into(),
        price: 12.5,
    };

    let CreateOutcome::Created(created) = client.create(&url, &lamp).send().await.unwrap() else {
        panic!("not created");
    };
    assert_eq!(created.status(), 201);
    assert_eq!(created.headers()["location"], "/products/77");

    // The create's answer is the stored copy: the read is a 304.
    let before = server.received();
    let read = client.get(&url).send().await.unwrap();
    assert_eq!(server.statuses_since(before), ["HTTP/1.1 304 Not Modified"]);
    assert_eq!(read.source(), Source::Revalidated);
    assert_eq!(read.status(), 200);
    assert_eq!(read.bytes(), created.bytes());
    assert!(!read.headers().contains_key("location"));

    let again = client.create(&url, &lamp).send().await.unwrap();
    assert!(matches!(again, CreateOutcome::AlreadyExists), "{again:?}");

    // So is an update's: the write's new ETag is what the next read validates.
    let written = client
        .update(&url, |mut lamp: Product| {
            lamp.price = 15.0;
            lamp
        })
        .send()
        .await
        .unwrap();
    assert_eq!(written.json::<Value>().unwrap()["version"], 2);
    let before = server.received();
    let read = client.get(&url).send().await.unwrap();
    assert_eq!(
        server.statuses_since(before),
        ["HTTP/1.1 304 Not Modified"],
        "{:?}",
        read.headers()
    );
    assert_eq!(read.json::<Product>().unwrap().price, 15.0);
    assert_eq!(read.headers()["etag"], written.headers()["etag"]);
}

/// 16 writers without a pause between their increments, all on one row: the worst case
/// for optimistic concurrency, with the client's default limits. About a third of all
/// attempts meet a 412; the test reports the most any one update needed, which the default
/// of 20 attempts must cover.
#[tokio::test]
async fn sixteen_writers_of_fifty_increments_lose_no_update_and_apply_none_twice() {
    const TASKS: usize = 16;
    const INCREMENTS: usize = 50;
    let server = Arc::new(Products::start().await);
    let (created, url) = server.create("Counter", 1.0).await;
    let url = url.replace(&server.proxied, &server.direct);
    let start_version = created["version"].as_u64().expect("a version");

    // Four clients, four writers on each: writers that share a store and writers that do not.
    let clients: Vec<Client> = (0..4).map(|_| Client::new(http())).collect();
    let versions = Arc::new(Mutex::new(Vec::new()));
    let attempts = Arc::new(Mutex::new(Vec::new()));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let client = clients[task % clients.len()].clone();
        let (url, versions, attempts) = (url.clone(), Arc::clone(&versions), Arc::clone(&attempts));
        tasks.push(tokio::spawn(async move {
            for _ in 0..INCREMENTS {
                let mut calls = 0_u32;
                let written = client
                    .update(&url, |mut product: Value| {
                        calls += 1;
                        let price = product["price"].as_f64().expect("a price");
                        product["price"] = (price + 1.0).into();
                        product
                    })
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("an increment failed: {e}"));
                let version = written.json::<Value>().unwrap()["version"].as_u64();
                versions.lock().unwrap().push(version.expect("a version"));
                attempts.lock().unwrap().push(calls);
            }
        }));
    }
    for task in tasks {
        tokio::time::timeout(Duration::from_secs(300), task)
            .await
            .expect("the writers finish in time")
            .expect("a writer failed");
    }
    let elapsed = started.elapsed();

    let total = (TASKS * INCREMENTS) as u64;
    let last = Client::new(http()).get(&url).send().await.unwrap();
    let product = last.json::<Value>().unwrap();
    // Every increment applied, each once.
    assert_eq!(
        product["price"].as_f64(),
        Some(1.0 + total as f64),
        "{product}"
    );
    assert_eq!(product["version"].as_u64(), Some(start_version + total));
    // Each write succeeded on a different version, one after the other.
    let mut versions = versions.lock().unwrap().clone();
    versions.sort_unstable();
    let expected: Vec<u64> = (start_version + 1..=start_version + total).collect();
    assert_eq!(versions, expected);
    let attempts = attempts.lock().unwrap().clone();
    let changes: u32 = attempts.iter().sum();
    assert!(u64::from(changes) > total, "the writers never collided");
    let most = attempts.iter().max().copied().unwrap_or_default();
    let over_ten = attempts.iter().filter(|&&a| a > 10).count();
    eprintln!(
        "{total} increments in {elapsed:?}: {changes} attempts ({} after a 412); the most \
         one update needed: {most} (of 20 allowed); updates that needed more than 10: \
         {over_ten}",
        u64::from(changes) - total
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_product_deleted_between_read_and_write_is_a_typed_error_not_a_retry_loop() {
    let server = Products::start().await;
    let (_, url) = server.create("Doomed", 5.0).await;
    let direct = url.replace(&server.proxied, &server.direct);
    let client = Client::new(http());
    let calls = AtomicU64::new(0);
    let runtime = tokio::runtime::Handle::current();

    let before = server.received();
    let error = client
        .update(&url, |product: Value| {
            calls.fetch_add(1, Ordering::Relaxed);
            // Someone else deletes the product, after this update read it and before it
            // writes.
            let etag = format!("\"{}\"", product["version"]);
            let deleted = tokio::task::block_in_place(|| {
                runtime.block_on(http().delete(&direct).header("if-match", etag).send())
            });
            assert_eq!(deleted.expect("DELETE").status(), 204);
            product
        })
        .send()
        .await
        .unwrap_err();

    // The write met a 412 (its version is gone); the read again found nothing, and the
    // update stopped there, on its second attempt, without applying the change again.
    assert_eq!(error.attempt(), 2, "{error}");
    assert_eq!(error.step(), Step::Read);
    let Error::NotFound { status, .. } = error.reason() else {
        panic!("not a 404: {error}");
    };
    assert_eq!(*status, 404);
    assert_eq!(calls.load(Ordering::Relaxed), 1);
    assert_eq!(
        server.statuses_since(before),
        [
            "HTTP/1.1 200 OK",
            "HTTP/1.1 412 Precondition Failed",
            "HTTP/1.1 404 Not Found"
        ]
    );

    // Deleted before the update started: its first read says so.
    let error = client
        .update(&url, |product: Value| product)
        .send()
        .await
        .unwrap_err();
    assert_eq!((error.attempt(), error.step()), (1, Step::Read));
    assert!(matches!(error.reason(), Error::NotFound { .. }), "{error}");
}

#[tokio::test]
async fn the_readme_example_runs_against_the_example_app() {
    let server = Products::start().await;
    // Creates product 42 and raises its price; then finds it and raises it again.
    example::run(&server.direct).await.expect("the first run");
    example::run(&server.direct).await.expect("the second run");
    let product = Client::new(http())
        .get(format!("{}/products/42", server.direct))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .unwrap();
    assert_eq!(product["name"], "Desk Lamp");
    assert_eq!(product["price"], 14.5);
    assert_eq!(product["version"], 3);
}

const EXAMPLE: &str = include_str!("../examples/products.rs");
const MARKER: &str = "<!-- etag-client example -->";
const END_MARKER: &str = "<!-- /etag-client example -->";

/// The ```rust,ignore block between the markers, trimmed. (`ignore`: etag-runtime runs the
/// root README's Rust blocks as its doc tests, where this crate is not a dependency; this
/// block is compiled and run here instead.)
fn readme_example(readme: &str) -> Result<&str, &'static str> {
    let start = readme.find(MARKER).ok_or("no example marker")? + MARKER.len();
    let section = &readme[start..];
    let section = &section[..section.find(END_MARKER).ok_or("no end marker")?];
    let block = section
        .split_once("```rust,ignore\n")
        .ok_or("no ```rust,ignore block")?
        .1;
    let close = block
        .find("\n```")
        .ok_or("the ```rust,ignore block is not closed")?;
    Ok(block[..close].trim())
}

#[test]
fn the_readmes_show_the_example_verbatim() {
    for path in ["../README.md", "README.md"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
        let readme = std::fs::read_to_string(&path).expect("a README");
        assert_eq!(
            readme_example(&readme),
            Ok(EXAMPLE.trim()),
            "{} differs from examples/products.rs",
            path.display()
        );
    }
    let changed = format!(
        "{MARKER}\n```rust,ignore\n{}\n```\n{END_MARKER}\n",
        EXAMPLE.replace("12.5", "12.0")
    );
    assert_ne!(readme_example(&changed), Ok(EXAMPLE.trim()));
    assert!(readme_example("```rust,ignore\nfn main() {}\n```").is_err());
}

//! Routes, creation, and what bad or hostile input gets.
//!
//! Every answer is a status with a problem body, never a panic; a product has one URL.
//!
//! The `products` binary, started as a real process on a free loopback port (an in-memory
//! database unless a test says otherwise), and driven over HTTP.

mod common;

use std::time::Duration;

use chrono::DateTime;
use reqwest::{Method, RequestBuilder};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use common::*;

#[tokio::test]
async fn health_and_unknown_routes() {
    let server = Server::start().await;
    let reply = send(server.get("/health")).await;
    assert_eq!(reply.status, 200);
    send(server.get("/nothing/here")).await.assert_problem(404);
    let reply = send(server.request(Method::DELETE, "/products")).await;
    reply.assert_problem(405);
    assert!(reply.header("allow").is_some_and(|a| a.contains("POST")));
}

#[tokio::test]
async fn create_returns_201_with_location_and_validators() {
    let server = Server::start().await;
    let reply = server.create("Wireless Mouse", 29.99).await;
    let product = reply.json();
    assert_eq!(product["name"], "Wireless Mouse");
    assert_eq!(product["price"], json!(29.99));
    assert_eq!(product["version"], 1);
    assert!(reply.body.contains("\"price\":29.99"), "{}", reply.body);
    let id = product["id"].as_i64().expect("an id");
    assert_eq!(
        reply.header("location"),
        Some(format!("/products/{id}").as_str())
    );
    assert_eq!(reply.etag(), "\"1\"");
    let updated_at = product["updated_at"].as_str().expect("updated_at");
    // RFC 3339, UTC, microseconds: 2026-11-25T14:03:07.123456Z
    assert_eq!(updated_at.len(), 27, "{updated_at}");
    assert!(updated_at.ends_with('Z') && updated_at.as_bytes()[19] == b'.');
    let updated_at = DateTime::parse_from_rfc3339(updated_at).expect("RFC 3339");
    let last_modified = http_date(reply.header("last-modified").expect("Last-Modified"));
    assert_eq!(last_modified.timestamp(), updated_at.timestamp());

    // Prices are kept exactly, whatever their binary floating-point form.
    for (price, text) in [(0.1, "0.1"), (1234567.89, "1234567.89"), (30.0, "30.0")] {
        let reply = server.create("Exact", price).await;
        assert!(
            reply.body.contains(&format!("\"price\":{text},")),
            "{}",
            reply.body
        );
    }
}

#[tokio::test]
async fn create_rejects_bad_bodies_with_problems() {
    let server = Server::start().await;
    let post = |body: &str, content_type: Option<&str>| {
        let mut request = server
            .request(Method::POST, "/products")
            .body(body.to_owned());
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        send(request)
    };
    let json = Some("application/json");
    post("{\"name\": \"Lamp\", \"price\": ", json)
        .await
        .assert_problem(400);
    post("not json", json).await.assert_problem(400);
    post("{\"name\": \"Lamp\"}", json).await.assert_problem(422);
    post("{\"name\": \"Lamp\", \"price\": \"12.00\"}", json)
        .await
        .assert_problem(422);
    post("{\"name\": 5, \"price\": 12}", json)
        .await
        .assert_problem(422);
    post(
        "{\"name\": \"Lamp\", \"price\": 12, \"colour\": \"red\"}",
        json,
    )
    .await
    .assert_problem(422);
    post("[1, 2]", json).await.assert_problem(422);
    let problem = post("{\"name\": \"Lamp\", \"price\": 12.345}", json)
        .await
        .assert_problem(422);
    assert!(problem["detail"].as_str().unwrap().contains("two decimals"));
    post("{\"name\": \"Lamp\", \"price\": -1}", json)
        .await
        .assert_problem(422);
    post("{\"name\": \"   \", \"price\": 1}", json)
        .await
        .assert_problem(422);
    post("{\"name\": \"Lamp\", \"price\": 12}", Some("text/plain"))
        .await
        .assert_problem(415);
    post("{\"name\": \"Lamp\", \"price\": 12}", None)
        .await
        .assert_problem(415);
    // Nothing was created.
    let list = send(server.get("/products")).await;
    assert_eq!(list.json(), json!([]));
}

/// serde's derived `Deserialize` takes a struct's fields in order from an array: a body
/// that is not a JSON object must still be refused, by POST, PUT and PATCH alike.
#[tokio::test]
async fn bodies_that_are_not_json_objects_get_422() {
    let server = Server::start().await;
    let created = server.create("Object", 1.0).await;
    let path = created.header("location").unwrap().to_owned();
    let not_objects = [
        "[\"ArrayName\", 7]",
        "[\"ArrayName\", 7, 1, 2, \"2026-11-25T14:03:07.123456Z\"]",
        "\"ArrayName\"",
        "7",
        "true",
        "null",
    ];
    for body in not_objects {
        let post = server
            .request(Method::POST, "/products")
            .header("content-type", "application/json")
            .body(body);
        send(post).await.assert_problem(422);
        for (target, precondition) in [
            (path.as_str(), "if-match"),
            ("/products/77", "if-none-match"),
        ] {
            let value = if precondition == "if-match" {
                "\"1\""
            } else {
                "*"
            };
            let put = server
                .request(Method::PUT, target)
                .header(precondition, value)
                .header("content-type", "application/json")
                .body(body);
            send(put).await.assert_problem(422);
        }
        let patch = server
            .request(Method::PATCH, &path)
            .header("if-match", "\"1\"")
            .header("content-type", "application/merge-patch+json")
            .body(body);
        send(patch).await.assert_problem(422);
    }
    // Nothing was created or changed.
    assert_eq!(
        send(server.get("/products")).await.json(),
        json!([created.json()])
    );
}

/// A product has one URL: other spellings of its id name nothing, so that no cache keeps a
/// second copy under an alias and no write goes through one.
#[tokio::test]
async fn only_the_canonical_url_names_a_product() {
    let server = Server::start().await;
    let created = server.create("One", 1.0).await;
    assert_eq!(created.header("location"), Some("/products/1"));
    assert_eq!(send(server.get("/products/1")).await.status, 200);
    for alias in ["01", "001", "+1", "%2B1", "%2b1", "%31", "%30%31", "1%20"] {
        let path = format!("/products/{alias}");
        let problem = send(server.get(&path)).await.assert_problem(404);
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("plain decimal"),
            "{alias}: {problem}"
        );
        let head = send(server.request(Method::HEAD, &path)).await;
        assert_eq!(head.status, 404, "HEAD {alias}");
        let reply = send(
            server
                .request(Method::PUT, &path)
                .header("if-match", "\"1\"")
                .json(&json!({"name": "Alias", "price": 2})),
        )
        .await;
        reply.assert_problem(404);
        let reply = send(
            server
                .request(Method::DELETE, &path)
                .header("if-match", "\"1\""),
        )
        .await;
        reply.assert_problem(404);
    }
    // The product was never changed through an alias.
    let reply = send(server.get("/products/1")).await;
    assert_eq!(reply.json(), created.json());
}

#[tokio::test]
async fn hostile_input_gets_answers_not_panics() {
    let mut server = Server::start().await;
    server.create("Target", 1.0).await;
    let deep = format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000));
    let cases: Vec<RequestBuilder> = vec![
        server.get("/products/%FF%FE"),
        server
            .get("/products/1")
            .header("if-none-match", "\"unterminated"),
        server.get("/products/1").header("if-none-match", "W/"),
        server
            .get("/products/1")
            .header("if-modified-since", "Mon, 99 Foo 99999"),
        server.get("/products/1").header("if-match", ",,,,"),
        server
            .request(Method::PUT, "/products/1")
            .header(
                "if-match",
                reqwest::header::HeaderValue::from_bytes(b"\"1\xff\", \t\x80").unwrap(),
            )
            .json(&json!({"name": "x", "price": 1})),
        server
            .request(Method::PUT, "/products/1")
            .header("if-match", "\"1\"")
            .header("content-type", "application/json")
            .body(deep.clone()),
        server
            .request(Method::PATCH, "/products/1")
            .header("if-match", "\"1\"")
            .header("content-type", "application/merge-patch+json")
            .body(deep),
        server
            .request(Method::POST, "/products")
            .header("content-type", "application/json")
            .body("{\"name\": \"x\", \"price\": 1e999}"),
        server
            .request(Method::POST, "/products")
            .header("content-type", "application/json")
            .body(vec![0xff, 0xfe, 0x00]),
        server
            .request(Method::POST, "/products")
            .json(&json!({"name": "\u{0}\u{202e}名前", "price": 9_999_999_999_999.99})),
        server
            .request(Method::POST, "/products")
            .json(&json!({"name": "x", "price": 10_000_000_000_000.0})),
        server.request(Method::from_bytes(b"BREW").unwrap(), "/products/1"),
        server.request(Method::OPTIONS, "/products"),
    ];
    for request in cases {
        let reply = send(request).await;
        assert!(reply.status < 500, "{}: {}", reply.status, reply.body);
    }
    // Bytes that are not HTTP at all.
    let addr = server.base.trim_start_matches("http://").to_owned();
    for raw in [
        &b"GARBAGE\r\n\r\n"[..],
        b"GET /products/1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\nIf-None-Match: \xff\xfe\r\n\r\n",
        b"GET /products/\xff HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    ] {
        let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
        stream.write_all(raw).await.unwrap();
        let mut answer = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
    }
    assert_eq!(send(server.get("/health")).await.status, 200);
    assert!(server.is_running());
}

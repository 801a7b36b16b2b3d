//! Conditional writes: PUT, PATCH and DELETE against the current version.
//!
//! 428 without a precondition, 412 with a stale one, create-only PUT, and the ids POST and
//! PUT hand out.
//!
//! The `products` binary, started as a real process on a free loopback port (an in-memory
//! database unless a test says otherwise), and driven over HTTP.

mod common;

use std::sync::Arc;

use reqwest::Method;
use serde_json::{Value, json};

use common::*;

#[tokio::test]
async fn put_needs_a_precondition_and_never_overwrites_a_newer_version() {
    let server = Server::start().await;
    let created = server.create("Keyboard", 49.0).await;
    let path = created.header("location").unwrap().to_owned();
    let body = json!({"name": "Keyboard", "price": 44.99});
    let put = |headers: &[(&str, &str)], body: &Value| {
        let mut request = server.request(Method::PUT, &path).json(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        send(request)
    };

    let problem = put(&[], &body).await.assert_problem(428);
    // A date later than the server's clock proves nothing about what the client read: no
    // blind overwrite through it (RFC 6585 section 3).
    put(
        &[("if-unmodified-since", "Fri, 31 Dec 9999 23:59:59 GMT")],
        &body,
    )
    .await
    .assert_problem(428);
    assert_eq!(send(server.get(&path)).await.json()["price"], 49.0);
    assert!(problem["detail"].as_str().unwrap().contains("If-Match"));
    // 428 comes first, even for a body that would be refused.
    put(&[], &json!({"oops": true})).await.assert_problem(428);
    // An If-None-Match that is not "*" does not protect a write.
    put(&[("if-none-match", "\"9\"")], &body)
        .await
        .assert_problem(428);

    let problem = put(&[("if-match", "\"2\"")], &body)
        .await
        .assert_problem(412);
    assert!(problem["detail"].as_str().unwrap().contains("If-Match"));

    let reply = put(&[("if-match", "\"1\"")], &body).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.etag(), "\"2\"");
    assert!(reply.header("last-modified").is_some());
    let product = reply.json();
    assert_eq!(product["version"], 2);
    assert_eq!(product["price"], json!(44.99));
    assert_eq!(product["id"], created.json()["id"]);

    // The same request again is now stale.
    put(&[("if-match", "\"1\"")], &body)
        .await
        .assert_problem(412);
    // A list with the current tag, and a weak tag, per the strong comparison.
    assert_eq!(
        put(&[("if-match", "\"1\", \"2\"")], &body).await.status,
        200
    );
    put(&[("if-match", "W/\"3\"")], &body)
        .await
        .assert_problem(412);
    assert_eq!(put(&[("if-match", "*")], &body).await.status, 200);

    // If-Unmodified-Since.
    let current = send(server.get(&path)).await;
    let last_modified = current.header("last-modified").unwrap().to_owned();
    let earlier = format_http_date(http_date(&last_modified) - chrono::Duration::seconds(1));
    put(&[("if-unmodified-since", &earlier)], &body)
        .await
        .assert_problem(412);
    let reply = put(&[("if-unmodified-since", &last_modified)], &body).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["version"], 5);

    // Bodies are validated after the precondition is present.
    put(&[("if-match", "\"5\"")], &json!({"name": "K"}))
        .await
        .assert_problem(422);
    let reply = send(
        server
            .request(Method::PUT, &path)
            .header("if-match", "\"5\"")
            .header("content-type", "text/plain")
            .body("{}"),
    )
    .await;
    reply.assert_problem(415);

    // A product sent back as it was read is accepted: its read-only fields are ignored.
    let mut round_trip = send(server.get(&path)).await.json();
    round_trip["price"] = json!(1.25);
    round_trip["version"] = json!(99);
    let reply = put(&[("if-match", "\"5\"")], &round_trip).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["version"], 6);
    assert_eq!(reply.json()["price"], json!(1.25));
}

/// Ids a client chooses with a create-only PUT never use up the ids POST hands out: POST
/// skips taken ids, and a database whose counter an older build pushed past the last id
/// goes on creating.
#[tokio::test]
async fn client_chosen_ids_never_stop_post() {
    const MAX: i64 = 9_007_199_254_740_991;
    let dir = temp_dir();
    let url = format!("sqlite://{}", dir.join("ids.db").display());
    let server = Server::start_with(&["--database", &url]).await;
    let body = json!({"name": "Chosen", "price": 1.0});
    let put_new = |id: i64| {
        send(
            server
                .request(Method::PUT, &format!("/products/{id}"))
                .header("if-none-match", "*")
                .json(&body),
        )
    };
    let post = async || {
        server.create("Posted", 1.0).await.json()["id"]
            .as_i64()
            .unwrap()
    };

    assert_eq!(put_new(MAX).await.status, 201);
    assert_eq!(post().await, 1, "the largest id does not move POST's ids");
    for id in [2, 3, 5] {
        assert_eq!(put_new(id).await.status, 201);
    }
    assert_eq!(post().await, 4, "taken ids are skipped");
    assert_eq!(post().await, 6);
    // Beyond the range: a problem that says the range.
    for id in ["9007199254740992", "18446744073709551616"] {
        let reply = send(
            server
                .request(Method::PUT, &format!("/products/{id}"))
                .header("if-none-match", "*")
                .json(&body),
        )
        .await;
        let problem = reply.assert_problem(404);
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("from 1 to 9007199254740991"),
            "{problem}"
        );
    }
    let reply = send(
        server
            .request(Method::DELETE, &format!("/products/{MAX}"))
            .header("if-match", "\"1\""),
    )
    .await;
    assert_eq!(reply.status, 204);
    server.stop_with("-TERM").await;

    // A database left by a build that moved the counter past the last id on such a PUT.
    {
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        sqlx::query("UPDATE collection_state SET next_id = $1")
            .bind(MAX + 1)
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    }
    let server = Server::start_with(&["--database", &url]).await;
    let reply = send(
        server
            .request(Method::POST, "/products")
            .json(&json!({"name": "After restart", "price": 2.0})),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.json()["id"], 7, "the smallest free id");
    let reply = send(
        server
            .request(Method::POST, "/products")
            .json(&json!({"name": "Next", "price": 2.0})),
    )
    .await;
    assert_eq!(reply.json()["id"], 8);
    server.stop_with("-TERM").await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// POSTs racing each other and create-only PUTs of the ids they are about to hand out:
/// every id is created once, and every POST gets one.
#[tokio::test]
async fn racing_posts_and_puts_never_share_an_id() {
    const POSTERS: usize = 8;
    const POSTS: usize = 15;
    let server = Arc::new(Server::start().await);
    let posters = vec![server.clone(); POSTERS];
    let total = races::posts_racing_create_only_puts(posters, vec![server.clone()], POSTS).await;
    let list = send(server.get(&format!("/products?limit={}", total.max(1)))).await;
    assert_eq!(list.json().as_array().unwrap().len(), total);
}

#[tokio::test]
async fn create_only_put() {
    let server = Server::start().await;
    let body = json!({"name": "Monitor", "price": 199.0});
    let put = |path: &str, name: &str, value: &str| {
        send(
            server
                .request(Method::PUT, path)
                .header(name, value)
                .json(&body),
        )
    };
    let reply = put("/products/42", "if-none-match", "*").await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.header("location"), Some("/products/42"));
    assert_eq!(reply.etag(), "\"1\"");
    assert_eq!(reply.json()["id"], 42);
    assert_eq!(reply.json()["version"], 1);
    // It exists now: create-only fails.
    put("/products/42", "if-none-match", "*")
        .await
        .assert_problem(412);
    // If-Match on a product that does not exist fails too.
    put("/products/43", "if-match", "\"1\"")
        .await
        .assert_problem(412);
    put("/products/43", "if-match", "*")
        .await
        .assert_problem(412);
    // RFC 9110 section 13.1.4: a missing product has no date, so If-Unmodified-Since is
    // ignored and the PUT is unconditional: 428, as for any unconditional write. It never
    // creates one: only If-None-Match: * asks for that.
    put(
        "/products/43",
        "if-unmodified-since",
        "Wed, 25 Nov 2026 12:00:00 GMT",
    )
    .await
    .assert_problem(428);
    // An id a client chose does not move the ids POST hands out.
    let next = server.create("Next", 1.0).await;
    assert_eq!(next.json()["id"], 1);

    // A product deleted and created again continues its versions, so that no ETag of the
    // deleted one matches the new one.
    let reply = send(
        server
            .request(Method::DELETE, "/products/42")
            .header("if-match", "\"1\""),
    )
    .await;
    assert_eq!(reply.status, 204);
    let reply = put("/products/42", "if-none-match", "*").await;
    assert_eq!(reply.status, 201);
    assert_eq!(reply.json()["version"], 2);
    assert_eq!(reply.etag(), "\"2\"");
    put("/products/42", "if-match", "\"1\"")
        .await
        .assert_problem(412);
    let reply = send(server.get("/products/42").header("if-none-match", "\"1\"")).await;
    assert_eq!(reply.status, 200);
}

#[tokio::test]
async fn patch_with_a_merge_patch() {
    let server = Server::start().await;
    let created = server.create("Headphones", 89.99).await;
    let path = created.header("location").unwrap().to_owned();
    let patch = |headers: &[(&str, &str)], content_type: &str, body: &str| {
        let mut request = server
            .request(Method::PATCH, &path)
            .header("content-type", content_type)
            .body(body.to_owned());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        send(request)
    };
    const MERGE: &str = "application/merge-patch+json";

    patch(&[], MERGE, "{\"price\": 79.99}")
        .await
        .assert_problem(428);
    patch(&[("if-match", "\"2\"")], MERGE, "{\"price\": 79.99}")
        .await
        .assert_problem(412);
    let reply = patch(
        &[("if-match", "\"1\"")],
        "application/json",
        "{\"price\": 79.99}",
    )
    .await;
    reply.assert_problem(415);
    assert_eq!(reply.header("accept-patch"), Some(MERGE));
    patch(&[("if-match", "\"1\"")], MERGE, "{\"price\": ")
        .await
        .assert_problem(400);

    let reply = patch(&[("if-match", "\"1\"")], MERGE, "{\"price\": 79.99}").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.etag(), "\"2\"");
    let product = reply.json();
    assert_eq!(product["price"], json!(79.99));
    assert_eq!(product["name"], "Headphones");
    assert_eq!(product["version"], 2);

    let reply = patch(
        &[("if-match", "\"2\"")],
        "application/merge-patch+json; charset=utf-8",
        "{\"name\": \"Studio Headphones\"}",
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["name"], "Studio Headphones");
    assert_eq!(reply.json()["price"], json!(79.99));

    // The patched product must still be a valid product.
    patch(&[("if-match", "\"3\"")], MERGE, "{\"name\": null}")
        .await
        .assert_problem(422);
    patch(&[("if-match", "\"3\"")], MERGE, "{\"colour\": \"red\"}")
        .await
        .assert_problem(422);
    patch(&[("if-match", "\"3\"")], MERGE, "{\"price\": 0.001}")
        .await
        .assert_problem(422);
    patch(&[("if-match", "\"3\"")], MERGE, "[]")
        .await
        .assert_problem(422);
    // If-Unmodified-Since works for PATCH too.
    let current = send(server.get(&path)).await;
    let last_modified = current.header("last-modified").unwrap().to_owned();
    let reply = patch(
        &[("if-unmodified-since", &last_modified)],
        MERGE,
        "{\"price\": 75}",
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["version"], 4);

    let reply = send(
        server
            .request(Method::PATCH, "/products/777")
            .header("if-match", "\"1\"")
            .header("content-type", MERGE)
            .body("{}"),
    )
    .await;
    reply.assert_problem(404);
}

#[tokio::test]
async fn delete_needs_the_current_version() {
    let server = Server::start().await;
    let created = server.create("Webcam", 59.0).await;
    let path = created.header("location").unwrap().to_owned();
    let delete = |headers: &[(&str, &str)]| {
        let mut request = server.request(Method::DELETE, &path);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        send(request)
    };
    delete(&[]).await.assert_problem(428);
    delete(&[("if-match", "\"3\"")]).await.assert_problem(412);
    delete(&[("if-none-match", "*")]).await.assert_problem(412);
    assert_eq!(send(server.get(&path)).await.status, 200);
    let reply = delete(&[("if-match", "\"1\"")]).await;
    assert_eq!(reply.status, 204);
    assert!(reply.body.is_empty());
    send(server.get(&path)).await.assert_problem(404);
    delete(&[("if-match", "\"1\"")]).await.assert_problem(404);
}

//! The `products` binary, started as a real process on a free loopback port with an
//! in-memory database, and driven over HTTP.

mod common;

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::DateTime;
use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

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
async fn item_reads_get_304_and_412_per_rfc_9110() {
    let server = Server::start().await;
    let created = server.create("Desk Lamp", 45.5).await;
    let path = created.header("location").unwrap().to_owned();

    let reply = send(server.get(&path)).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.etag(), "\"1\"", "a strong ETag");
    assert_eq!(reply.header("cache-control"), Some("no-cache"));
    assert_eq!(reply.json(), created.json());
    let last_modified = reply.header("last-modified").unwrap().to_owned();

    let head = send(server.request(Method::HEAD, &path)).await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_eq!(head.etag(), "\"1\"");
    assert_eq!(head.header("cache-control"), Some("no-cache"));
    assert_eq!(head.header("last-modified"), Some(last_modified.as_str()));

    let get_if = |name: &'static str, value: String, method: Method| {
        send(server.request(method, &path).header(name, value))
    };
    // If-None-Match uses the weak comparison: W/"1" matches "1".
    for inm in ["\"1\"", "W/\"1\"", "\"x\", \"1\"", "*"] {
        for method in [Method::GET, Method::HEAD] {
            let reply = get_if("if-none-match", inm.into(), method.clone()).await;
            assert_eq!(reply.status, 304, "{method} If-None-Match: {inm}");
            assert!(reply.body.is_empty());
            assert_eq!(reply.etag(), "\"1\"");
            assert_eq!(reply.header("cache-control"), Some("no-cache"));
            assert_eq!(reply.header("content-type"), None);
            // RFC 9110 section 8.6: a 304 carries no Content-Length but the 200's own.
            assert_eq!(
                reply.header("content-length"),
                None,
                "{method} If-None-Match: {inm}"
            );
        }
    }
    let reply = get_if("if-none-match", "\"2\"".into(), Method::GET).await;
    assert_eq!(reply.status, 200);

    // If-Modified-Since: not modified since the Last-Modified itself.
    let reply = get_if("if-modified-since", last_modified.clone(), Method::GET).await;
    assert_eq!(reply.status, 304);
    assert!(reply.body.is_empty());
    assert_eq!(reply.header("cache-control"), Some("no-cache"));
    let earlier = format_http_date(http_date(&last_modified) - chrono::Duration::seconds(1));
    let reply = get_if("if-modified-since", earlier.clone(), Method::GET).await;
    assert_eq!(reply.status, 200);
    let reply = get_if("if-modified-since", "not a date".into(), Method::GET).await;
    assert_eq!(reply.status, 200);
    // If-None-Match takes precedence over If-Modified-Since.
    let reply = send(
        server
            .get(&path)
            .header("if-none-match", "\"2\"")
            .header("if-modified-since", &last_modified),
    )
    .await;
    assert_eq!(reply.status, 200);

    // If-Match and If-Unmodified-Since on a read.
    assert_eq!(
        get_if("if-match", "\"1\"".into(), Method::GET).await.status,
        200
    );
    get_if("if-match", "\"2\"".into(), Method::GET)
        .await
        .assert_problem(412);
    get_if("if-match", "W/\"1\"".into(), Method::GET)
        .await
        .assert_problem(412);
    get_if("if-unmodified-since", earlier, Method::GET)
        .await
        .assert_problem(412);
    assert_eq!(
        get_if("if-unmodified-since", last_modified, Method::GET)
            .await
            .status,
        200
    );

    // Absent products are 404, whatever the preconditions.
    send(server.get("/products/999")).await.assert_problem(404);
    send(server.get("/products/999").header("if-match", "\"1\""))
        .await
        .assert_problem(404);
    let head = send(server.request(Method::HEAD, "/products/999")).await;
    assert_eq!(head.status, 404);
    for bad in [
        "abc",
        "0",
        "-1",
        "1.5",
        "99999999999999999999",
        "9007199254740992",
    ] {
        send(server.get(&format!("/products/{bad}")))
            .await
            .assert_problem(404);
    }
}

#[tokio::test]
async fn list_validators_change_on_every_write() {
    let server = Server::start().await;
    let empty = send(server.get("/products")).await;
    assert_eq!(empty.status, 200);
    assert_eq!(empty.json(), json!([]));
    assert_eq!(empty.header("cache-control"), Some("no-cache"));
    assert!(empty.header("last-modified").is_some());
    let mut seen = vec![empty.etag().to_owned()];

    let mut check_changed = async |what: &str| {
        let reply = send(server.get("/products")).await;
        assert_eq!(reply.status, 200);
        let tag = reply.etag().to_owned();
        // The tag digests the page's ids and versions: a list that comes back to a state it
        // had (the same rows at the same versions) may come back to its tag, but each change
        // gives a tag the one before it did not have.
        assert_ne!(
            seen.last(),
            Some(&tag),
            "{what}: the list ETag did not change"
        );
        for old in &seen {
            if *old != tag {
                let stale = send(server.get("/products").header("if-none-match", old)).await;
                assert_eq!(stale.status, 200, "{what}: an old tag {old} still matches");
            }
        }
        seen.push(tag.clone());
        let not_modified = send(server.get("/products").header("if-none-match", &tag)).await;
        assert_eq!(not_modified.status, 304, "{what}");
        assert!(not_modified.body.is_empty());
        assert_eq!(not_modified.etag(), tag);
        assert_eq!(not_modified.header("cache-control"), Some("no-cache"));
        let head = send(
            server
                .request(Method::HEAD, "/products")
                .header("if-none-match", &tag),
        )
        .await;
        assert_eq!(head.status, 304);
        reply.json()
    };

    let a = server.create("A", 1.0).await.json();
    let list = check_changed("create").await;
    assert_eq!(list, json!([a]));
    let b = server.create("B", 2.0).await.json();
    check_changed("second create").await;
    let path_b = format!("/products/{}", b["id"]);
    let reply = send(
        server
            .request(Method::PUT, &path_b)
            .header("if-match", "\"1\"")
            .json(&json!({"name": "B", "price": 2.5})),
    )
    .await;
    assert_eq!(reply.status, 200);
    let list = check_changed("update").await;
    assert_eq!(list[1]["price"], json!(2.5));
    // Deleting the newest row: the count goes down and no remaining row changes, yet the
    // list's validators must change.
    let reply = send(
        server
            .request(Method::DELETE, &path_b)
            .header("if-match", "\"2\""),
    )
    .await;
    assert_eq!(reply.status, 204);
    let list = check_changed("delete of the newest").await;
    assert_eq!(list, json!([a]));
    // A failed write changes nothing.
    let stale = send(
        server
            .request(Method::PUT, &format!("/products/{}", a["id"]))
            .header("if-match", "\"7\"")
            .json(&json!({"name": "A", "price": 9})),
    )
    .await;
    stale.assert_problem(412);
    let reply = send(
        server
            .get("/products")
            .header("if-none-match", seen.last().unwrap()),
    )
    .await;
    assert_eq!(reply.status, 304);
}

/// The `rel="next"` target of a `Link` header, if any.
fn next_link(reply: &Reply) -> Option<String> {
    let link = reply.header("link")?;
    let (target, params) = link.split_once(';')?;
    assert_eq!(params.trim(), "rel=\"next\"", "{link}");
    Some(
        target
            .trim()
            .strip_prefix('<')?
            .strip_suffix('>')?
            .to_owned(),
    )
}

/// Every page of the list at `first`, following `Link: rel="next"`: each page's path, ETag
/// and product ids.
async fn walk_pages(server: &Server, first: &str) -> Vec<(String, String, Vec<i64>)> {
    let mut pages = Vec::new();
    let mut next = Some(first.to_owned());
    while let Some(path) = next {
        let reply = send(server.get(&path)).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
        assert_eq!(reply.header("cache-control"), Some("no-cache"));
        let ids = reply
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_i64().unwrap())
            .collect();
        next = next_link(&reply);
        pages.push((path, reply.etag().to_owned(), ids));
        assert!(pages.len() < 100, "the links loop");
    }
    pages
}

#[tokio::test]
async fn the_list_is_paged_and_each_page_has_its_own_validators() {
    let server = Server::start().await;
    for i in 1..=25 {
        server.create(&format!("P{i}"), 1.0).await;
    }
    // Without a query: the first page of the default size, here all of them, no Link.
    let all = send(server.get("/products")).await;
    assert_eq!(all.json().as_array().unwrap().len(), 25);
    assert_eq!(all.header("link"), None);

    let pages = walk_pages(&server, "/products?limit=10").await;
    let paths: Vec<&str> = pages.iter().map(|(p, _, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/products?limit=10",
            "/products?limit=10&after=10",
            "/products?limit=10&after=20"
        ]
    );
    let visited: Vec<i64> = pages.iter().flat_map(|(_, _, ids)| ids.clone()).collect();
    assert_eq!(
        visited,
        (1..=25).collect::<Vec<_>>(),
        "each product once, in order"
    );
    let tags: Vec<String> = pages.iter().map(|(_, tag, _)| tag.clone()).collect();
    assert!(
        tags[0] != tags[1] && tags[1] != tags[2] && tags[0] != tags[2],
        "{tags:?}"
    );
    assert!(tags.iter().all(|t| !t.starts_with("W/")), "strong tags");

    let revalidate = async |path: &str, tag: &str| {
        let reply = send(server.get(path).header("if-none-match", tag)).await;
        if reply.status == 304 {
            assert!(reply.body.is_empty());
            assert_eq!(reply.etag(), tag);
        }
        reply.status
    };
    for (path, tag, _) in &pages {
        assert_eq!(revalidate(path, tag).await, 304, "{path}");
        let head = send(
            server
                .request(Method::HEAD, path)
                .header("if-none-match", tag),
        )
        .await;
        assert_eq!(head.status, 304);
    }

    // A change to a product on page 2 changes page 2 only.
    let reply = send(
        server
            .request(Method::PUT, "/products/15")
            .header("if-match", "\"1\"")
            .json(&json!({"name": "Changed", "price": 2.0})),
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(revalidate(&pages[0].0, &pages[0].1).await, 304);
    assert_eq!(revalidate(&pages[1].0, &pages[1].1).await, 200);
    assert_eq!(revalidate(&pages[2].0, &pages[2].1).await, 304);
    let page2 = send(server.get(&pages[1].0)).await;
    assert_ne!(page2.etag(), pages[1].1);
    assert_eq!(revalidate(&pages[1].0, page2.etag()).await, 304);

    // A product added to the last page changes it, and only it.
    server.create("P26", 1.0).await;
    assert_eq!(revalidate(&pages[0].0, &pages[0].1).await, 304);
    assert_eq!(revalidate(&pages[1].0, page2.etag()).await, 304);
    assert_eq!(revalidate(&pages[2].0, &pages[2].1).await, 200);

    // A product deleted from page 2 changes page 2 (which now ends with product 21). Pages
    // are keyed by the id they start after, so the others stay as they were.
    let page3 = send(server.get(&pages[2].0)).await;
    let reply = send(
        server
            .request(Method::DELETE, "/products/12")
            .header("if-match", "\"1\""),
    )
    .await;
    assert_eq!(reply.status, 204);
    assert_eq!(revalidate(&pages[0].0, &pages[0].1).await, 304);
    assert_eq!(revalidate(&pages[1].0, page2.etag()).await, 200);
    assert_eq!(revalidate(&pages[2].0, page3.etag()).await, 304);
    let page2 = send(server.get(&pages[1].0)).await;
    assert_eq!(page2.json().as_array().unwrap().last().unwrap()["id"], 21);

    // Following the links again visits every product once.
    let visited: Vec<i64> = walk_pages(&server, "/products?limit=7")
        .await
        .into_iter()
        .flat_map(|(_, _, ids)| ids)
        .collect();
    let expected: Vec<i64> = (1..=26).filter(|&id| id != 12).collect();
    assert_eq!(visited, expected);
    let visited: Vec<i64> = walk_pages(&server, "/products?limit=1")
        .await
        .into_iter()
        .flat_map(|(_, _, ids)| ids)
        .collect();
    assert_eq!(visited, expected);

    // Bad page parameters are 400 problems.
    for query in [
        "limit=0",
        "limit=1001",
        "limit=ten",
        "limit=010",
        "limit=",
        "after=-1",
        "after=abc",
        "after=9007199254740992",
        "limit=5&limit=6",
        "offset=10",
    ] {
        let problem = send(server.get(&format!("/products?{query}")))
            .await
            .assert_problem(400);
        assert!(
            problem["detail"].as_str().unwrap().contains('`')
                || problem["detail"].as_str().unwrap().contains("parameter"),
            "{query}: {problem}"
        );
    }
    assert_eq!(send(server.get("/products?limit=1000")).await.status, 200);
}

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
    let mut tasks = Vec::new();
    for _ in 0..POSTERS {
        let server = server.clone();
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for _ in 0..POSTS {
                ids.push(
                    server.create("Posted", 1.0).await.json()["id"]
                        .as_i64()
                        .unwrap(),
                );
            }
            ids
        }));
    }
    let putter = {
        let server = server.clone();
        tokio::spawn(async move {
            let mut ids = Vec::new();
            for id in 1..=(POSTERS * POSTS) as i64 {
                let reply = send(
                    server
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
        })
    };
    let mut ids = putter.await.unwrap();
    let put = ids.len();
    for task in tasks {
        ids.extend(task.await.unwrap());
    }
    ids.sort_unstable();
    let total = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), total, "an id was created twice");
    assert_eq!(total, put + POSTERS * POSTS);
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

/// `clients` concurrent clients each make `cycles` changes of +1 cent by GET, then PUT with
/// If-Match, retrying on 412; client `i` talks to server `i % servers.len()`. Checks that
/// no change was lost.
async fn race_read_modify_write(servers: &[Arc<Server>], clients: usize, cycles: usize) {
    let created = servers[0].create("Counter", 10.0).await;
    let path = Arc::new(created.header("location").unwrap().to_owned());
    let start_cents = cents(&created.json());
    let successes = Arc::new(AtomicU64::new(0));
    let conflicts = Arc::new(AtomicU64::new(0));

    let mut tasks = Vec::new();
    for client in 0..clients {
        let (server, path) = (servers[client % servers.len()].clone(), path.clone());
        let (successes, conflicts) = (successes.clone(), conflicts.clone());
        tasks.push(tokio::spawn(async move {
            for _ in 0..cycles {
                let mut attempts = 0;
                loop {
                    attempts += 1;
                    assert!(attempts < 5_000, "no progress");
                    let current = send(server.get(&path)).await;
                    assert_eq!(current.status, 200);
                    let product = current.json();
                    let new_cents = cents(&product) + 1;
                    let reply = send(
                        server
                            .request(Method::PUT, &path)
                            .header("if-match", current.etag())
                            .json(&json!({
                                "name": product["name"],
                                "price": new_cents as f64 / 100.0,
                            })),
                    )
                    .await;
                    match reply.status {
                        200 => {
                            successes.fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                        412 => {
                            conflicts.fetch_add(1, Ordering::Relaxed);
                        }
                        other => panic!("unexpected {other}: {}", reply.body),
                    }
                }
            }
        }));
    }
    for task in tasks {
        task.await.expect("a client failed");
    }
    let successes = successes.load(Ordering::Relaxed);
    assert_eq!(successes, (clients * cycles) as u64);
    assert!(
        conflicts.load(Ordering::Relaxed) > 0,
        "the clients never raced"
    );
    for server in servers {
        let last = send(server.get(&path)).await;
        let product = last.json();
        assert_eq!(cents(&product), start_cents + successes as i64);
        assert_eq!(product["version"], json!(1 + successes));
        assert_eq!(last.etag(), format!("\"{}\"", 1 + successes));
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
    let path = Arc::new(created.header("location").unwrap().to_owned());
    let started = Instant::now();
    let successes = Arc::new(AtomicU64::new(0));

    // Writers: read-modify-write until the product is gone. Each success is recorded with
    // the time its request was sent and the version it produced.
    let mut writers = Vec::new();
    for _ in 0..WRITERS {
        let (server, path, successes) = (server.clone(), path.clone(), successes.clone());
        writers.push(tokio::spawn(async move {
            let mut won = Vec::new();
            for _ in 0..10_000 {
                let current = send(server.get(&path)).await;
                if current.status == 404 {
                    return won;
                }
                assert_eq!(current.status, 200);
                let product = current.json();
                let sent = started.elapsed();
                let reply = send(
                    server
                        .request(Method::PUT, &path)
                        .header("if-match", current.etag())
                        .json(&json!({
                            "name": "Doomed",
                            "price": (cents(&product) + 1) as f64 / 100.0,
                        })),
                )
                .await;
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

    // The deleter waits for some writes, then deletes the version it read, retrying on 412.
    while successes.load(Ordering::Relaxed) < 20 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let (deleted_version, deleted_at) = loop {
        let current = send(server.get(&path)).await;
        assert_eq!(current.status, 200);
        let tag = current.etag().to_owned();
        let reply = send(
            server
                .request(Method::DELETE, &path)
                .header("if-match", &tag),
        )
        .await;
        match reply.status {
            204 => {
                let version: i64 = tag.trim_matches('"').parse().unwrap();
                break (version, started.elapsed());
            }
            412 => continue,
            other => panic!("unexpected {other}: {}", reply.body),
        }
    };

    let mut versions = Vec::new();
    for writer in writers {
        for (sent, version) in writer.await.expect("a writer failed") {
            assert!(
                sent < deleted_at,
                "a PUT sent after the DELETE completed succeeded"
            );
            versions.push(version);
        }
    }
    versions.sort_unstable();
    // Every success made exactly one version, and the DELETE removed the last of them.
    let expected: Vec<i64> = (2..=deleted_version).collect();
    assert_eq!(versions, expected);
    assert_eq!(
        successes.load(Ordering::Relaxed),
        (deleted_version - 1) as u64
    );

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

impl Server {
    fn pid(&self) -> String {
        self.child.id().expect("still running").to_string()
    }

    async fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.pid()])
            .status()
            .await
            .expect("run kill");
        assert!(status.success());
    }

    /// Waits up to `limit` for the process to exit.
    async fn exited_within(&mut self, limit: Duration) -> std::process::ExitStatus {
        tokio::time::timeout(limit, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("the server did not exit within {limit:?}"))
            .expect("wait for the server")
    }
}

/// Reads until the server closes the connection (or resets it); what it sent.
async fn read_to_close(stream: &mut tokio::net::tcp::OwnedReadHalf, limit: Duration) -> Vec<u8> {
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
    tokio::time::timeout(limit, read)
        .await
        .unwrap_or_else(|_| panic!("the connection is still open after {limit:?}"));
    answer
}

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

/// The walkthrough runs against the binary and gets the statuses its comments promise.
#[tokio::test]
async fn walkthrough_script_runs() {
    let server = Server::start().await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/walkthrough.sh");
    let output = tokio::time::timeout(
        Duration::from_secs(120),
        Command::new("bash")
            .arg(script)
            .env("BASE", &server.base)
            .output(),
    )
    .await
    .expect("the walkthrough finishes")
    .expect("run bash (and curl)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let statuses: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("=> "))
        .collect();
    assert_eq!(
        statuses,
        [
            "201", "200", "304", "428", "200", "412", "200", "200", "200", "304", "204", "404",
            "200"
        ],
        "{stdout}"
    );
    // The responses it shows carry what the comments say.
    assert!(stdout.contains("cache-control: no-cache"), "{stdout}");
    assert!(stdout.contains("HTTP/1.1 304 Not Modified"), "{stdout}");
    assert!(stdout.contains("\"version\":3"), "{stdout}");
}

const WALKTHROUGH: &str = include_str!("../walkthrough.sh");
const MARKER: &str = "<!-- walkthrough -->";

/// The script as the README shows it: without its `#!` line, trimmed.
fn walkthrough_body() -> &'static str {
    match WALKTHROUGH.split_once('\n') {
        Some((first, rest)) if first.starts_with("#!") => rest.trim(),
        _ => WALKTHROUGH.trim(),
    }
}

/// The ```sh block between the `<!-- walkthrough -->` marker and the next
/// `<!-- /walkthrough -->` (or `<!-- walkthrough -->`) marker, trimmed; `None` without the
/// first marker.
fn readme_walkthrough(readme: &str) -> Option<Result<&str, &'static str>> {
    let start = readme.find(MARKER)? + MARKER.len();
    let rest = &readme[start..];
    let Some(end) = ["<!-- /walkthrough -->", MARKER]
        .iter()
        .filter_map(|m| rest.find(m))
        .min()
    else {
        return Some(Err("the walkthrough section has no end marker"));
    };
    let section = &rest[..end];
    let Some(open) = section.find("```sh\n") else {
        return Some(Err("no ```sh block in the walkthrough section"));
    };
    let block = &section[open + "```sh\n".len()..];
    let Some(close) = block.find("\n```") else {
        return Some(Err("the walkthrough's ```sh block is not closed"));
    };
    Some(Ok(block[..close].trim()))
}

/// The README shows the walkthrough verbatim: see [`readme_walkthrough`].
#[test]
fn readme_shows_the_walkthrough_verbatim() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md");
    let readme = std::fs::read_to_string(path).expect("the workspace README");
    match readme_walkthrough(&readme) {
        None => panic!("README.md has lost its {MARKER} marker"),
        Some(Err(e)) => panic!("README.md: {e}"),
        Some(Ok(block)) => assert_eq!(
            block,
            walkthrough_body(),
            "README.md's walkthrough differs from examples/walkthrough.sh"
        ),
    }
}

#[test]
fn readme_walkthrough_check_reads_the_marked_block() {
    let body = walkthrough_body();
    for end in ["<!-- /walkthrough -->", MARKER] {
        let readme = format!("# Title\n\n{MARKER}\n```sh\n{body}\n```\n{end}\n\nMore.\n");
        assert_eq!(readme_walkthrough(&readme), Some(Ok(body)));
        let changed = readme.replace("=> %{http_code}", "=> %{response_code}");
        assert_ne!(readme_walkthrough(&changed), Some(Ok(body)));
    }
    assert_eq!(readme_walkthrough("# Title\n```sh\necho\n```\n"), None);
    assert!(matches!(
        readme_walkthrough(&format!("{MARKER}\n```sh\necho\n```\n")),
        Some(Err(_))
    ));
    assert!(body.starts_with("# Start the server"));
    assert!(!body.contains("#!/"));
}

/// `curl --range`, a resumed download (`curl -C -` with `If-Range`), and a resume across a
/// change, which must give the new whole body rather than a splice of old and new bytes
/// (RFC 9110 sections 14 and 13.1.5).
#[tokio::test]
async fn the_csv_export_serves_ranges_and_resumes_safely() {
    let server = Server::start().await;
    for i in 0..20 {
        server
            .create(&format!("Cable {i}"), 5.0 + f64::from(i))
            .await;
    }
    let full = send(server.get("/products.csv")).await;
    assert_eq!(full.status, 200);
    assert_eq!(full.header("accept-ranges"), Some("bytes"));
    assert_eq!(full.header("content-type"), Some("text/csv; charset=utf-8"));
    let tag = full.etag().to_owned();
    let body = full.body.clone();
    assert!(body.starts_with("id,name,price,version,updated_at\r\n1,\"Cable 0\",5"));

    let dir = temp_dir();
    let curl = |args: &[&str]| {
        let out = std::process::Command::new("curl")
            .args(["-s", "-S"])
            .args(args)
            .output()
            .expect("run curl");
        (out.status.code(), out.stdout)
    };
    let url = server.url("/products.csv");

    // curl --range: exactly those bytes.
    let (code, part) = curl(&["--range", "0-34", &url]);
    assert_eq!(code, Some(0));
    assert_eq!(part, &body.as_bytes()[..35]);

    // A download cut in half, resumed with curl -C - and If-Range: the same bytes.
    let file = dir.join("export.csv");
    let file = file.to_str().unwrap();
    let half = body.len() / 2;
    std::fs::write(file, &body.as_bytes()[..half]).unwrap();
    let if_range = format!("If-Range: {tag}");
    let (code, _) = curl(&["-C", "-", "-H", &if_range, "-o", file, &url]);
    assert_eq!(code, Some(0));
    assert_eq!(std::fs::read(file).unwrap(), body.as_bytes());

    // A product changes; resuming against the old tag gets the whole new body (200), which
    // curl refuses to splice onto the old half (exit 33, "cannot resume").
    let path = "/products/3";
    let current = send(server.get(path)).await;
    let reply = send(
        server
            .request(Method::PUT, path)
            .header("if-match", current.etag())
            .json(&json!({"name": "Cable 3, longer", "price": 9.5})),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    std::fs::write(file, &body.as_bytes()[..half]).unwrap();
    let (code, _) = curl(&["-C", "-", "-H", &if_range, "-o", file, &url]);
    assert_eq!(code, Some(33), "curl must not splice a changed file");
    assert_eq!(std::fs::read(file).unwrap(), &body.as_bytes()[..half]);
    let resumed = send(
        server
            .get("/products.csv")
            .header("range", format!("bytes={half}-"))
            .header("if-range", &tag),
    )
    .await;
    assert_eq!(resumed.status, 200);
    assert_ne!(resumed.etag(), tag);
    assert!(resumed.body.contains("Cable 3, longer"));
    assert_eq!(resumed.body, send(server.get("/products.csv")).await.body);

    // The product itself honours Range and If-Range too.
    let product = send(server.get(path)).await;
    let first = send(
        server
            .get(path)
            .header("range", "bytes=0-4")
            .header("if-range", product.etag()),
    )
    .await;
    assert_eq!(first.status, 206);
    assert_eq!(first.body, &product.body[..5]);
    assert_eq!(
        first.header("content-range"),
        Some(format!("bytes 0-4/{}", product.body.len()).as_str())
    );
    let stale = send(
        server
            .get(path)
            .header("range", "bytes=0-4")
            .header("if-range", current.etag()),
    )
    .await;
    assert_eq!(stale.status, 200);
    assert_eq!(stale.body, product.body);
}

/// `GET` with `Accept-Encoding: coding` (reqwest decodes nothing here: the body stays coded).
async fn get_coded(server: &Server, path: &str, coding: &str, tag: Option<&str>) -> Reply {
    let mut request = server.get(path).header("accept-encoding", coding);
    if let Some(tag) = tag {
        request = request.header("if-none-match", tag);
    }
    send(request).await
}

/// RFC 9110 section 8.8.1: a strong tag names one byte sequence, so the gzip, br and
/// identity bodies of one version carry different strong tags; each revalidates to 304,
/// and both the 200 and the 304 say `Vary: Accept-Encoding` (sections 12.5.5, 15.4.5).
#[tokio::test]
async fn rfc9110_8_8_1_each_coding_of_the_list_has_its_own_strong_tag_that_revalidates() {
    let server = Server::start().await;
    for name in ["Lamp", "Desk", "Chair"] {
        server.create(name, 12.5).await;
    }
    let mut tags = Vec::new();
    for coding in ["identity", "gzip", "br"] {
        let reply = get_coded(&server, "/products", coding, None).await;
        assert_eq!(reply.status, 200, "{coding}");
        if coding == "identity" {
            assert!(reply.header("content-encoding").is_none());
        } else {
            assert_eq!(reply.header("content-encoding"), Some(coding));
        }
        assert_eq!(reply.header("vary"), Some("accept-encoding"), "{coding}");
        let tag = reply.etag().to_owned();
        assert!(!tag.starts_with("W/"), "strong: {tag}");
        let again = get_coded(&server, "/products", coding, Some(&tag)).await;
        assert_eq!(again.status, 304, "{coding}");
        assert_eq!(again.etag(), tag, "{coding}");
        assert_eq!(again.header("vary"), Some("accept-encoding"), "{coding}");
        assert!(again.header("content-encoding").is_none(), "{coding}");
        assert!(again.body.is_empty(), "{coding}");
        tags.push(tag);
    }
    assert_ne!(tags[0], tags[1]);
    assert_ne!(tags[0], tags[2]);
    assert_ne!(tags[1], tags[2]);
}

/// RFC 9110 section 13.1.1: a PUT whose `If-Match` carries the tag of a compressed GET of
/// the current version succeeds; once the version moved on, that tag gets 412.
#[tokio::test]
async fn rfc9110_13_1_1_if_match_takes_the_tag_of_a_compressed_get_and_refuses_a_stale_one() {
    let server = Server::start().await;
    let created = server.create("Lamp", 12.5).await;
    let path = created.header("location").expect("a Location").to_owned();
    let gzip = get_coded(&server, &path, "gzip", None).await;
    assert_eq!(gzip.header("content-encoding"), Some("gzip"));
    let tag = gzip.etag().to_owned();
    assert_eq!(tag, "\"1-gzip\"");
    let put = |tag: String| {
        send(
            server
                .request(Method::PUT, &path)
                .header("if-match", tag)
                .json(&json!({ "name": "Lamp", "price": 14.0 })),
        )
    };
    let reply = put(tag.clone()).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.etag(), "\"2\"");
    put(tag).await.assert_problem(412);
    put("\"1-br\"".into()).await.assert_problem(412);
}

/// RFC 9110 section 13.1.2 and RFC 9111 section 5.2.2.7: `/me/favorites` is the caller's.
/// Its tags are sealed for them: user B with user A's tag gets 200 on GET and 412 on PUT;
/// the responses are `private` and vary on `Authorization`.
#[tokio::test]
async fn rfc9110_13_1_favorites_belong_to_their_caller() {
    let server = Server::start().await;
    let as_user = |method: Method, who: &str| {
        server
            .request(method, "/me/favorites")
            .header("authorization", format!("Bearer {who}"))
    };
    let ada = send(as_user(Method::GET, "ada")).await;
    assert_eq!(ada.status, 200);
    assert_eq!(ada.json(), json!([]));
    assert_eq!(ada.header("cache-control"), Some("private, no-cache"));
    assert_eq!(ada.header("vary"), Some("authorization"));
    let ada_tag = ada.etag().to_owned();
    assert!(!ada_tag.contains("ada"), "{ada_tag}");

    let again = send(as_user(Method::GET, "ada").header("if-none-match", &ada_tag)).await;
    assert_eq!(again.status, 304);
    let bob = send(as_user(Method::GET, "bob").header("if-none-match", &ada_tag)).await;
    assert_eq!(bob.status, 200);
    assert_ne!(bob.etag(), ada_tag);

    let put = |who: &str, tag: &str| {
        send(
            as_user(Method::PUT, who)
                .header("if-match", tag.to_owned())
                .json(&json!([3, 1])),
        )
    };
    put("bob", &ada_tag).await.assert_problem(412);
    let saved = put("ada", &ada_tag).await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    assert_eq!(saved.json(), json!([3, 1]));
    assert_ne!(saved.etag(), ada_tag);
    put("ada", &ada_tag).await.assert_problem(412);
    // Bob's list did not change.
    assert_eq!(send(as_user(Method::GET, "bob")).await.json(), json!([]));

    // No precondition: 428; no caller: 401 with a challenge, before anything else.
    let reply = send(as_user(Method::PUT, "ada").json(&json!([1]))).await;
    reply.assert_problem(428);
    let reply = send(server.get("/me/favorites").header("if-none-match", "*")).await;
    reply.assert_problem(401);
    assert_eq!(
        reply.header("www-authenticate"),
        Some("Bearer realm=\"products\"")
    );
    assert!(reply.header("etag").is_none());
    // Not a list of product ids: 422.
    let reply = send(
        as_user(Method::PUT, "ada")
            .header("if-match", saved.etag().to_owned())
            .json(&json!([1, 1])),
    )
    .await;
    reply.assert_problem(422);
}

/// `/` has no model: `ETagLayer` tags it by the SHA-256 of its body and answers 304, in
/// each coding; the `#[etag]` routes behind the same layer keep their version tags.
#[tokio::test]
async fn the_layer_tags_the_index_and_leaves_the_etag_routes_alone() {
    let server = Server::start().await;
    let index = send(server.get("/")).await;
    assert_eq!(index.status, 200);
    let digest = etag_runtime::ETag::digest(index.body.as_bytes()).to_string();
    assert_eq!(index.etag(), digest);
    let again = send(server.get("/").header("if-none-match", &digest)).await;
    assert_eq!(again.status, 304);
    assert_eq!(again.etag(), digest);
    let gzip = get_coded(&server, "/", "gzip", None).await;
    assert_eq!(
        gzip.etag(),
        format!("{}-gzip\"", digest.trim_end_matches('"'))
    );
    let again = get_coded(&server, "/", "gzip", Some(gzip.etag())).await;
    assert_eq!(again.status, 304);

    let created = server.create("Lamp", 12.5).await;
    let path = created.header("location").expect("a Location").to_owned();
    let product = send(server.get(&path)).await;
    assert_eq!(product.etag(), "\"1\"");
    assert_eq!(product.header("cache-control"), Some("no-cache"));
    let again = send(server.get(&path).header("if-none-match", "\"1\"")).await;
    assert_eq!(again.status, 304);
}

/// RFC 9110 sections 8.8.1 and 13.1.2 through curl's own `--compressed` (when curl is
/// installed): it asks for the codings it has, gets a coded tag, and revalidates with it.
#[tokio::test]
async fn rfc9110_13_1_2_curl_compressed_revalidates_its_coded_tag() {
    let Ok(version) = Command::new("curl").arg("--version").output().await else {
        eprintln!("curl is not installed: skipped");
        return;
    };
    assert!(version.status.success());
    let server = Server::start().await;
    server.create("Lamp", 12.5).await;
    let url = server.url("/products");
    let run = |extra: Vec<String>| {
        let url = url.clone();
        async move {
            let output = Command::new("curl")
                .args(["-s", "--compressed", "-o", "/dev/null", "-D", "-"])
                .args(extra)
                .arg(url)
                .output()
                .await
                .expect("run curl");
            assert!(output.status.success());
            String::from_utf8(output.stdout).expect("ASCII headers")
        }
    };
    let head = run(Vec::new()).await;
    let field = |head: &str, name: &str| {
        head.lines()
            .find_map(|l| {
                let (n, v) = l.split_once(':')?;
                n.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
            })
            .unwrap_or_else(|| panic!("no {name} in {head}"))
    };
    let coding = field(&head, "content-encoding");
    let tag = field(&head, "etag");
    assert!(tag.ends_with(&format!("-{coding}\"")), "{tag} for {coding}");
    let again = run(vec!["-H".into(), format!("If-None-Match: {tag}")]).await;
    assert!(again.starts_with("HTTP/1.1 304"), "{again}");
    assert_eq!(field(&again, "etag"), tag);
    assert_eq!(field(&again, "vary"), "accept-encoding");
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

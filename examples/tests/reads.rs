//! Validators on reads (RFC 9110 section 13): items, lists, pages, the caller's favorites.
//!
//! 304 and 412 for one product, list and page tags that change on every write, and per-user
//! tags sealed for their caller.
//!
//! The `products` binary, started as a real process on a free loopback port (an in-memory
//! database unless a test says otherwise), and driven over HTTP.

mod common;

use reqwest::Method;
use serde_json::json;

use common::*;

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
        // The tag digests the page's count, last id and highest revision: each change gives
        // a tag the one before it did not have.
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

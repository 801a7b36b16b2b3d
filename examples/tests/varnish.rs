//! The example in cache mode behind Varnish with deploy/varnish/default.vcl: responses
//! kept until a write invalidates their cache groups (RFC 9875), through Varnish or
//! through the purge hook of a process Varnish is not in front of.
//!
//! Every test here needs Varnish and its xkey vmod (Debian's varnish and varnish-modules)
//! and is `#[ignore]`d; run with `--ignored`, it fails without them. varnishd runs from a
//! temporary work directory on a loopback port, never as the system's service. The
//! processes share one SQLite file. "No origin request" is read from Varnish's own
//! counter of backend requests (`MAIN.backend_req`).

mod common;

use reqwest::Method;
use serde_json::json;

use common::*;

/// Process `a` behind Varnish, and process `b` on the same database, straight, whose
/// writes purge Varnish through its hook.
struct Stack {
    // Dropped in this order: Varnish, then the processes, then the files.
    varnish: Varnish,
    a: Server,
    b: Server,
    dir: std::path::PathBuf,
}

impl Stack {
    async fn start(test: &str) -> Self {
        let dir = temp_dir();
        let database = format!("sqlite://{}", dir.join("products.db").display());
        let a = Server::start_with(&["--database", &database, "--shared-max-age", "3600"]).await;
        let varnish = Varnish::start(test, &a.addr()).await;
        let purge = format!("{}/", varnish.endpoint.base);
        let b = Server::start_with(&[
            "--database",
            &database,
            "--shared-max-age",
            "3600",
            "--purge-url",
            &purge,
        ])
        .await;
        Self { varnish, a, b, dir }
    }

    fn cache(&self) -> &Endpoint {
        &self.varnish.endpoint
    }

    async fn origin_requests(&self) -> u64 {
        self.varnish.counter("MAIN.backend_req").await
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn put(target: &Endpoint, path: &str, etag: &str, name: &str) -> Reply {
    let reply = send(
        target
            .request(Method::PUT, path)
            .header("if-match", etag)
            .json(&json!({"name": name, "price": 1.5})),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply
}

/// A product nobody changes is served by Varnish, 200 and 304 alike, without asking the
/// origin; the client is still told to revalidate (`no-cache`).
#[tokio::test]
#[ignore = "needs varnish: apt-get install varnish varnish-modules; ETAG_TEST_VARNISH=1"]
async fn an_unchanged_product_is_served_without_the_origin() {
    let stack = Stack::start("an_unchanged_product_is_served_without_the_origin").await;
    let path = location(&stack.cache().create("Mouse", 9.99).await);
    let first = send(stack.cache().get(&path)).await;
    assert_eq!(first.status, 200);
    assert_eq!(first.header("cache-control"), Some("no-cache"));
    let before = stack.origin_requests().await;
    for _ in 0..5 {
        let again = send(stack.cache().get(&path)).await;
        assert_eq!(again.status, 200);
        assert_eq!(again.body, first.body);
        let revalidated = send(
            stack
                .cache()
                .get(&path)
                .header("if-none-match", first.etag()),
        )
        .await;
        assert_eq!(revalidated.status, 304);
    }
    assert_eq!(
        stack.origin_requests().await,
        before,
        "the origin was asked"
    );
}

/// After a PUT through Varnish, the very next GET through it has the new body: the
/// response's `Cache-Group-Invalidation` dropped the stored one on its way back.
#[tokio::test]
#[ignore = "needs varnish: apt-get install varnish varnish-modules; ETAG_TEST_VARNISH=1"]
async fn a_write_through_varnish_makes_the_next_read_fresh() {
    let stack = Stack::start("a_write_through_varnish_makes_the_next_read_fresh").await;
    let path = location(&stack.cache().create("Mouse", 9.99).await);
    let mut etag = send(stack.cache().get(&path)).await.etag().to_owned();
    for round in 0..5 {
        // Stored: a second read does not reach the origin.
        let before = stack.origin_requests().await;
        assert_eq!(send(stack.cache().get(&path)).await.etag(), etag);
        assert_eq!(stack.origin_requests().await, before);
        let name = format!("Mouse {round}");
        let written = put(stack.cache(), &path, &etag, &name).await;
        let read = send(stack.cache().get(&path)).await;
        assert_eq!(read.status, 200);
        assert_eq!(
            read.json()["name"],
            name.as_str(),
            "a stale read after round {round}"
        );
        assert_eq!(read.etag(), written.etag());
        etag = read.etag().to_owned();
    }
}

/// A PUT sent straight to another process never passes Varnish: that process's purge hook
/// makes the next read through Varnish fresh. A process without the hook leaves the stored
/// copy in place, which is what the hook is for.
#[tokio::test]
#[ignore = "needs varnish: apt-get install varnish varnish-modules; ETAG_TEST_VARNISH=1"]
async fn a_write_elsewhere_is_purged_by_the_hook() {
    let stack = Stack::start("a_write_elsewhere_is_purged_by_the_hook").await;
    let path = location(&stack.cache().create("Mouse", 9.99).await);
    let stored = send(stack.cache().get(&path)).await;

    // Through process `a`, straight (no hook, and not through Varnish): Varnish keeps
    // what it has.
    let written = put(&stack.a.endpoint(), &path, stored.etag(), "Unseen").await;
    let read = send(stack.cache().get(&path)).await;
    assert_eq!(
        read.body, stored.body,
        "without a purge, the stored copy stays"
    );

    // Through process `b`, whose hook purges.
    put(&stack.b.endpoint(), &path, written.etag(), "Purged").await;
    let read = send(stack.cache().get(&path)).await;
    assert_eq!(read.json()["name"], "Purged");
}

/// A create and a delete change the collection: every page of the list through Varnish
/// shows them at once, whichever process made them.
#[tokio::test]
#[ignore = "needs varnish: apt-get install varnish varnish-modules; ETAG_TEST_VARNISH=1"]
async fn creates_and_deletes_invalidate_the_list() {
    let stack = Stack::start("creates_and_deletes_invalidate_the_list").await;
    for name in ["A", "B", "C"] {
        stack.cache().create(name, 1.0).await;
    }
    let ids = |reply: &Reply| -> Vec<i64> {
        reply
            .json()
            .as_array()
            .expect("a list")
            .iter()
            .map(|p| p["id"].as_i64().unwrap())
            .collect()
    };
    let pages = ["/products", "/products?limit=2&after=2"];
    for page in pages {
        send(stack.cache().get(page)).await;
    }
    let before = stack.origin_requests().await;
    assert_eq!(ids(&send(stack.cache().get(pages[0])).await), [1, 2, 3]);
    assert_eq!(ids(&send(stack.cache().get(pages[1])).await), [3]);
    assert_eq!(
        stack.origin_requests().await,
        before,
        "the pages are stored"
    );

    // A create through Varnish.
    stack.cache().create("D", 1.0).await;
    assert_eq!(ids(&send(stack.cache().get(pages[0])).await), [1, 2, 3, 4]);
    assert_eq!(ids(&send(stack.cache().get(pages[1])).await), [3, 4]);

    // A delete through process `b`.
    let third = send(stack.b.endpoint().get("/products/3")).await;
    let reply = send(
        stack
            .b
            .endpoint()
            .request(Method::DELETE, "/products/3")
            .header("if-match", third.etag()),
    )
    .await;
    assert_eq!(reply.status, 204, "{}", reply.body);
    assert_eq!(ids(&send(stack.cache().get(pages[0])).await), [1, 2, 4]);
    assert_eq!(ids(&send(stack.cache().get(pages[1])).await), [4]);
}

/// `/me/favorites` is per user: Varnish never hands one caller's list to another.
#[tokio::test]
#[ignore = "needs varnish: apt-get install varnish varnish-modules; ETAG_TEST_VARNISH=1"]
async fn a_per_user_response_is_never_served_to_another_user() {
    let stack = Stack::start("a_per_user_response_is_never_served_to_another_user").await;
    let product = stack.cache().create("Mouse", 9.99).await.json()["id"].clone();
    let as_user = |name: &str| {
        stack
            .cache()
            .get("/me/favorites")
            .header("authorization", format!("Bearer {name}"))
    };
    let ann = send(as_user("ann")).await;
    assert_eq!(ann.status, 200);
    let saved = send(
        stack
            .cache()
            .request(Method::PUT, "/me/favorites")
            .header("authorization", "Bearer ann")
            .header("if-match", ann.etag())
            .json(&json!([product])),
    )
    .await;
    assert_eq!(saved.status, 200, "{}", saved.body);
    for _ in 0..3 {
        let ann = send(as_user("ann")).await;
        let bob = send(as_user("bob")).await;
        assert_eq!(ann.json(), json!([product]), "{}", ann.body);
        assert_eq!(bob.json(), json!([]), "{}", bob.body);
        assert!(!bob.has("cache-groups"));
    }
}

/// The gzip and the identity copy of a product are stored apart (`Vary: Accept-Encoding`,
/// each with its own tag) and both dropped by one write's groups.
#[tokio::test]
#[ignore = "needs varnish: apt-get install varnish varnish-modules; ETAG_TEST_VARNISH=1"]
async fn gzip_and_identity_copies_are_both_invalidated() {
    let stack = Stack::start("gzip_and_identity_copies_are_both_invalidated").await;
    let path = location(&stack.cache().create(&"Mouse ".repeat(30), 9.99).await);
    let get = |coding: &'static str| stack.cache().get(&path).header("accept-encoding", coding);
    let gzip_tag = |tag: &str| format!("{}-gzip\"", tag.trim_end_matches('"'));
    let identity = send(get("identity")).await;
    let gzip = send(get("gzip")).await;
    assert_eq!(gzip.header("content-encoding"), Some("gzip"));
    assert_eq!(gzip.etag(), gzip_tag(identity.etag()));
    let before = stack.origin_requests().await;
    assert_eq!(send(get("gzip")).await.etag(), gzip.etag());
    assert_eq!(send(get("identity")).await.etag(), identity.etag());
    assert_eq!(
        stack.origin_requests().await,
        before,
        "both copies are stored"
    );

    let written = put(&stack.b.endpoint(), &path, identity.etag(), "Changed").await;
    assert_ne!(written.etag(), identity.etag());
    assert_eq!(send(get("gzip")).await.etag(), gzip_tag(written.etag()));
    assert_eq!(send(get("identity")).await.etag(), written.etag());
}

/// The path in a create's `Location`.
fn location(created: &Reply) -> String {
    created.expect_header("location").to_owned()
}

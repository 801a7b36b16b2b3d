//! Cache groups (RFC 9875): `Cache-Groups` on the 200 and 304 of reads (section 2),
//! `Cache-Group-Invalidation` on the 2xx of writes (section 3), from the model
//! (`#[versioned(group = ...)]`) and from the handler (`ResponseGroups`); none on per-user
//! responses; and `CacheGroupsLayer`'s vendor header and purge hook. Every field is read
//! back with a structured-field parser (the `sfv` crate), never compared as text.

mod common;
#[path = "common/grouped.rs"]
mod grouped;

use std::sync::{Arc, Mutex};

use axum::http::Method;
use common::{fetch, send};
use etag_runtime::groups::{CacheGroups, Separator, VendorHeader};
use etag_runtime::layer::{CacheGroupsLayer, Compression, Purge, PurgeError};
use grouped::{App, routes};
use tower_http::compression::CompressionLayer;

/// A header field as an RFC 9651 List whose members are all Strings without parameters,
/// as RFC 9875 defines both fields; `None` when absent.
fn groups_field(reply: &etag_test_support::Reply<bytes::Bytes>, name: &str) -> Option<Vec<String>> {
    let value = reply.header(name)?;
    let list: sfv::List = sfv::Parser::new(value)
        .parse()
        .unwrap_or_else(|e| panic!("{name}: {value:?} is not a structured-field List: {e}"));
    Some(
        list.into_iter()
            .map(|member| match member {
                sfv::ListEntry::Item(item) if item.params.is_empty() => match item.bare_item {
                    sfv::BareItem::String(s) => s.as_str().to_owned(),
                    other => panic!("{name}: {other:?} is not a String"),
                },
                other => panic!("{name}: {other:?} is not a bare String"),
            })
            .collect(),
    )
}

/// RFC 9875 section 2: the 200 of an item carries its group, and so does the 304 that
/// stands for it.
#[tokio::test]
async fn an_item_and_its_304_carry_its_group() {
    let app = routes(App::new(&[1, 2]));
    let full = fetch(&app, "/products/1", &[]).await;
    assert_eq!(full.status, 200);
    assert_eq!(
        groups_field(&full, "cache-groups"),
        Some(vec!["product/1".to_owned()])
    );
    let not_modified = fetch(&app, "/products/1", &[("if-none-match", full.etag())]).await;
    assert_eq!(not_modified.status, 304);
    assert_eq!(
        groups_field(&not_modified, "cache-groups"),
        groups_field(&full, "cache-groups")
    );
    // A 404 belongs to no group: there is nothing a write of it could invalidate.
    let missing = fetch(&app, "/products/9", &[]).await;
    assert_eq!(missing.status, 404);
    assert_eq!(groups_field(&missing, "cache-groups"), None);
}

/// RFC 9875 section 2: the handler's groups go on the 304 decided before the value exists.
#[tokio::test]
async fn groups_declared_before_an_early_304() {
    let app = routes(App::new(&[4]));
    let full = fetch(&app, "/early/4", &[]).await;
    assert_eq!(
        groups_field(&full, "cache-groups"),
        Some(vec!["product/4".to_owned()])
    );
    let early = fetch(&app, "/early/4", &[("if-none-match", "\"1\"")]).await;
    assert_eq!(early.status, 304);
    assert_eq!(
        groups_field(&early, "cache-groups"),
        Some(vec!["product/4".to_owned()])
    );
}

/// RFC 9875 section 2: a list belongs to its collection's group and to its members'.
#[tokio::test]
async fn a_list_belongs_to_its_collection_and_members() {
    let app = routes(App::new(&[1, 2]));
    let reply = fetch(&app, "/products", &[]).await;
    assert_eq!(
        groups_field(&reply, "cache-groups"),
        Some(vec![
            "product".to_owned(),
            "product/1".to_owned(),
            "product/2".to_owned()
        ])
    );
    // Longer than `MAX_MEMBERS`: the collection's group alone, which every member's
    // write invalidates too, so that the field stays small.
    let ids: Vec<i64> = (1..=CacheGroups::MAX_MEMBERS as i64 + 1).collect();
    let long = routes(App::new(&ids));
    let reply = fetch(&long, "/products", &[]).await;
    assert_eq!(
        groups_field(&reply, "cache-groups"),
        Some(vec!["product".to_owned()])
    );
    // Empty, it still belongs to the collection, so that a create invalidates it.
    let empty = routes(App::new(&[]));
    let reply = fetch(&empty, "/products", &[]).await;
    assert_eq!(
        groups_field(&reply, "cache-groups"),
        Some(vec!["product".to_owned()])
    );
}

/// RFC 9875 section 3: a successful write names the item and its collection in
/// `Cache-Group-Invalidation`, and sends no `Cache-Groups`; a refused one names nothing.
#[tokio::test]
async fn writes_invalidate_the_item_and_its_collection() {
    let app = routes(App::new(&[1, 2]));
    let body = Some(r#"{"name": "new"}"#);
    let put = send(
        &app,
        Method::PUT,
        "/products/1",
        &[("if-match", "\"1\"")],
        body,
    )
    .await;
    assert_eq!(put.status, 200);
    assert_eq!(
        groups_field(&put, "cache-group-invalidation"),
        Some(vec!["product/1".to_owned(), "product".to_owned()])
    );
    assert_eq!(groups_field(&put, "cache-groups"), None);

    let stale = send(
        &app,
        Method::PUT,
        "/products/1",
        &[("if-match", "\"1\"")],
        body,
    )
    .await;
    assert_eq!(stale.status, 412);
    assert_eq!(groups_field(&stale, "cache-group-invalidation"), None);

    let delete = send(
        &app,
        Method::DELETE,
        "/products/2",
        &[("if-match", "\"1\"")],
        None,
    )
    .await;
    assert_eq!(delete.status, 204);
    assert_eq!(
        groups_field(&delete, "cache-group-invalidation"),
        Some(vec!["product/2".to_owned(), "product".to_owned()])
    );
}

/// RFC 9111 section 5.2.2.7: a `private` response is never stored by a shared cache, so
/// it names no group, whatever the handler adds.
#[tokio::test]
async fn private_responses_carry_no_groups() {
    let app = routes(App::new(&[1]));
    let mine = fetch(&app, "/me", &[("authorization", "Bearer ann")]).await;
    assert_eq!(mine.status, 200);
    assert!(mine.expect_header("cache-control").contains("private"));
    assert_eq!(groups_field(&mine, "cache-groups"), None);
    let private = fetch(&app, "/private", &[]).await;
    assert_eq!(private.status, 200);
    assert_eq!(groups_field(&private, "cache-groups"), None);
}

/// The gzip and the identity representation of one product belong to the same group, on
/// their 200s and their 304s.
#[tokio::test]
async fn every_coding_carries_the_groups() {
    let app = routes(App::new(&[1])).layer(Compression::new(CompressionLayer::new()));
    for coding in ["gzip", "identity"] {
        let full = fetch(&app, "/products/1", &[("accept-encoding", coding)]).await;
        assert_eq!(full.status, 200);
        let not_modified = fetch(
            &app,
            "/products/1",
            &[("accept-encoding", coding), ("if-none-match", full.etag())],
        )
        .await;
        assert_eq!(not_modified.status, 304, "{coding}");
        for reply in [&full, &not_modified] {
            assert_eq!(
                groups_field(reply, "cache-groups"),
                Some(vec!["product/1".to_owned()]),
                "{coding}"
            );
        }
    }
}

/// What the purge hook was asked, and how many times it should fail first.
#[derive(Clone, Default)]
struct Recorder {
    calls: Arc<Mutex<Vec<Vec<String>>>>,
    failures: Arc<Mutex<usize>>,
}

impl Purge for Recorder {
    async fn purge(&self, groups: &CacheGroups) -> Result<(), PurgeError> {
        self.calls
            .lock()
            .unwrap()
            .push(groups.iter().map(str::to_owned).collect());
        let mut failures = self.failures.lock().unwrap();
        if *failures > 0 {
            *failures -= 1;
            return Err(PurgeError::new("the cache is down"));
        }
        Ok(())
    }
}

/// The vendor header carries the groups of reads, with its separator and within its
/// limits, on the 200 and the 304; writes get none.
#[tokio::test]
async fn the_vendor_header_follows_cache_groups() {
    let app = routes(App::new(&[1, 2, 3]))
        .layer(CacheGroupsLayer::new().vendor_header(VendorHeader::surrogate_key()));
    let full = fetch(&app, "/products", &[]).await;
    assert_eq!(
        full.header("surrogate-key"),
        Some("product product/1 product/2 product/3")
    );
    let not_modified = fetch(&app, "/products", &[("if-none-match", full.etag())]).await;
    assert_eq!(not_modified.status, 304);
    assert_eq!(
        not_modified.header("surrogate-key"),
        full.header("surrogate-key")
    );
    let mine = fetch(&app, "/me", &[("authorization", "Bearer ann")]).await;
    assert!(!mine.has("surrogate-key"));

    // Ten tags at most (as CloudFront's limit of 50), comma-separated: the first ones.
    let many: Vec<i64> = (1..=30).collect();
    let app = routes(App::new(&many)).layer(
        CacheGroupsLayer::new().vendor_header(
            VendorHeader::new(
                axum::http::HeaderName::from_static("edge-cache-tag"),
                Separator::Comma,
            )
            .max_groups(10),
        ),
    );
    let reply = fetch(&app, "/products", &[]).await;
    let tags: Vec<&str> = reply.expect_header("edge-cache-tag").split(',').collect();
    assert_eq!(tags.len(), 10);
    assert_eq!(tags[..3], ["product", "product/1", "product/2"]);
    assert_eq!(groups_field(&reply, "cache-groups").unwrap().len(), 31);
}

/// The hook gets a successful write's groups before its response; nothing for reads or
/// refused writes; a failed purge is tried again and never dropped.
#[tokio::test]
async fn the_purge_hook_gets_what_a_write_changed() {
    let recorder = Recorder::default();
    let app = routes(App::new(&[1, 2])).layer(CacheGroupsLayer::new().purge(recorder.clone()));
    let body = Some(r#"{"name": "new"}"#);
    assert_eq!(fetch(&app, "/products/1", &[]).await.status, 200);
    assert!(recorder.calls.lock().unwrap().is_empty());

    let put = send(
        &app,
        Method::PUT,
        "/products/1",
        &[("if-match", "\"1\"")],
        body,
    )
    .await;
    assert_eq!(put.status, 200);
    assert_eq!(
        *recorder.calls.lock().unwrap(),
        [vec!["product/1".to_owned(), "product".to_owned()]]
    );
    let stale = send(
        &app,
        Method::PUT,
        "/products/1",
        &[("if-match", "\"1\"")],
        body,
    )
    .await;
    assert_eq!(stale.status, 412);
    assert_eq!(recorder.calls.lock().unwrap().len(), 1);

    // Down for three attempts: the groups wait, and go with the next write's.
    recorder.calls.lock().unwrap().clear();
    *recorder.failures.lock().unwrap() = 3;
    let put = send(
        &app,
        Method::PUT,
        "/products/1",
        &[("if-match", "\"2\"")],
        body,
    )
    .await;
    assert_eq!(
        put.status, 200,
        "the write is durable: its response says so"
    );
    assert_eq!(recorder.calls.lock().unwrap().len(), 3);
    recorder.calls.lock().unwrap().clear();
    let delete = send(
        &app,
        Method::DELETE,
        "/products/2",
        &[("if-match", "\"1\"")],
        None,
    )
    .await;
    assert_eq!(delete.status, 204);
    assert_eq!(
        *recorder.calls.lock().unwrap(),
        [vec![
            "product/1".to_owned(),
            "product".to_owned(),
            "product/2".to_owned()
        ]]
    );
}

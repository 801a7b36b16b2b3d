//! The API's `Router` driven in-process against a store the test holds, to see what the
//! store did for each answer.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response, StatusCode};
use etag_examples::model::{NewProduct, Price, Product, ProductStamp};
use etag_examples::store::Stats;
use etag_examples::{ApiOptions, Store, router};
use etag_runtime::Versioned;
use serde_json::{Value, json};
use tower::ServiceExt;

mod common;
use common::PgDatabase;

/// A test on an in-memory SQLite database, and the same on a PostgreSQL database of its
/// own, `#[ignore]`d: it runs with `--include-ignored` and fails without `ETAG_TEST_POSTGRES`.
macro_rules! on_both {
    ($sqlite:ident, $postgres:ident, $scenario:ident) => {
        #[tokio::test]
        async fn $sqlite() {
            $scenario(store().await).await;
        }

        #[tokio::test]
        #[ignore = "needs PostgreSQL (set ETAG_TEST_POSTGRES)"]
        async fn $postgres() {
            let db = PgDatabase::create(stringify!($postgres)).await;
            let store = Store::open(&db.url)
                .await
                .expect("open the store on PostgreSQL");
            $scenario(store.clone()).await;
            store.close().await;
        }
    };
}

async fn store() -> Store {
    Store::open("sqlite::memory:")
        .await
        .expect("open the store")
}

async fn call(app: &Router, request: Request<Body>) -> (Response<()>, Vec<u8>) {
    let response = app.clone().oneshot(request).await.expect("infallible");
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .expect("read the body");
    (Response::from_parts(parts, ()), bytes.to_vec())
}

fn get(path: &str, if_none_match: Option<&str>) -> Request<Body> {
    let mut request = Request::get(path);
    if let Some(tag) = if_none_match {
        request = request.header("if-none-match", tag);
    }
    request.body(Body::empty()).unwrap()
}

fn write(method: &str, path: &str, if_match: Option<&str>, body: Value) -> Request<Body> {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json");
    if let Some(tag) = if_match {
        request = request.header("if-match", tag);
    }
    request.body(Body::from(body.to_string())).unwrap()
}

fn header<'a>(response: &'a Response<()>, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no {name}"))
}

fn new_product(name: &str, cents: i64) -> NewProduct {
    NewProduct {
        name: name.into(),
        price: Price::from_cents(cents).unwrap(),
    }
}

fn diff(before: Stats, after: Stats) -> Stats {
    Stats {
        queries: after.queries - before.queries,
        item_loads: after.item_loads - before.item_loads,
        list_loads: after.list_loads - before.list_loads,
    }
}

on_both!(
    item_304_runs_one_small_query_and_no_full_load,
    item_304_runs_one_small_query_and_no_full_load_on_postgres,
    item_304_runs_one_small_query_and_no_full_load_scenario
);

async fn item_304_runs_one_small_query_and_no_full_load_scenario(store: Store) {
    let product = store
        .create(&new_product("Mouse", 2_999), None)
        .await
        .unwrap()
        .unwrap();
    let app = router(store.clone(), ApiOptions::default());
    let path = format!("/products/{}", product.id);

    let before = store.stats();
    let (response, body) = call(&app, get(&path, Some("\"1\""))).await;
    assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
    assert!(body.is_empty());
    assert_eq!(
        diff(before, store.stats()),
        Stats {
            queries: 1,
            item_loads: 0,
            list_loads: 0
        }
    );

    // A 412 from If-Match is decided as early.
    let before = store.stats();
    let request = Request::get(&path)
        .header("if-match", "\"9\"")
        .body(Body::empty())
        .unwrap();
    let (response, _) = call(&app, request).await;
    assert_eq!(response.status(), StatusCode::PRECONDITION_FAILED);
    assert_eq!(diff(before, store.stats()).item_loads, 0);

    let before = store.stats();
    let (response, body) = call(&app, get(&path, Some("\"0\""))).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(diff(before, store.stats()).item_loads, 1);
    // The 200 carries the validators of the product it sends.
    let sent: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(header(&response, "etag"), product.etag().to_string());
    assert_eq!(sent["version"], product.version);
    assert_eq!(
        header(&response, "last-modified"),
        etag_runtime::header::format_http_date(product.updated_at.into())
    );
}

on_both!(
    unconditional_item_get_is_one_full_read,
    unconditional_item_get_is_one_full_read_on_postgres,
    unconditional_item_get_is_one_full_read_scenario
);

async fn unconditional_item_get_is_one_full_read_scenario(store: Store) {
    let product = store
        .create(&new_product("Mouse", 2_999), None)
        .await
        .unwrap()
        .unwrap();
    let app = router(store.clone(), ApiOptions::default());

    let before = store.stats();
    let (response, _) = call(&app, get(&format!("/products/{}", product.id), None)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "etag"), product.etag().to_string());
    assert_eq!(
        diff(before, store.stats()),
        Stats {
            queries: 1,
            item_loads: 1,
            list_loads: 0
        }
    );
}

on_both!(
    list_304_reads_the_page_stamps_only,
    list_304_reads_the_page_stamps_only_on_postgres,
    list_304_reads_the_page_stamps_only_scenario
);

async fn list_304_reads_the_page_stamps_only_scenario(store: Store) {
    for i in 0..50 {
        store
            .create(&new_product(&format!("P{i}"), i), None)
            .await
            .unwrap();
    }
    let app = router(store.clone(), ApiOptions::default());
    let (response, body) = call(&app, get("/products", None)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let list: Vec<Value> = serde_json::from_slice(&body).unwrap();
    assert_eq!(list.len(), 50);
    let tag = header(&response, "etag").to_owned();

    let before = store.stats();
    let (response, body) = call(&app, get("/products", Some(&tag))).await;
    assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
    assert!(body.is_empty());
    assert_eq!(header(&response, "etag"), tag);
    assert_eq!(header(&response, "cache-control"), "no-cache");
    assert_eq!(
        diff(before, store.stats()),
        Stats {
            queries: 1,
            item_loads: 0,
            list_loads: 0
        }
    );

    let before = store.stats();
    let (response, _) = call(&app, get("/products", Some("\"stale\""))).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(diff(before, store.stats()).list_loads, 1);
}

on_both!(
    page_304_reads_one_row_until_the_collection_changes,
    page_304_reads_one_row_until_the_collection_changes_on_postgres,
    page_304_reads_one_row_until_the_collection_changes_scenario
);

/// A page revalidated at the collection revision its stamp was read at costs the one row
/// of that revision; after a write elsewhere the stamp is read again, still the same, and
/// the page is still answered 304; after a write to the page, 200.
async fn page_304_reads_one_row_until_the_collection_changes_scenario(store: Store) {
    for i in 0..30 {
        store
            .create(&new_product(&format!("P{i}"), i), None)
            .await
            .unwrap();
    }
    let app = router(store.clone(), ApiOptions::default());
    let page = "/products?limit=10";
    let (response, _) = call(&app, get(page, None)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let tag = header(&response, "etag").to_owned();
    let revalidate = async |expect: StatusCode, queries: u64| {
        let before = store.stats();
        let (response, _) = call(&app, get(page, Some(&tag))).await;
        assert_eq!(response.status(), expect);
        assert_eq!(diff(before, store.stats()).queries, queries, "{expect}");
    };
    // The collection's revision alone, twice.
    revalidate(StatusCode::NOT_MODIFIED, 1).await;
    revalidate(StatusCode::NOT_MODIFIED, 1).await;
    // Product 25 is on another page: the revision moved, the page's stamp did not.
    let p25 = store.get(25).await.unwrap().unwrap();
    store
        .update(25, Some(p25.version), &new_product("elsewhere", 1))
        .await
        .unwrap()
        .unwrap();
    revalidate(StatusCode::NOT_MODIFIED, 2).await;
    revalidate(StatusCode::NOT_MODIFIED, 1).await;
    // Product 5 is on the page: the revision moved, and the page's stamp with it.
    let p5 = store.get(5).await.unwrap().unwrap();
    store
        .update(5, Some(p5.version), &new_product("here", 1))
        .await
        .unwrap()
        .unwrap();
    let before = store.stats();
    let (response, _) = call(&app, get(page, Some(&tag))).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(diff(before, store.stats()).list_loads, 1);
}

on_both!(
    page_stamp_is_the_stamp_of_the_page_loaded,
    page_stamp_is_the_stamp_of_the_page_loaded_on_postgres,
    page_stamp_is_the_stamp_of_the_page_loaded_scenario
);

/// The one aggregate row a conditional GET reads agrees with the stamp of the page loaded
/// with it, on full pages, the last one, an empty one and after writes to each page; and a
/// write to a page moves that page's stamp only.
async fn page_stamp_is_the_stamp_of_the_page_loaded_scenario(store: Store) {
    use etag_examples::model::PageRequest;
    for i in 0..25 {
        store
            .create(&new_product(&format!("P{i}"), i), None)
            .await
            .unwrap();
    }
    let pages = [0, 10, 20, 25, 1000].map(|after| PageRequest { after, limit: 10 });
    let stamps = async || {
        let mut all = Vec::new();
        for page in pages {
            let early = store.page_stamp(page).await.unwrap();
            let (loaded, products) = store.list_page(page).await.unwrap();
            assert_eq!(early, loaded, "{page:?}");
            assert_eq!(early.count, products.len() as i64);
            assert_eq!(early.last_id, products.last().map(|p| p.id));
            all.push(early.etag());
        }
        all
    };
    let before = stamps().await;
    assert_eq!(before[3], before[4], "two empty pages");
    assert_eq!(
        before[..4]
            .iter()
            .collect::<std::collections::HashSet<_>>()
            .len(),
        4
    );

    // A change to product 15 (page 2) moves page 2's stamp only.
    let p15 = store.get(15).await.unwrap().unwrap();
    store
        .update(15, Some(p15.version), &new_product("changed", 1))
        .await
        .unwrap()
        .unwrap();
    let after_update = stamps().await;
    assert_eq!(after_update[0], before[0]);
    assert_ne!(after_update[1], before[1]);
    assert_eq!(after_update[2], before[2]);

    // Deleting product 3 moves product 11 up into page 1: page 1 changes although no
    // product left on it was written.
    let p3 = store.get(3).await.unwrap().unwrap();
    assert!(store.delete(3, Some(p3.version)).await.unwrap());
    let after_delete = stamps().await;
    assert_ne!(after_delete[0], after_update[0]);
    // Created again at id 3 (its versions continue): page 1 changes again.
    store
        .create_at(3, &new_product("again", 2))
        .await
        .unwrap()
        .unwrap();
    let again = stamps().await;
    assert_ne!(again[0], after_delete[0]);
    assert_ne!(again[0], after_update[0]);
}

on_both!(
    collection_etag_changes_after_each_kind_of_write,
    collection_etag_changes_after_each_kind_of_write_on_postgres,
    collection_etag_changes_after_each_kind_of_write_scenario
);

async fn collection_etag_changes_after_each_kind_of_write_scenario(store: Store) {
    let app = router(store.clone(), ApiOptions::default());
    let mut seen: Vec<(String, String)> = Vec::new();
    let mut validators = async || {
        let (response, _) = call(&app, get("/products", None)).await;
        assert_eq!(response.status(), StatusCode::OK);
        let pair = (
            header(&response, "etag").to_owned(),
            header(&response, "last-modified").to_owned(),
        );
        assert!(
            !seen.iter().any(|(tag, _)| *tag == pair.0),
            "the list ETag {} repeats",
            pair.0
        );
        if let Some((_, previous)) = seen.last() {
            let at = |s: &str| chrono::DateTime::parse_from_rfc2822(s).unwrap();
            assert!(at(&pair.1) >= at(previous), "Last-Modified went back");
        }
        seen.push(pair);
    };
    validators().await;

    let (response, _) = call(
        &app,
        write("POST", "/products", None, json!({"name": "A", "price": 1})),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    validators().await;
    let (response, _) = call(
        &app,
        write("POST", "/products", None, json!({"name": "B", "price": 2})),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    validators().await;
    let (response, _) = call(
        &app,
        write(
            "PUT",
            "/products/1",
            Some("\"1\""),
            json!({"name": "A", "price": 3}),
        ),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    validators().await;
    let request = Request::patch("/products/1")
        .header("if-match", "\"2\"")
        .header("content-type", "application/merge-patch+json")
        .body(Body::from("{\"name\": \"AA\"}"))
        .unwrap();
    assert_eq!(call(&app, request).await.0.status(), StatusCode::OK);
    validators().await;
    // Delete the newest row: nothing left has changed, but the list has.
    let request = Request::delete("/products/2")
        .header("if-match", "\"1\"")
        .body(Body::empty())
        .unwrap();
    assert_eq!(call(&app, request).await.0.status(), StatusCode::NO_CONTENT);
    validators().await;
    let (response, _) = call(
        &app,
        write("PUT", "/products/9", None, json!({"name": "C", "price": 3})),
    )
    .await;
    assert_eq!(response.status(), StatusCode::PRECONDITION_REQUIRED);
    let request = Request::put("/products/9")
        .header("if-none-match", "*")
        .header("content-type", "application/json")
        .body(Body::from("{\"name\": \"C\", \"price\": 3}"))
        .unwrap();
    assert_eq!(call(&app, request).await.0.status(), StatusCode::CREATED);
    validators().await;
}

on_both!(
    late_check_gives_the_same_answers_after_the_full_load,
    late_check_gives_the_same_answers_after_the_full_load_on_postgres,
    late_check_gives_the_same_answers_after_the_full_load_scenario
);

async fn late_check_gives_the_same_answers_after_the_full_load_scenario(store: Store) {
    let product = store
        .create(&new_product("Lamp", 4_550), None)
        .await
        .unwrap()
        .unwrap();
    store
        .create(&new_product("Desk", 19_900), None)
        .await
        .unwrap();
    let early = router(store.clone(), ApiOptions::default());
    let late = router(
        store.clone(),
        ApiOptions {
            late_check: true,
            ..ApiOptions::default()
        },
    );
    let path = format!("/products/{}", product.id);

    for path in [path.as_str(), "/products", "/products?limit=1&after=1"] {
        let (a, body_a) = call(&early, get(path, None)).await;
        let (b, body_b) = call(&late, get(path, None)).await;
        assert_eq!(a.status(), StatusCode::OK);
        assert_eq!(b.status(), StatusCode::OK);
        assert_eq!(body_a, body_b);
        for name in ["etag", "last-modified", "cache-control"] {
            assert_eq!(header(&a, name), header(&b, name), "{path}: {name}");
        }
        let tag = header(&a, "etag").to_owned();

        // Both answer 304, but only the late check loaded the resource first.
        let before = store.stats();
        let (a, _) = call(&early, get(path, Some(&tag))).await;
        let early_work = diff(before, store.stats());
        let before = store.stats();
        let (b, _) = call(&late, get(path, Some(&tag))).await;
        let late_work = diff(before, store.stats());
        assert_eq!(a.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(b.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(header(&a, "etag"), header(&b, "etag"));
        assert_eq!(header(&a, "cache-control"), header(&b, "cache-control"));
        assert_eq!(early_work.item_loads + early_work.list_loads, 0, "{path}");
        assert_eq!(late_work.item_loads + late_work.list_loads, 1, "{path}");
    }
}

on_both!(
    store_stamps_give_the_product_validators,
    store_stamps_give_the_product_validators_on_postgres,
    store_stamps_give_the_product_validators_scenario
);

async fn store_stamps_give_the_product_validators_scenario(store: Store) {
    let product = store
        .create(&new_product("Chair", 12_000), None)
        .await
        .unwrap()
        .unwrap();
    let updated = store
        .update(product.id, Some(1), &new_product("Chair", 11_000))
        .await
        .unwrap()
        .unwrap();
    let stamp: ProductStamp = store.stamp(product.id).await.unwrap().unwrap();
    let loaded: Product = store.get(product.id).await.unwrap().unwrap();
    assert_eq!(loaded, updated);
    assert_eq!(stamp, ProductStamp::from(&loaded));
    assert_eq!(stamp.validators(), loaded.validators());
    assert!(updated.updated_at > product.updated_at);
}

on_both!(
    conditional_writes_are_atomic_in_the_store,
    conditional_writes_are_atomic_in_the_store_on_postgres,
    conditional_writes_are_atomic_in_the_store_scenario
);

async fn conditional_writes_are_atomic_in_the_store_scenario(store: Store) {
    let product = store
        .create(&new_product("Shelf", 5_000), None)
        .await
        .unwrap()
        .unwrap();
    let state = store.collection_state().await.unwrap();
    // A write against a version that is not current changes nothing, not even the
    // collection's revision.
    assert_eq!(
        store
            .update(product.id, Some(7), &new_product("X", 1))
            .await
            .unwrap(),
        None
    );
    assert!(!store.delete(product.id, Some(7)).await.unwrap());
    assert_eq!(
        store
            .create_at(product.id, &new_product("X", 1))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .create(&new_product("X", 1), Some(state.revision - 1))
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.collection_state().await.unwrap(), state);
    assert_eq!(store.get(product.id).await.unwrap(), Some(product.clone()));

    // Two writers that both read version 1: exactly one wins.
    let input_a = new_product("A", 1);
    let input_b = new_product("B", 2);
    let (a, b) = tokio::join!(
        store.update(product.id, Some(1), &input_a),
        store.update(product.id, Some(1), &input_b),
    );
    let wins = [a.unwrap(), b.unwrap()];
    assert_eq!(wins.iter().filter(|w| w.is_some()).count(), 1);
    assert_eq!(
        store.collection_state().await.unwrap().revision,
        state.revision + 1
    );
}

/// RFC 9110 sections 13.1.3 and 13.1.5: If-Modified-Since and If-Range do not apply to a
/// POST, so they must not make the create conditional on the collection's state (which
/// would turn a concurrent write into a spurious 412).
#[tokio::test]
async fn post_ignores_if_modified_since() {
    let store = store().await;
    let app = router(store.clone(), ApiOptions::default());
    let body = json!({"name": "Mouse", "price": 29.99});

    let before = store.stats();
    let (response, _) = call(&app, write("POST", "/products", None, body.clone())).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let plain = diff(before, store.stats());

    let mut request = write("POST", "/products", None, body);
    request.headers_mut().insert(
        "if-modified-since",
        "Wed, 25 Nov 2026 12:00:00 GMT".parse().unwrap(),
    );
    let before = store.stats();
    let (response, _) = call(&app, request).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    // No read of the collection state: the same work as the plain POST.
    assert_eq!(diff(before, store.stats()), plain);
}

//! The example's cache groups (RFC 9875), in process: which groups each route sends and
//! each write invalidates, the shared lifetime of cache mode (RFC 9213), and the Varnish
//! purge hook's request, received by a stand-in for Varnish on loopback. The fields are
//! read with a structured-field parser (`sfv`), never as text.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use etag_examples::{ApiOptions, Store, router};
use serde_json::json;
use tower::ServiceExt;

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
}

impl Reply {
    fn etag(&self) -> &str {
        self.headers["etag"].to_str().unwrap()
    }

    /// An RFC 9875 field: a structured-field List of bare Strings; `None` when absent.
    fn groups(&self, name: &str) -> Option<Vec<String>> {
        let value = self.headers.get(name)?.to_str().expect("ASCII");
        let list: sfv::List = sfv::Parser::new(value)
            .parse()
            .unwrap_or_else(|e| panic!("{name}: {value:?} is not a List: {e}"));
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
}

async fn call(app: &Router, method: Method, path: &str, headers: &[(&str, &str)]) -> Reply {
    let mut request = Request::builder().method(method.clone()).uri(path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let body = match method {
        Method::PUT | Method::POST => {
            request = request.header("content-type", "application/json");
            Body::from(json!({"name": "Lamp", "price": 12.5}).to_string())
        }
        Method::PATCH => {
            request = request.header("content-type", "application/merge-patch+json");
            Body::from(json!({"price": 13.5}).to_string())
        }
        _ => Body::empty(),
    };
    let response = app
        .clone()
        .oneshot(request.body(body).unwrap())
        .await
        .expect("infallible");
    Reply {
        status: response.status(),
        headers: response.headers().clone(),
    }
}

fn names(list: &[&str]) -> Option<Vec<String>> {
    Some(list.iter().map(|s| (*s).to_owned()).collect())
}

async fn app(options: ApiOptions) -> Router {
    let store = Store::open("sqlite::memory:").await.expect("a store");
    router(store, options)
}

/// RFC 9875 sections 2 and 3 on every product route: reads name their groups on the 200
/// and the 304; each write names the product and the list; refusals name nothing.
#[tokio::test]
async fn every_product_route_names_its_groups() {
    let app = app(ApiOptions::default()).await;
    let created = call(&app, Method::POST, "/products", &[]).await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(
        created.groups("cache-group-invalidation"),
        names(&["product/1", "product"])
    );
    assert_eq!(created.groups("cache-groups"), None);

    let item = call(&app, Method::GET, "/products/1", &[]).await;
    assert_eq!(item.groups("cache-groups"), names(&["product/1"]));
    assert!(!item.headers.contains_key("cdn-cache-control"));
    let revalidated = call(
        &app,
        Method::GET,
        "/products/1",
        &[("if-none-match", item.etag())],
    )
    .await;
    assert_eq!(revalidated.status, StatusCode::NOT_MODIFIED);
    assert_eq!(revalidated.groups("cache-groups"), names(&["product/1"]));

    let list = call(&app, Method::GET, "/products", &[]).await;
    assert_eq!(
        list.groups("cache-groups"),
        names(&["product", "product/1"])
    );
    let list_304 = call(
        &app,
        Method::GET,
        "/products",
        &[("if-none-match", list.etag())],
    )
    .await;
    assert_eq!(list_304.status, StatusCode::NOT_MODIFIED);
    assert_eq!(list_304.groups("cache-groups"), list.groups("cache-groups"));

    let put = call(
        &app,
        Method::PUT,
        "/products/1",
        &[("if-match", item.etag())],
    )
    .await;
    assert_eq!(put.status, StatusCode::OK);
    assert_eq!(
        put.groups("cache-group-invalidation"),
        names(&["product/1", "product"])
    );
    let stale = call(
        &app,
        Method::PUT,
        "/products/1",
        &[("if-match", item.etag())],
    )
    .await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(stale.groups("cache-group-invalidation"), None);

    let patched = call(
        &app,
        Method::PATCH,
        "/products/1",
        &[("if-match", put.etag())],
    )
    .await;
    assert_eq!(patched.status, StatusCode::OK);
    assert_eq!(
        patched.groups("cache-group-invalidation"),
        names(&["product/1", "product"])
    );

    let created_at = call(&app, Method::PUT, "/products/7", &[("if-none-match", "*")]).await;
    assert_eq!(created_at.status, StatusCode::CREATED);
    assert_eq!(
        created_at.groups("cache-group-invalidation"),
        names(&["product/7", "product"])
    );

    let deleted = call(
        &app,
        Method::DELETE,
        "/products/1",
        &[("if-match", patched.etag())],
    )
    .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(
        deleted.groups("cache-group-invalidation"),
        names(&["product/1", "product"])
    );

    // A 404 and a per-user list name nothing a shared cache could keep.
    let gone = call(&app, Method::GET, "/products/1", &[]).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(gone.groups("cache-groups"), None);
    let mine = call(
        &app,
        Method::GET,
        "/me/favorites",
        &[("authorization", "Bearer ann")],
    )
    .await;
    assert_eq!(mine.status, StatusCode::OK);
    assert_eq!(mine.groups("cache-groups"), None);
}

/// RFC 9213: in cache mode, a response with groups gets `CDN-Cache-Control: max-age`,
/// while its `Cache-Control` still makes clients revalidate; the others get none.
#[tokio::test]
async fn cache_mode_gives_grouped_responses_a_shared_lifetime() {
    let app = app(ApiOptions {
        shared_max_age: Some(std::time::Duration::from_secs(600)),
        ..ApiOptions::default()
    })
    .await;
    call(&app, Method::POST, "/products", &[]).await;
    for path in ["/products/1", "/products"] {
        let reply = call(&app, Method::GET, path, &[]).await;
        assert_eq!(reply.headers["cdn-cache-control"], "max-age=600", "{path}");
        assert_eq!(reply.headers["cache-control"], "no-cache", "{path}");
    }
    for (path, headers) in [
        ("/products/9", &[][..]),
        ("/me/favorites", &[("authorization", "Bearer ann")][..]),
        ("/", &[][..]),
    ] {
        let reply = call(&app, Method::GET, path, headers).await;
        assert!(!reply.headers.contains_key("cdn-cache-control"), "{path}");
    }
}

/// The Varnish purge hook: after a write, before its response, one `PURGE` with the
/// changed groups in `xkey-purge`, space-separated; none for reads or refused writes.
#[tokio::test]
async fn writes_send_their_groups_to_the_purge_url() {
    let seen: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let recorder = {
        let seen = Arc::clone(&seen);
        Router::new().fallback(move |request: Request<Body>| {
            let seen = Arc::clone(&seen);
            async move {
                let keys = request
                    .headers()
                    .get("xkey-purge")
                    .map(|v| v.to_str().unwrap().to_owned())
                    .unwrap_or_default();
                seen.lock()
                    .unwrap()
                    .push((request.method().to_string(), keys));
                "Invalidated"
            }
        })
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, recorder).await });

    let app = app(ApiOptions {
        purge_url: Some(format!("http://{addr}/")),
        ..ApiOptions::default()
    })
    .await;
    call(&app, Method::POST, "/products", &[]).await;
    assert_eq!(
        *seen.lock().unwrap(),
        [("PURGE".to_owned(), "product/1 product".to_owned())]
    );
    let item = call(&app, Method::GET, "/products/1", &[]).await;
    let refused = call(&app, Method::PUT, "/products/1", &[("if-match", "\"0\"")]).await;
    assert_eq!(refused.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(
        seen.lock().unwrap().len(),
        1,
        "reads and refusals purge nothing"
    );
    call(
        &app,
        Method::DELETE,
        "/products/1",
        &[("if-match", item.etag())],
    )
    .await;
    assert_eq!(
        seen.lock().unwrap()[1],
        ("PURGE".to_owned(), "product/1 product".to_owned())
    );
}

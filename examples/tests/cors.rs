//! Pages on another origin (`--cors-origin`): the router's CORS answers, in process. The
//! same in a real browser is `tests/browser.rs`.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Request, Response, StatusCode};
use etag_examples::{ApiOptions, Store, router};
use serde_json::{Value, json};
use tower::ServiceExt;

const PAGE: &str = "http://127.0.0.1:5173";

async fn app(origins: &[&str]) -> Router {
    let store = Store::open("sqlite::memory:")
        .await
        .expect("open the store");
    router(
        store,
        ApiOptions {
            cors_origins: origins
                .iter()
                .map(|o| HeaderValue::from_str(o).unwrap())
                .collect(),
            ..ApiOptions::default()
        },
    )
}

async fn call(app: &Router, request: Request<Body>) -> (Response<()>, Vec<u8>) {
    let response = app.clone().oneshot(request).await.expect("infallible");
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .expect("read the body");
    (Response::from_parts(parts, ()), bytes.to_vec())
}

/// The comma-separated items of every `name` field, lower-cased.
fn items(response: &Response<()>, name: &str) -> Vec<String> {
    response
        .headers()
        .get_all(name)
        .iter()
        .flat_map(|v| v.to_str().unwrap().split(','))
        .map(|item| item.trim().to_ascii_lowercase())
        .filter(|item| !item.is_empty())
        .collect()
}

fn header<'a>(response: &'a Response<()>, name: &str) -> Option<&'a str> {
    response.headers().get(name).map(|v| v.to_str().unwrap())
}

fn request(
    method: &str,
    path: &str,
    origin: Option<&str>,
    fields: &[(&str, &str)],
) -> Request<Body> {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(origin) = origin {
        request = request.header("origin", origin);
    }
    for (name, value) in fields {
        request = request.header(*name, *value);
    }
    request.body(Body::empty()).unwrap()
}

/// A product made through the API; its path and ETag.
async fn create(app: &Router) -> (String, String) {
    let post = Request::post("/products")
        .header("content-type", "application/json")
        .body(Body::from(
            json!({"name": "Lamp", "price": 12.5}).to_string(),
        ))
        .unwrap();
    let (created, _) = call(app, post).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let path = header(&created, "location").expect("Location").to_owned();
    let etag = header(&created, "etag").expect("ETag").to_owned();
    (path, etag)
}

/// The preflight of a conditional write from an allowed origin allows its method and its
/// precondition fields (RFC 9110 section 13.1), so that the browser sends the write.
#[tokio::test]
async fn the_preflight_of_a_conditional_write_allows_the_preconditions() {
    let app = app(&[PAGE, "https://shop.example"]).await;
    let (path, _) = create(&app).await;
    let (preflight, body) = call(
        &app,
        request(
            "OPTIONS",
            &path,
            Some(PAGE),
            &[
                ("access-control-request-method", "PUT"),
                ("access-control-request-headers", "content-type,if-match"),
            ],
        ),
    )
    .await;
    assert_eq!(preflight.status(), StatusCode::OK);
    assert!(body.is_empty());
    assert_eq!(
        header(&preflight, "access-control-allow-origin"),
        Some(PAGE)
    );
    let methods = items(&preflight, "access-control-allow-methods");
    for method in ["get", "head", "post", "put", "patch", "delete"] {
        assert!(
            methods.contains(&method.to_owned()),
            "{method}: {methods:?}"
        );
    }
    let allowed = items(&preflight, "access-control-allow-headers");
    for name in [
        "if-match",
        "if-none-match",
        "if-modified-since",
        "if-unmodified-since",
        "if-range",
        "range",
        "content-type",
        "authorization",
    ] {
        assert!(allowed.contains(&name.to_owned()), "{name}: {allowed:?}");
    }
}

/// A read from an allowed origin lets its script read the validators (and the example's
/// own fields); the 304 that revalidates it carries the same grant and `Vary: origin`, as
/// a 304 must carry the `Vary` its 200 would (RFC 9110 section 15.4.5), so that a cache
/// shared by several origins stores one copy per origin (RFC 9111 section 4.1).
#[tokio::test]
async fn reads_expose_the_validators_and_their_304_varies_on_origin() {
    let app = app(&[PAGE]).await;
    let (path, _) = create(&app).await;
    let read = |tag: Option<&str>| {
        let mut fields = vec![("accept-encoding", "gzip")];
        if let Some(tag) = tag {
            fields.push(("if-none-match", tag));
        }
        request("GET", &path, Some(PAGE), &fields)
    };
    let (ok, _) = call(&app, read(None)).await;
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(header(&ok, "access-control-allow-origin"), Some(PAGE));
    let exposed = items(&ok, "access-control-expose-headers");
    for name in [
        "etag",
        "last-modified",
        "content-range",
        "accept-ranges",
        "location",
        "link",
        "retry-after",
        "www-authenticate",
    ] {
        assert!(exposed.contains(&name.to_owned()), "{name}: {exposed:?}");
    }
    let vary = items(&ok, "vary");
    assert!(vary.contains(&"origin".to_owned()), "{vary:?}");
    assert!(vary.contains(&"accept-encoding".to_owned()), "{vary:?}");

    let tag = header(&ok, "etag").expect("ETag").to_owned();
    let (not_modified, body) = call(&app, read(Some(&tag))).await;
    assert_eq!(not_modified.status(), StatusCode::NOT_MODIFIED);
    assert!(body.is_empty());
    assert_eq!(header(&not_modified, "etag"), Some(tag.as_str()));
    assert_eq!(
        header(&not_modified, "access-control-allow-origin"),
        Some(PAGE)
    );
    assert_eq!(items(&not_modified, "vary"), vary);
}

/// Another origin gets no grant (its browser keeps the response from its script), on the
/// 200 and on the 304 alike, and the response still names `origin` in `Vary`: a shared
/// cache must not serve it to the allowed origin, nor the allowed origin's copy to it.
#[tokio::test]
async fn other_origins_get_no_grant() {
    let app = app(&[PAGE]).await;
    let (path, tag) = create(&app).await;
    for origin in ["http://127.0.0.1:5174", "http://localhost:5173", "null"] {
        let (ok, _) = call(&app, request("GET", &path, Some(origin), &[])).await;
        assert_eq!(ok.status(), StatusCode::OK);
        assert_eq!(header(&ok, "access-control-allow-origin"), None, "{origin}");
        assert!(items(&ok, "vary").contains(&"origin".to_owned()));
        let (not_modified, _) = call(
            &app,
            request("GET", &path, Some(origin), &[("if-none-match", &tag)]),
        )
        .await;
        assert_eq!(not_modified.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(header(&not_modified, "access-control-allow-origin"), None);
    }
}

/// A write with a stale tag from an allowed origin gets its 412 (RFC 9110 section 13.1.1)
/// with the grant, so that the page can read the problem body.
#[tokio::test]
async fn a_stale_write_gets_its_412_problem_with_the_grant() {
    let app = app(&[PAGE]).await;
    let (path, stale) = create(&app).await;
    let put = |tag: &str, price: f64| {
        Request::put(path.as_str())
            .header("origin", PAGE)
            .header("content-type", "application/json")
            .header("if-match", tag)
            .body(Body::from(
                json!({"name": "Lamp", "price": price}).to_string(),
            ))
            .unwrap()
    };
    let (done, _) = call(&app, put(&stale, 13.0)).await;
    assert_eq!(done.status(), StatusCode::OK);
    let (failed, body) = call(&app, put(&stale, 14.0)).await;
    assert_eq!(failed.status(), StatusCode::PRECONDITION_FAILED);
    assert_eq!(header(&failed, "access-control-allow-origin"), Some(PAGE));
    assert_eq!(
        header(&failed, "content-type"),
        Some("application/problem+json")
    );
    let problem: Value = serde_json::from_slice(&body).expect("a problem body");
    assert_eq!(problem["status"], 412, "{problem}");
}

/// Without `--cors-origin` the API grants nothing: no CORS field on any response, and an
/// `OPTIONS` request is not a preflight but a method the routes do not have (405).
#[tokio::test]
async fn without_origins_there_is_no_cors() {
    let app = app(&[]).await;
    let (path, _) = create(&app).await;
    let (ok, _) = call(&app, request("GET", &path, Some(PAGE), &[])).await;
    assert_eq!(ok.status(), StatusCode::OK);
    for (name, _) in ok.headers() {
        assert!(!name.as_str().starts_with("access-control-"), "{name}");
    }
    assert!(!items(&ok, "vary").contains(&"origin".to_owned()));
    let (options, _) = call(
        &app,
        request(
            "OPTIONS",
            &path,
            Some(PAGE),
            &[("access-control-request-method", "PUT")],
        ),
    )
    .await;
    assert_eq!(options.status(), StatusCode::METHOD_NOT_ALLOWED);
}

/// The response header fields a script may read without being granted them (Fetch's
/// CORS-safelisted response-header names), and those that are for the browser rather than
/// the page: the grant itself, `Vary`, the coding the browser decodes, `Date`.
const NOT_TO_EXPOSE: &[&str] = &[
    "cache-control",
    "content-language",
    "content-length",
    "content-type",
    "expires",
    "last-modified",
    "pragma",
    "access-control-allow-origin",
    "access-control-expose-headers",
    "vary",
    "content-encoding",
    "date",
];

/// Every header field the example sends, on every kind of answer, is exposed to an
/// allowed origin's script or is one it needs no grant for: a field added to a handler
/// and not to the CORS layer's list fails here.
#[tokio::test]
async fn every_field_the_example_sends_is_exposed() {
    let app = app(&[PAGE]).await;
    let (path, tag) = create(&app).await;
    create(&app).await;
    let put = |tag: Option<&str>| {
        let mut request = Request::put(path.as_str())
            .header("origin", PAGE)
            .header("content-type", "application/json");
        if let Some(tag) = tag {
            request = request.header("if-match", tag);
        }
        request
            .body(Body::from(
                json!({"name": "Lamp", "price": 1.5}).to_string(),
            ))
            .unwrap()
    };
    let gzip = [("accept-encoding", "gzip")];
    let caller = [("authorization", "Bearer ada")];
    let post = Request::post("/products")
        .header("origin", PAGE)
        .header("content-type", "application/json")
        .body(Body::from(
            json!({"name": "Chair", "price": 40}).to_string(),
        ))
        .unwrap();
    let requests = vec![
        post,
        request("GET", &path, Some(PAGE), &gzip),
        request("GET", &path, Some(PAGE), &[("if-none-match", &tag)]),
        request("GET", &path, Some(PAGE), &[("range", "bytes=0-3")]),
        request("GET", "/products?limit=1", Some(PAGE), &gzip),
        request("GET", "/products/999", Some(PAGE), &[]),
        request("GET", "/products?limit=x", Some(PAGE), &[]),
        request("DELETE", "/products", Some(PAGE), &[]),
        put(None),
        put(Some(&tag)),
        put(Some(&tag)),
        request("GET", "/me/favorites", Some(PAGE), &[]),
        request("GET", "/me/favorites", Some(PAGE), &caller),
        request("GET", "/", Some(PAGE), &gzip),
        request("GET", "/health", Some(PAGE), &[]),
        request("GET", "/products.csv", Some(PAGE), &[]),
        request("GET", "/openapi.json", Some(PAGE), &gzip),
    ];
    let mut statuses = Vec::new();
    for request in requests {
        let what = format!("{} {}", request.method(), request.uri());
        let (response, _) = call(&app, request).await;
        statuses.push(response.status().as_u16());
        let exposed = items(&response, "access-control-expose-headers");
        for name in response.headers().keys() {
            let name = name.as_str();
            assert!(
                NOT_TO_EXPOSE.contains(&name) || exposed.iter().any(|e| e == name),
                "{what} ({}) sends {name}, which a page on another origin cannot read",
                response.status()
            );
        }
    }
    // Each kind of answer was among them.
    for status in [200, 201, 206, 304, 400, 401, 404, 405, 412, 428] {
        assert!(statuses.contains(&status), "no {status} in {statuses:?}");
    }
}

//! One request through an axum `Router`, in process, read to the end.

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{Method, Request};
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;

use crate::Reply;

/// Sends `method uri` with `headers` and an optional JSON body (with its content type)
/// through `app`.
///
/// ```
/// use axum::{Router, http::Method, routing::get};
/// use etag_test_support::router::send;
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let app = Router::new().route("/", get(|| async { "hi" }));
/// let reply = send(&app, Method::GET, "/", &[("accept", "text/plain")], None).await;
/// assert_eq!(reply.status, 200);
/// assert_eq!(reply.body, "hi");
/// # });
/// ```
pub async fn send(
    app: &Router,
    method: Method,
    uri: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Reply<Bytes> {
    let mut request = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = match body {
        Some(body) => request
            .header("content-type", "application/json")
            .body(Body::from(body.to_owned())),
        None => request.body(Body::empty()),
    }
    .expect("a valid request");
    let response = app.clone().oneshot(request).await.expect("infallible");
    let (parts, body) = response.into_parts();
    let body = body.collect().await.expect("a readable body").to_bytes();
    Reply::new(parts.status.as_u16(), parts.headers, body)
}

/// `GET uri` with `headers`.
///
/// ```
/// use axum::{Router, routing::get};
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let app = Router::new().route("/", get(|| async { "hi" }));
/// let reply = etag_test_support::router::fetch(&app, "/nowhere", &[]).await;
/// assert_eq!(reply.status, 404);
/// # });
/// ```
pub async fn fetch(app: &Router, uri: &str, headers: &[(&str, &str)]) -> Reply<Bytes> {
    send(app, Method::GET, uri, headers, None).await
}

//! Requests over loopback with reqwest: one shared client, [`send`], and [`Target`], what
//! requests can be sent to (one process, or a balancer in front of several).

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use reqwest::{Client, Method, RequestBuilder};
use serde_json::json;

use crate::Reply;

/// The client every request goes through: no proxy (every address is on loopback) and a
/// 60 s timeout, so that a hung server fails the test rather than holding it up.
///
/// ```
/// let request = etag_test_support::client::client()
///     .get("http://127.0.0.1:9/")
///     .build()
///     .unwrap();
/// assert_eq!(request.timeout(), None, "the client's timeout, not the request's");
/// ```
pub fn client() -> Client {
    static CLIENT: OnceLock<Client> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            Client::builder()
                .no_proxy()
                .timeout(Duration::from_secs(60))
                .build()
                .expect("build the HTTP client")
        })
        .clone()
}

/// Sends `request` and reads the reply to the end; panics when it cannot be sent.
///
/// ```no_run
/// # async fn f() {
/// use etag_test_support::client::{client, send};
///
/// let reply = send(client().get("http://127.0.0.1:3000/health")).await;
/// assert_eq!(reply.status, 200);
/// # }
/// ```
pub async fn send(request: RequestBuilder) -> Reply {
    let response = request.send().await.expect("send the request");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.text().await.expect("read the body");
    Reply::new(status, headers, body)
}

/// What requests go to, by path: a process, a balancer, a proxy. The races of
/// [`crate::races`] take any of them.
///
/// ```
/// use etag_test_support::client::{Endpoint, Target};
///
/// let endpoint = Endpoint::new("http://127.0.0.1:8080");
/// let request = Target::get(&endpoint, "/products/1").build().unwrap();
/// assert_eq!(request.url().as_str(), "http://127.0.0.1:8080/products/1");
/// ```
pub trait Target {
    /// `method path` on this target.
    fn request(&self, method: Method, path: &str) -> RequestBuilder;

    /// `GET path` on this target.
    fn get(&self, path: &str) -> RequestBuilder {
        self.request(Method::GET, path)
    }
}

impl<T: Target + ?Sized> Target for Arc<T> {
    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        (**self).request(method, path)
    }
}

impl<T: Target + ?Sized> Target for &T {
    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        (**self).request(method, path)
    }
}

/// `POST /products` of a product with this name and price on `target`; asserts 201.
///
/// ```no_run
/// # async fn f() {
/// use etag_test_support::client::{Endpoint, create};
///
/// let created = create(&Endpoint::new("http://127.0.0.1:3000"), "Lamp", 12.5).await;
/// assert!(created.header("location").is_some());
/// # }
/// ```
pub async fn create(target: &(impl Target + ?Sized), name: &str, price: f64) -> Reply {
    let reply = send(
        target
            .request(Method::POST, "/products")
            .json(&json!({ "name": name, "price": price })),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply
}

/// Where requests go: one process, or the balancer in front of several.
///
/// ```
/// let endpoint = etag_test_support::client::Endpoint::new("http://127.0.0.1:8080");
/// assert_eq!(endpoint.url("/products"), "http://127.0.0.1:8080/products");
/// ```
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
}

impl Endpoint {
    /// The endpoint at `base` (`http://HOST:PORT`).
    ///
    /// ```
    /// let endpoint = etag_test_support::client::Endpoint::new("http://127.0.0.1:1");
    /// assert_eq!(endpoint.base, "http://127.0.0.1:1");
    /// ```
    pub fn new(base: impl Into<String>) -> Self {
        Self { base: base.into() }
    }

    /// The URL of `path` here.
    ///
    /// ```
    /// let endpoint = etag_test_support::client::Endpoint::new("http://127.0.0.1:1");
    /// assert_eq!(endpoint.url("/"), "http://127.0.0.1:1/");
    /// ```
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `method path` here.
    ///
    /// ```
    /// use reqwest::Method;
    ///
    /// let endpoint = etag_test_support::client::Endpoint::new("http://127.0.0.1:1");
    /// let request = endpoint.request(Method::PUT, "/products/1").build().unwrap();
    /// assert_eq!(request.method(), Method::PUT);
    /// ```
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        client().request(method, self.url(path))
    }

    /// `GET path` here.
    ///
    /// ```
    /// let endpoint = etag_test_support::client::Endpoint::new("http://127.0.0.1:1");
    /// assert_eq!(endpoint.get("/x").build().unwrap().method(), reqwest::Method::GET);
    /// ```
    pub fn get(&self, path: &str) -> RequestBuilder {
        self.request(Method::GET, path)
    }

    /// `POST /products`; asserts 201. See [`create`].
    pub async fn create(&self, name: &str, price: f64) -> Reply {
        create(self, name, price).await
    }
}

impl Target for Endpoint {
    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        Endpoint::request(self, method, path)
    }
}

//! One HTTP answer as the tests read it: status, headers and body.

use std::borrow::Cow;

use http::HeaderMap;
use serde_json::Value;

/// A response, read to the end: its status, headers and body (`String` over loopback,
/// `Bytes` in process, where bodies may be compressed or a byte range).
///
/// ```
/// use etag_test_support::Reply;
///
/// let mut headers = http::HeaderMap::new();
/// headers.insert("etag", "\"1\"".parse().unwrap());
/// let reply = Reply::new(200, headers, r#"{"id": 1}"#.to_owned());
/// assert_eq!(reply.etag(), "\"1\"");
/// assert_eq!(reply.json()["id"], 1);
/// assert_eq!(reply.status, http::StatusCode::OK);
/// ```
#[derive(Debug)]
pub struct Reply<B = String> {
    /// The status code, which compares with integers and with `StatusCode` alike.
    pub status: u16,
    /// The response's headers.
    pub headers: HeaderMap,
    /// The body, as sent (nothing decoded).
    pub body: B,
}

impl<B> Reply<B> {
    /// A reply of these parts.
    ///
    /// ```
    /// let reply = etag_test_support::Reply::new(204, http::HeaderMap::new(), ());
    /// assert_eq!(reply.status, 204);
    /// ```
    pub fn new(status: u16, headers: HeaderMap, body: B) -> Self {
        Self {
            status,
            headers,
            body,
        }
    }

    /// A header's value as text, if it is there (and visible ASCII).
    ///
    /// ```
    /// let mut headers = http::HeaderMap::new();
    /// headers.insert("vary", "accept-encoding".parse().unwrap());
    /// let reply = etag_test_support::Reply::new(200, headers, ());
    /// assert_eq!(reply.header("vary"), Some("accept-encoding"));
    /// assert_eq!(reply.header("etag"), None);
    /// ```
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// A header's value as text; panics when it is absent, naming it.
    ///
    /// ```
    /// let mut headers = http::HeaderMap::new();
    /// headers.insert("cache-control", "no-cache".parse().unwrap());
    /// let reply = etag_test_support::Reply::new(200, headers, ());
    /// assert_eq!(reply.expect_header("cache-control"), "no-cache");
    /// ```
    pub fn expect_header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no `{name}` in {:?}", self.headers))
            .to_str()
            .expect("an ASCII header")
    }

    /// Whether the header is there.
    ///
    /// ```
    /// let reply = etag_test_support::Reply::new(304, http::HeaderMap::new(), ());
    /// assert!(!reply.has("content-length"));
    /// ```
    pub fn has(&self, name: &str) -> bool {
        self.headers.contains_key(name)
    }

    /// The `ETag`; panics without one.
    ///
    /// ```
    /// let mut headers = http::HeaderMap::new();
    /// headers.insert("etag", "W/\"7\"".parse().unwrap());
    /// let reply = etag_test_support::Reply::new(200, headers, ());
    /// assert_eq!(reply.etag(), "W/\"7\"");
    /// ```
    pub fn etag(&self) -> &str {
        self.header("etag").expect("an ETag")
    }
}

impl<B: AsRef<[u8]>> Reply<B> {
    /// The body as text, bytes that are not UTF-8 replaced.
    ///
    /// ```
    /// let reply = etag_test_support::Reply::new(200, http::HeaderMap::new(), b"ok".to_vec());
    /// assert_eq!(reply.text(), "ok");
    /// ```
    pub fn text(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(self.body.as_ref())
    }

    /// The body as JSON; panics, showing the body, when it is not.
    ///
    /// ```
    /// let reply = etag_test_support::Reply::new(200, http::HeaderMap::new(), "[1, 2]");
    /// assert_eq!(reply.json(), serde_json::json!([1, 2]));
    /// ```
    pub fn json(&self) -> Value {
        serde_json::from_slice(self.body.as_ref())
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.text()))
    }

    /// Asserts an RFC 9457 problem with this status: `application/problem+json` with a
    /// `status`, `title`, `type` and `detail`; the problem.
    ///
    /// ```
    /// let mut headers = http::HeaderMap::new();
    /// headers.insert("content-type", "application/problem+json".parse().unwrap());
    /// let body = r#"{"type": "about:blank", "title": "Not Found", "status": 404, "detail": "No product 9."}"#;
    /// let reply = etag_test_support::Reply::new(404, headers, body);
    /// assert_eq!(reply.assert_problem(404)["detail"], "No product 9.");
    /// ```
    pub fn assert_problem(&self, status: u16) -> Value {
        assert_eq!(self.status, status, "{}", self.text());
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{status}"
        );
        let problem = self.json();
        assert_eq!(problem["status"], status, "{problem}");
        assert!(problem["title"].as_str().is_some_and(|t| !t.is_empty()));
        assert!(problem["type"].is_string(), "{problem}");
        assert!(
            problem["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{problem}"
        );
        problem
    }
}

//! [`Client`], its builder, and the three requests it makes: [`Get`], [`Update`] and
//! [`Create`].

use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::marker::PhantomData;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, StatusCode};
use http_cache_semantics::{AfterResponse, BeforeRequest, CacheOptions, CachePolicy};
use reqwest::{IntoUrl, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::store::{Entry, Limits, Seen, Store};
use crate::{Error, Response, Source, Step, UpdateError};

/// How the store judges responses: a private cache (one client's: `private` responses may
/// be stored), and no heuristic freshness, so that a response without `Cache-Control:
/// max-age` or `Expires` is revalidated before every reuse rather than reused for a tenth
/// of its age.
const CACHE_OPTIONS: CacheOptions = CacheOptions {
    shared: false,
    cache_heuristic: 0.0,
    immutable_min_time_to_live: Duration::from_secs(24 * 3600),
    ignore_cargo_cult: false,
};

/// Header fields a 304 does not update in a stored response (RFC 9111 section 3.2): the
/// stored body's own length, coding and range, and hop-by-hop fields.
const NOT_UPDATED: [&str; 10] = [
    "content-length",
    "content-encoding",
    "content-range",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "te",
    "trailer",
    "upgrade",
    "proxy-authenticate",
];

/// The most of a refusal's body kept as its explanation.
const DETAIL_BYTES: usize = 1024;

/// A problem body larger than this is not parsed for its `detail`.
const PROBLEM_BYTES: usize = 64 * 1024;

/// A `reqwest` client that keeps the HTTP validator promises for its caller: it stores
/// responses that carry validators and revalidates them, and writes with `If-Match`,
/// reading again and re-applying the change when another writer got there first.
///
/// Clones share one store. Requests go through the `reqwest::Client` it was built on, with
/// that client's timeouts, default header fields, TLS and proxy settings.
///
/// # Examples
///
/// ```
/// # #[allow(dead_code)] mod common { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/common/mod.rs")); }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let server = common::Products::start().await;
/// # let base = &server.base;
/// use etag_client::{Client, Source};
/// use serde_json::Value;
///
/// let client = Client::new(etag_client::reqwest::Client::new());
/// let url = format!("{base}/products/1");
///
/// let first = client.get(&url).send().await?;
/// assert_eq!(first.source(), Source::Network);
/// let again = client.get(&url).send().await?; // If-None-Match: "1", answered 304
/// assert_eq!(again.source(), Source::Revalidated);
/// assert_eq!(again.bytes(), first.bytes());
///
/// let written = client
///     .update(&url, |mut product: Value| {
///         product["price"] = 24.99.into();
///         product
///     })
///     .send()
///     .await?;
/// assert_eq!(written.json::<Value>()?["price"], 24.99);
/// // The write's answer is the stored copy now: the next read is a 304.
/// assert_eq!(client.get(&url).send().await?.source(), Source::Revalidated);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    store: Arc<Mutex<Store>>,
    retry: Retry,
}

/// How an update retries after a 412.
#[derive(Debug, Clone, Copy)]
struct Retry {
    attempts: u32,
    first_delay: Duration,
    max_delay: Duration,
    deadline: Duration,
}

impl Client {
    /// A client on `http` with the default limits: 1,024 stored responses and 32 MiB; an
    /// update makes at most 20 attempts within 30 seconds, waiting between them a random
    /// time up to 10 ms, then 20 ms, 40 ms and so on, never more than 1 second. (Sixteen
    /// writers incrementing one product of the example application back to back, in this
    /// crate's tests, needed at most 13 attempts for an update.)
    ///
    /// # Examples
    ///
    /// ```
    /// # #[allow(dead_code)] mod common { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/common/mod.rs")); }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = common::Products::start().await;
    /// # let url = format!("{}/products/1", server.base);
    /// use std::time::Duration;
    ///
    /// let http = etag_client::reqwest::Client::builder()
    ///     .timeout(Duration::from_secs(10))
    ///     .build()?;
    /// let client = etag_client::Client::new(http);
    /// assert_eq!(client.get(&url).send().await?.status(), 200);
    /// # Ok(())
    /// # }
    /// ```
    pub fn new(http: reqwest::Client) -> Self {
        Self::builder(http).build()
    }

    /// A builder for a client on `http` with other limits than [`Client::new`]'s.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[allow(dead_code)] mod common { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/common/mod.rs")); }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = common::Products::start().await;
    /// # let url = format!("{}/products/1", server.base);
    /// use etag_client::{Client, Source};
    ///
    /// // Store nothing: every read is a full one.
    /// let client = Client::builder(etag_client::reqwest::Client::new())
    ///     .max_entries(0)
    ///     .build();
    /// client.get(&url).send().await?;
    /// assert_eq!(client.get(&url).send().await?.source(), Source::Network);
    /// # Ok(())
    /// # }
    /// ```
    pub fn builder(http: reqwest::Client) -> ClientBuilder {
        ClientBuilder {
            http,
            limits: Limits {
                entries: 1024,
                bytes: 32 << 20,
            },
            retry: Retry {
                attempts: 20,
                first_delay: Duration::from_millis(10),
                max_delay: Duration::from_secs(1),
                deadline: Duration::from_secs(30),
            },
        }
    }

    /// A `GET` of `url` that reuses the stored copy: as it is while it is fresh, else after
    /// the server answered `304 Not Modified` to its validators (`If-None-Match`,
    /// `If-Modified-Since`). A `200` that may be stored (RFC 9111: not `no-store`; `Vary`
    /// decides which requests it answers) and carries a validator replaces the copy.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[allow(dead_code)] mod common { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/common/mod.rs")); }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = common::Products::start().await;
    /// # let base = &server.base;
    /// use etag_client::{Client, Error};
    ///
    /// let client = Client::new(etag_client::reqwest::Client::new());
    /// let product = client.get(format!("{base}/products/1")).send().await?;
    /// assert_eq!(product.headers()["etag"], "\"1\"");
    /// let missing = client.get(format!("{base}/products/2")).send().await;
    /// assert!(matches!(missing, Err(Error::NotFound { .. })));
    /// # Ok(())
    /// # }
    /// ```
    pub fn get(&self, url: impl IntoUrl) -> Get<'_> {
        Get {
            client: self,
            url: self.resolve(url),
            headers: HeaderMap::new(),
        }
    }

    /// A read-modify-write of the JSON resource at `url` that loses no update: it reads the
    /// resource (reusing the stored copy as [`get`](Self::get) does), applies `change`,
    /// and `PUT`s the result with `If-Match` naming the version read. On
    /// `412 Precondition Failed` it reads again from the server and re-applies `change` to
    /// what it finds, after a random, exponentially growing pause, a bounded number of
    /// times within a deadline ([`ClientBuilder`]). The write's answer, with its new
    /// `ETag`, becomes the stored copy.
    ///
    /// Only a 412 is retried. A write whose answer never arrived is not: it may have been
    /// applied, and re-applying `change` then would apply it twice.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[allow(dead_code)] mod common { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/common/mod.rs")); }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = common::Products::start().await;
    /// # let base = &server.base;
    /// use serde::{Deserialize, Serialize};
    ///
    /// #[derive(Serialize, Deserialize)]
    /// struct Product {
    ///     name: String,
    ///     price: f64,
    /// }
    ///
    /// let client = etag_client::Client::new(etag_client::reqwest::Client::new());
    /// let written = client
    ///     .update(format!("{base}/products/1"), |mut product: Product| {
    ///         product.price += 1.0;
    ///         product
    ///     })
    ///     .send()
    ///     .await?;
    /// assert_eq!(written.json::<Product>()?.price, 30.99);
    /// assert_eq!(written.headers()["etag"], "\"2\"");
    /// # Ok(())
    /// # }
    /// ```
    pub fn update<T, F>(&self, url: impl IntoUrl, change: F) -> Update<'_, T, F>
    where
        T: DeserializeOwned + Serialize,
        F: FnMut(T) -> T,
    {
        Update {
            client: self,
            url: self.resolve(url),
            headers: HeaderMap::new(),
            change,
            value: PhantomData,
        }
    }

    /// A `PUT` of `body` as JSON to `url` with `If-None-Match: *`: it creates the resource
    /// only if there is none yet, and tells which happened ([`CreateOutcome`]). The answer
    /// to a create, with its `ETag`, becomes the stored copy.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[allow(dead_code)] mod common { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/common/mod.rs")); }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = common::Products::start().await;
    /// # let base = &server.base;
    /// use etag_client::{Client, CreateOutcome};
    /// use serde_json::json;
    ///
    /// let client = Client::new(etag_client::reqwest::Client::new());
    /// let lamp = json!({"name": "Desk Lamp", "price": 12.5});
    /// let url = format!("{base}/products/7");
    /// let first = client.create(&url, &lamp).send().await?;
    /// assert!(matches!(first, CreateOutcome::Created(ref r) if r.status() == 201));
    /// let second = client.create(&url, &lamp).send().await?;
    /// assert!(matches!(second, CreateOutcome::AlreadyExists));
    /// # Ok(())
    /// # }
    /// ```
    pub fn create<B: Serialize + ?Sized>(&self, url: impl IntoUrl, body: &B) -> Create<'_> {
        Create {
            client: self,
            url: self.resolve(url),
            headers: HeaderMap::new(),
            body: serde_json::to_vec(body),
        }
    }

    /// `url` as the key of its stored copy: parsed, without its fragment.
    fn resolve(&self, url: impl IntoUrl) -> Result<Url, reqwest::Error> {
        let mut url = self.http.get(url).build()?.url().clone();
        url.set_fragment(None);
        Ok(url)
    }

    fn store(&self) -> MutexGuard<'_, Store> {
        // The store is left consistent at every step, so a panic elsewhere while it was
        // locked leaves nothing to repair.
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sends one request and reads its answer whole.
    async fn exchange(
        &self,
        method: Method,
        url: &Url,
        headers: HeaderMap,
        body: Option<Vec<u8>>,
    ) -> Result<Answer, Error> {
        let mut request = self.http.request(method, url.clone()).headers(headers);
        if let Some(body) = body {
            request = request.body(body);
        }
        let response = request.send().await.map_err(Error::Http)?;
        let url = response.url().clone();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(Error::Http)?;
        Ok(Answer {
            url,
            status,
            headers,
            body,
        })
    }

    /// A GET of `url` through the store; also returns the state of the URL's slot that a
    /// write made from this read may replace.
    async fn read(&self, url: &Url, headers: &HeaderMap) -> Result<(Response, Seen), Error> {
        let key = url.as_str();
        let request = request_parts(url, headers);
        let (seen, stored) = self.store().get(key);
        let mut sent = headers.clone();
        let mut revalidating = None;
        if let (Some(entry), Some(request)) = (stored, &request) {
            match entry.policy.before_request(request, SystemTime::now()) {
                BeforeRequest::Fresh(_) => return Ok((entry.response(Source::Stored), seen)),
                // The validators the policy chose, added to the caller's header fields
                // (taken from it one by one: its own copy of them keeps one value per
                // name).
                BeforeRequest::Stale {
                    request: revalidation,
                    matches: true,
                } => {
                    for name in [header::IF_NONE_MATCH, header::IF_MODIFIED_SINCE] {
                        if let Some(value) = revalidation.headers.get(&name) {
                            sent.insert(name, value.clone());
                        }
                    }
                    revalidating = Some(entry);
                }
                // Stored for other values of the fields its Vary names: ask afresh.
                BeforeRequest::Stale { matches: false, .. } => {}
            }
        }
        let answer = self.exchange(Method::GET, url, sent, None).await?;
        if answer.status != StatusCode::NOT_MODIFIED {
            return self.take(url, request.as_ref(), seen, answer);
        }
        if let (Some(entry), Some(request)) = (revalidating, &request) {
            let now = SystemTime::now();
            if let AfterResponse::NotModified(..) =
                entry.policy.after_response(request, &answer.parts(), now)
            {
                let headers = updated(&entry.headers, &answer.headers);
                let response = Response {
                    status: entry.status,
                    headers: headers.clone(),
                    body: entry.body.clone(),
                    source: Source::Revalidated,
                };
                let revalidated = stored_entry(request, entry.status, headers, &entry.body, now);
                let seen = self.store().replace(key, seen, revalidated);
                return Ok((response, seen));
            }
        }
        // A 304 that selects no stored response (RFC 9111 section 4.3.3): ask once more,
        // without validators.
        let seen = self.store().replace(key, seen, None);
        let answer = self
            .exchange(Method::GET, url, headers.clone(), None)
            .await?;
        self.take(url, request.as_ref(), seen, answer)
    }

    /// A full answer to a GET: stored if it may be, returned if it is a success.
    fn take(
        &self,
        url: &Url,
        request: Option<&http::request::Parts>,
        seen: Seen,
        answer: Answer,
    ) -> Result<(Response, Seen), Error> {
        let key = url.as_str();
        if answer.status.is_success() {
            let entry = request
                .filter(|_| answer.status == StatusCode::OK && answer.url == *url)
                .and_then(|request| {
                    stored_entry(
                        request,
                        answer.status,
                        answer.headers.clone(),
                        &answer.body,
                        SystemTime::now(),
                    )
                });
            let seen = self.store().replace(key, seen, entry);
            return Ok((answer.into_response(), seen));
        }
        if matches!(answer.status, StatusCode::NOT_FOUND | StatusCode::GONE) {
            self.store().replace(key, seen, None);
        }
        Err(answer.into_error(None))
    }

    /// A successful write's answer: the stored copy if it is the new representation, else
    /// no copy at all (RFC 9111 section 4.4: a write invalidates what was stored).
    fn written(&self, url: &Url, headers: &HeaderMap, seen: Seen, answer: Answer) -> Response {
        let key = url.as_str();
        let entry =
            request_parts(url, headers).and_then(|request| write_entry(&request, url, &answer));
        let mut store = self.store();
        if store.seen(key) == seen {
            store.replace(key, seen, entry);
        } else {
            // Another request changed the slot since this write's read: which of the two is
            // newer is unknown, so keep neither.
            store.remove(key);
        }
        answer.into_response()
    }
}

/// Builds a [`Client`] with other limits than [`Client::new`]'s.
///
/// # Examples
///
/// ```
/// # #[allow(dead_code)] mod common { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/common/mod.rs")); }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let server = common::Products::start().await;
/// # let url = format!("{}/products/1", server.base);
/// use std::time::Duration;
///
/// let client = etag_client::Client::builder(etag_client::reqwest::Client::new())
///     .max_entries(10_000)
///     .max_bytes(256 << 20)
///     .update_attempts(20)
///     .update_backoff(Duration::from_millis(5), Duration::from_millis(500))
///     .update_deadline(Duration::from_secs(10))
///     .build();
/// assert_eq!(client.get(&url).send().await?.status(), 200);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct ClientBuilder {
    http: reqwest::Client,
    limits: Limits,
    retry: Retry,
}

impl ClientBuilder {
    /// At most this many stored responses (default 1,024); the least recently used go first.
    /// `0` stores nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[allow(dead_code)] mod common { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/common/mod.rs")); }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = common::Products::start().await;
    /// # let base = &server.base;
    /// use etag_client::{Client, CreateOutcome, Source};
    /// use serde_json::json;
    ///
    /// let client = Client::builder(etag_client::reqwest::Client::new())
    ///     .max_entries(1)
    ///     .build();
    /// let (one, two) = (format!("{base}/products/1"), format!("{base}/products/2"));
    /// let created = client.create(&two, &json!({"name": "Lamp"})).send().await?; // stored
    /// assert!(matches!(created, CreateOutcome::Created(_)));
    /// client.get(&one).send().await?; // stored; the copy of 2 goes
    /// assert_eq!(client.get(&one).send().await?.source(), Source::Revalidated);
    /// assert_eq!(client.get(&two).send().await?.source(), Source::Network);
    /// # Ok(())
    /// # }
    /// ```
    pub fn max_entries(mut self, entries: usize) -> Self {
        self.limits.entries = entries;
        self
    }

    /// At most this many bytes of stored responses, counting their URLs, header fields and
    /// bodies (default 32 MiB); the least recently used go first. A response larger than
    /// this is not stored.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[allow(dead_code)] mod common { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/common/mod.rs")); }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = common::Products::start().await;
    /// # let url = format!("{}/products/1", server.base);
    /// use etag_client::{Client, Source};
    ///
    /// // Product 1 with its header fields is larger than 64 bytes.
    /// let client = Client::builder(etag_client::reqwest::Client::new())
    ///     .max_bytes(64)
    ///     .build();
    /// client.get(&url).send().await?;
    /// assert_eq!(client.get(&url).send().await?.source(), Source::Network);
    /// # Ok(())
    /// # }
    /// ```
    pub fn max_bytes(mut self, bytes: usize) -> Self {
        self.limits.bytes = bytes;
        self
    }

    /// At most this many attempts of an [`update`](Client::update) (default 20; `0` is
    /// taken as 1).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[allow(dead_code)] mod common { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/common/mod.rs")); }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = common::Products::start().await;
    /// # let base = &server.base;
    /// use etag_client::{Client, Error, Step};
    /// use serde_json::Value;
    ///
    /// let client = Client::builder(etag_client::reqwest::Client::new())
    ///     .update_attempts(3)
    ///     .build();
    /// // Someone else writes /restless after every read of it.
    /// let error = client
    ///     .update(format!("{base}/restless"), |value: Value| value)
    ///     .send()
    ///     .await
    ///     .unwrap_err();
    /// assert_eq!(error.attempt(), 3);
    /// assert_eq!(error.step(), Step::Write);
    /// assert!(matches!(error.reason(), Error::PreconditionFailed { .. }));
    /// # Ok(())
    /// # }
    /// ```
    pub fn update_attempts(mut self, attempts: u32) -> Self {
        self.retry.attempts = attempts.max(1);
        self
    }

    /// The pause after an update's first 412 is a random time up to `first`; each further
    /// 412 doubles that bound, up to `max` (defaults: 10 ms and 1 s). The randomness spreads
    /// writers that collided apart.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[allow(dead_code)] mod common { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/common/mod.rs")); }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = common::Products::start().await;
    /// # let base = &server.base;
    /// use std::time::{Duration, Instant};
    /// use serde_json::Value;
    ///
    /// let client = etag_client::Client::builder(etag_client::reqwest::Client::new())
    ///     .update_attempts(4)
    ///     .update_backoff(Duration::from_millis(1), Duration::from_millis(2))
    ///     .build();
    /// let started = Instant::now();
    /// let error = client
    ///     .update(format!("{base}/restless"), |value: Value| value)
    ///     .send()
    ///     .await
    ///     .unwrap_err();
    /// assert_eq!(error.attempt(), 4);
    /// // Three pauses of at most 1, 2 and 2 ms, and eight requests on loopback.
    /// assert!(started.elapsed() < Duration::from_secs(5));
    /// # Ok(())
    /// # }
    /// ```
    pub fn update_backoff(mut self, first: Duration, max: Duration) -> Self {
        self.retry.first_delay = first;
        self.retry.max_delay = max.max(first);
        self
    }

    /// An update stops when this much time has passed since it started (default 30 s): an
    /// attempt under way ends with [`Error::TimedOut`], and no pause runs past it.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[allow(dead_code)] mod common { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/common/mod.rs")); }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = common::Products::start().await;
    /// # let base = &server.base;
    /// use std::time::Duration;
    /// use etag_client::Error;
    /// use serde_json::Value;
    ///
    /// let client = etag_client::Client::builder(etag_client::reqwest::Client::new())
    ///     .update_deadline(Duration::ZERO)
    ///     .build();
    /// let error = client
    ///     .update(format!("{base}/products/1"), |value: Value| value)
    ///     .send()
    ///     .await
    ///     .unwrap_err();
    /// assert_eq!(error.attempt(), 1);
    /// assert!(matches!(error.reason(), Error::TimedOut));
    /// # Ok(())
    /// # }
    /// ```
    pub fn update_deadline(mut self, deadline: Duration) -> Self {
        self.retry.deadline = deadline;
        self
    }

    /// The client.
    ///
    /// # Examples
    ///
    /// See [`ClientBuilder`].
    ///
    /// ```
    /// let client = etag_client::Client::builder(etag_client::reqwest::Client::new()).build();
    /// # let _ = client;
    /// ```
    pub fn build(self) -> Client {
        Client {
            http: self.http,
            store: Arc::new(Mutex::new(Store::new(self.limits))),
            retry: self.retry,
        }
    }
}

/// A conditional `GET`, from [`Client::get`].
///
/// # Examples
///
/// See [`Client::get`] and [`Get::header`].
///
/// ```
/// # #[allow(dead_code)] mod common { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/common/mod.rs")); }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let server = common::Products::start().await;
/// # let url = format!("{}/products/1", server.base);
/// let client = etag_client::Client::new(etag_client::reqwest::Client::new());
/// let get: etag_client::Get<'_> = client.get(&url);
/// assert_eq!(get.send().await?.status(), 200);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
#[must_use = "a request does nothing until `send` is awaited"]
pub struct Get<'a> {
    client: &'a Client,
    url: Result<Url, reqwest::Error>,
    headers: HeaderMap,
}

impl Get<'_> {
    /// Adds a header field to the request. A stored copy answers only requests whose fields
    /// named in its `Vary` are the same as those of the request that fetched it.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[allow(dead_code)] mod common { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/common/mod.rs")); }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = common::Products::start().await;
    /// # let url = format!("{}/products/1", server.base);
    /// use etag_client::reqwest::header::{ACCEPT, HeaderValue};
    ///
    /// let client = etag_client::Client::new(etag_client::reqwest::Client::new());
    /// let product = client
    ///     .get(&url)
    ///     .header(ACCEPT, HeaderValue::from_static("application/json"))
    ///     .send()
    ///     .await?;
    /// assert_eq!(product.status(), 200);
    /// # Ok(())
    /// # }
    /// ```
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.append(name, value);
        self
    }

    /// Sends the request, or answers it from the store.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] for 404 and 410 (which also drop the stored copy),
    /// [`Error::Status`] for any other status that is not a success, and
    /// [`Error::Http`] when the request fails.
    ///
    /// # Examples
    ///
    /// See [`Client::get`].
    ///
    /// ```
    /// # #[allow(dead_code)] mod common { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/common/mod.rs")); }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = common::Products::start().await;
    /// # let base = &server.base;
    /// use etag_client::Error;
    ///
    /// let client = etag_client::Client::new(etag_client::reqwest::Client::new());
    /// let error = client.get(format!("{base}/nothing")).send().await.unwrap_err();
    /// assert!(matches!(error, Error::NotFound { status, .. } if status == 404));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn send(self) -> Result<Response, Error> {
        let url = self.url.map_err(Error::Http)?;
        let (response, _) = self.client.read(&url, &self.headers).await?;
        Ok(response)
    }
}

/// A read-modify-write that loses no update, from [`Client::update`].
///
/// # Examples
///
/// See [`Client::update`] and [`Update::header`].
///
/// ```
/// # #[allow(dead_code)] mod common { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/common/mod.rs")); }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let server = common::Products::start().await;
/// # let url = format!("{}/products/1", server.base);
/// use serde_json::Value;
///
/// let client = etag_client::Client::new(etag_client::reqwest::Client::new());
/// let update = client.update(&url, |mut product: Value| {
///     product["name"] = "Silent Mouse".into();
///     product
/// });
/// assert_eq!(update.send().await?.json::<Value>()?["name"], "Silent Mouse");
/// # Ok(())
/// # }
/// ```
#[must_use = "a request does nothing until `send` is awaited"]
pub struct Update<'a, T, F> {
    client: &'a Client,
    url: Result<Url, reqwest::Error>,
    headers: HeaderMap,
    change: F,
    value: PhantomData<fn(T) -> T>,
}

impl<T, F> fmt::Debug for Update<'_, T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Update")
            .field("url", &self.url)
            .field("headers", &self.headers)
            .finish_non_exhaustive()
    }
}

/// What one attempt of an update came to, when it did not fail.
enum Attempt {
    Written(Response),
    /// 412: another writer got there first.
    Stale(Error),
}

impl<T, F> Update<'_, T, F>
where
    T: DeserializeOwned + Serialize,
    F: FnMut(T) -> T,
{
    /// Adds a header field to the reads and the writes of the update.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[allow(dead_code)] mod common { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/common/mod.rs")); }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = common::Products::start().await;
    /// # let url = format!("{}/products/1", server.base);
    /// use etag_client::reqwest::header::{AUTHORIZATION, HeaderValue};
    /// use serde_json::Value;
    ///
    /// let client = etag_client::Client::new(etag_client::reqwest::Client::new());
    /// let written = client
    ///     .update(&url, |product: Value| product)
    ///     .header(AUTHORIZATION, HeaderValue::from_static("Bearer 1234"))
    ///     .send()
    ///     .await?;
    /// assert_eq!(written.status(), 200);
    /// # Ok(())
    /// # }
    /// ```
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.append(name, value);
        self
    }

    /// Runs the update: the response to the write that succeeded.
    ///
    /// # Errors
    ///
    /// An [`UpdateError`] with the attempt and the step that failed, and why:
    /// [`Error::PreconditionFailed`] when every attempt allowed met a 412 (or the deadline
    /// left no time for another), [`Error::TimedOut`] when the deadline passed during an
    /// attempt, [`Error::NotFound`] when the resource is gone (a read's 404, or a write's),
    /// [`Error::NoStrongEtag`] when the representation has no strong `ETag` to send in
    /// `If-Match`, [`Error::PreconditionRequired`] for a 428, [`Error::Json`] when the body
    /// is not a `T`, and [`Error::Status`] or [`Error::Http`] otherwise.
    ///
    /// # Examples
    ///
    /// See [`Client::update`] and [`UpdateError`].
    ///
    /// ```
    /// # #[allow(dead_code)] mod common { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/common/mod.rs")); }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = common::Products::start().await;
    /// # let url = format!("{}/products/1", server.base);
    /// use serde_json::Value;
    ///
    /// let client = etag_client::Client::new(etag_client::reqwest::Client::new());
    /// let mut calls = 0;
    /// client.update(&url, |product: Value| { calls += 1; product }).send().await?;
    /// assert_eq!(calls, 1); // no other writer: one attempt
    /// # Ok(())
    /// # }
    /// ```
    pub async fn send(self) -> Result<Response, UpdateError> {
        let Self {
            client,
            url,
            headers,
            mut change,
            ..
        } = self;
        let url = url.map_err(|e| UpdateError {
            attempt: 1,
            step: Step::Read,
            reason: Error::Http(e),
        })?;
        let retry = client.retry;
        let started = tokio::time::Instant::now();
        let deadline = started
            .checked_add(retry.deadline)
            .unwrap_or_else(|| started + Duration::from_secs(365 * 24 * 3600));
        let mut attempt = 1;
        loop {
            let mut step = Step::Read;
            let once = attempt_once(client, &url, &headers, &mut change, &mut step);
            let stale = match tokio::time::timeout_at(deadline, once).await {
                Ok(Ok(Attempt::Written(response))) => return Ok(response),
                Ok(Ok(Attempt::Stale(reason))) => reason,
                Ok(Err(reason)) => {
                    return Err(UpdateError {
                        attempt,
                        step,
                        reason,
                    });
                }
                Err(_elapsed) => {
                    return Err(UpdateError {
                        attempt,
                        step,
                        reason: Error::TimedOut,
                    });
                }
            };
            let pause = retry.pause(attempt);
            if attempt >= retry.attempts || tokio::time::Instant::now() + pause >= deadline {
                return Err(UpdateError {
                    attempt,
                    step: Step::Write,
                    reason: stale,
                });
            }
            tokio::time::sleep(pause).await;
            attempt += 1;
        }
    }
}

/// One attempt of an update: reads, applies the change and writes once. `step` says how
/// far it got.
async fn attempt_once<T, F>(
    client: &Client,
    url: &Url,
    headers: &HeaderMap,
    change: &mut F,
    step: &mut Step,
) -> Result<Attempt, Error>
where
    T: DeserializeOwned + Serialize,
    F: FnMut(T) -> T,
{
    *step = Step::Read;
    let (current, seen) = client.read(url, headers).await?;
    let tag = strong_etag(current.headers()).ok_or(Error::NoStrongEtag)?;
    let changed = change(current.json::<T>()?);
    let body = serde_json::to_vec(&changed).map_err(Error::Json)?;
    *step = Step::Write;
    let mut sent = headers.clone();
    sent.insert(header::IF_MATCH, tag.clone());
    sent.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let answer = client.exchange(Method::PUT, url, sent, Some(body)).await?;
    if answer.status.is_success() {
        return Ok(Attempt::Written(client.written(url, headers, seen, answer)));
    }
    if matches!(
        answer.status,
        StatusCode::PRECONDITION_FAILED | StatusCode::NOT_FOUND | StatusCode::GONE
    ) {
        // The copy the change was made to is not current, or there is none: read afresh.
        client.store().remove(url.as_str());
    }
    if answer.status == StatusCode::PRECONDITION_FAILED {
        return Ok(Attempt::Stale(answer.into_error(None)));
    }
    let sent = format!("If-Match: {}", String::from_utf8_lossy(tag.as_bytes()));
    Err(answer.into_error(Some(sent)))
}

/// A create-only `PUT`, from [`Client::create`].
///
/// # Examples
///
/// See [`Client::create`] and [`Create::header`].
///
/// ```
/// # #[allow(dead_code)] mod common { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/common/mod.rs")); }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let server = common::Products::start().await;
/// # let base = &server.base;
/// use etag_client::CreateOutcome;
///
/// let client = etag_client::Client::new(etag_client::reqwest::Client::new());
/// let create = client.create(format!("{base}/products/1"), &serde_json::json!({"name": "Mouse"}));
/// assert!(matches!(create.send().await?, CreateOutcome::AlreadyExists));
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
#[must_use = "a request does nothing until `send` is awaited"]
pub struct Create<'a> {
    client: &'a Client,
    url: Result<Url, reqwest::Error>,
    headers: HeaderMap,
    body: Result<Vec<u8>, serde_json::Error>,
}

/// What a [`Create`] came to.
///
/// # Examples
///
/// See [`Client::create`].
///
/// ```
/// use etag_client::CreateOutcome;
///
/// let outcome = CreateOutcome::AlreadyExists;
/// assert!(!matches!(outcome, CreateOutcome::Created(_)));
/// ```
#[derive(Debug)]
#[non_exhaustive]
#[must_use]
pub enum CreateOutcome {
    /// The resource was created: the server's answer (`201 Created`, usually), which is now
    /// the stored copy when it carries an `ETag`.
    Created(Response),
    /// `412 Precondition Failed` to `If-None-Match: *`: the resource exists already, and
    /// nothing was written.
    AlreadyExists,
}

impl Create<'_> {
    /// Adds a header field to the request.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[allow(dead_code)] mod common { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/common/mod.rs")); }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = common::Products::start().await;
    /// # let base = &server.base;
    /// use etag_client::CreateOutcome;
    /// use etag_client::reqwest::header::{AUTHORIZATION, HeaderValue};
    ///
    /// let client = etag_client::Client::new(etag_client::reqwest::Client::new());
    /// let outcome = client
    ///     .create(format!("{base}/products/9"), &serde_json::json!({"name": "Pen"}))
    ///     .header(AUTHORIZATION, HeaderValue::from_static("Bearer 1234"))
    ///     .send()
    ///     .await?;
    /// assert!(matches!(outcome, CreateOutcome::Created(_)));
    /// # Ok(())
    /// # }
    /// ```
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.append(name, value);
        self
    }

    /// Sends the request.
    ///
    /// # Errors
    ///
    /// [`Error::PreconditionRequired`] for a 428 (the server does not take
    /// `If-None-Match: *` as a precondition there), [`Error::NotFound`] for 404 and 410,
    /// [`Error::Status`] for any other status that is not a success or a 412,
    /// [`Error::Json`] when the body could not be serialized, and [`Error::Http`] when the
    /// request fails.
    ///
    /// # Examples
    ///
    /// See [`Client::create`].
    ///
    /// ```
    /// # #[allow(dead_code)] mod common { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/common/mod.rs")); }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = common::Products::start().await;
    /// # let base = &server.base;
    /// use etag_client::{CreateOutcome, Source};
    ///
    /// let client = etag_client::Client::new(etag_client::reqwest::Client::new());
    /// let url = format!("{base}/products/8");
    /// let created = client.create(&url, &serde_json::json!({"name": "Ink"})).send().await?;
    /// assert!(matches!(created, CreateOutcome::Created(_)));
    /// // The answer to the create is the stored copy: reading it is a 304.
    /// assert_eq!(client.get(&url).send().await?.source(), Source::Revalidated);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn send(self) -> Result<CreateOutcome, Error> {
        let url = self.url.map_err(Error::Http)?;
        let body = self.body.map_err(Error::Json)?;
        let client = self.client;
        let seen = client.store().seen(url.as_str());
        let mut headers = self.headers.clone();
        headers.insert(header::IF_NONE_MATCH, HeaderValue::from_static("*"));
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        let answer = client
            .exchange(Method::PUT, &url, headers, Some(body))
            .await?;
        if answer.status.is_success() {
            return Ok(CreateOutcome::Created(client.written(
                &url,
                &self.headers,
                seen,
                answer,
            )));
        }
        if answer.status == StatusCode::PRECONDITION_FAILED {
            return Ok(CreateOutcome::AlreadyExists);
        }
        Err(answer.into_error(Some("If-None-Match: *".to_owned())))
    }
}

impl Retry {
    /// The pause after the `failures`-th 412 in a row: a random time up to
    /// `first_delay * 2^(failures - 1)`, at most `max_delay` ("full jitter").
    fn pause(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(31);
        let bound = self
            .first_delay
            .saturating_mul(1 << doublings)
            .min(self.max_delay);
        bound.mul_f64(random_fraction())
    }
}

/// A number in `[0, 1)`, different on every call: the standard library's randomly keyed
/// hasher, over the clock. Good enough to spread retries apart; not for anything secret.
fn random_fraction() -> f64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    hasher.write_u32(nanos);
    // The top 53 bits, as the mantissa of a double.
    (hasher.finish() >> 11) as f64 / (1_u64 << 53) as f64
}

/// A response read whole.
struct Answer {
    /// Where it came from, after redirects.
    url: Url,
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Answer {
    fn parts(&self) -> http::response::Parts {
        response_parts(self.status, self.headers.clone())
    }

    fn into_response(self) -> Response {
        Response {
            status: self.status,
            headers: self.headers,
            body: self.body,
            source: Source::Network,
        }
    }

    /// The error for a status that is not a success; `sent` is the precondition the request
    /// carried, if any.
    fn into_error(self, sent: Option<String>) -> Error {
        let detail = detail(&self.body);
        match self.status {
            StatusCode::NOT_FOUND | StatusCode::GONE => Error::NotFound {
                status: self.status,
                detail,
            },
            StatusCode::PRECONDITION_FAILED => Error::PreconditionFailed { detail },
            StatusCode::PRECONDITION_REQUIRED => Error::PreconditionRequired {
                sent: sent.unwrap_or_else(|| "no precondition".to_owned()),
                detail,
            },
            status => Error::Status { status, detail },
        }
    }
}

/// The explanation in a refusal's body: the `detail` of a problem body (RFC 9457), or the
/// start of the body as text.
fn detail(body: &[u8]) -> String {
    if body.len() <= PROBLEM_BYTES {
        if let Ok(serde_json::Value::Object(fields)) = serde_json::from_slice(body) {
            if let Some(serde_json::Value::String(detail)) = fields.get("detail") {
                return truncate(detail);
            }
        }
    }
    let text = String::from_utf8_lossy(&body[..body.len().min(DETAIL_BYTES)]);
    let text = text.trim();
    if text.is_empty() {
        "(no explanation)".to_owned()
    } else {
        truncate(text)
    }
}

fn truncate(text: &str) -> String {
    let mut end = text.len().min(DETAIL_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// A GET of `url` with `headers`, as the store's policy needs it; `None` for a URL that is
/// not a valid request target (then nothing is stored for it).
fn request_parts(url: &Url, headers: &HeaderMap) -> Option<http::request::Parts> {
    let (mut parts, ()) = http::Request::get(url.as_str()).body(()).ok()?.into_parts();
    parts.headers = headers.clone();
    Some(parts)
}

fn response_parts(status: StatusCode, headers: HeaderMap) -> http::response::Parts {
    let (mut parts, ()) = http::Response::new(()).into_parts();
    parts.status = status;
    parts.headers = headers;
    parts
}

/// The entry for a 200 to `request`, if RFC 9111 allows storing it and it carries a
/// validator to revalidate with.
fn stored_entry(
    request: &http::request::Parts,
    status: StatusCode,
    headers: HeaderMap,
    body: &Bytes,
    now: SystemTime,
) -> Option<Entry> {
    if !headers.contains_key(header::ETAG) && !headers.contains_key(header::LAST_MODIFIED) {
        return None;
    }
    let policy = CachePolicy::new_options(
        request,
        &response_parts(status, headers.clone()),
        now,
        CACHE_OPTIONS,
    );
    policy.is_storable().then(|| Entry {
        policy,
        status,
        headers,
        body: body.clone(),
    })
}

/// The entry for a successful write's answer, taken as the 200 a GET would get now: only
/// when it is a 200 or 201 with an `ETag` and a body, and does not say (`Content-Location`)
/// that its body represents another resource. Its freshness is not the write's to give: it
/// is stored as `no-cache`, revalidated before it is reused.
fn write_entry(request: &http::request::Parts, url: &Url, answer: &Answer) -> Option<Entry> {
    let representation = matches!(answer.status, StatusCode::OK | StatusCode::CREATED)
        && answer.headers.contains_key(header::ETAG)
        && !answer.body.is_empty()
        && answer.url == *url;
    if !representation {
        return None;
    }
    if let Some(location) = answer.headers.get(header::CONTENT_LOCATION) {
        let same = location
            .to_str()
            .ok()
            .and_then(|location| url.join(location).ok())
            .is_some_and(|mut location| {
                location.set_fragment(None);
                location == *url
            });
        if !same {
            return None;
        }
    }
    let mut headers = answer.headers.clone();
    headers.remove(header::LOCATION);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    stored_entry(
        request,
        StatusCode::OK,
        headers,
        &answer.body,
        SystemTime::now(),
    )
}

/// A stored response's header fields updated with a 304's (RFC 9111 section 3.2): each
/// field the 304 has replaces all of the stored field's values, except those that describe
/// the stored body itself or the connection.
fn updated(stored: &HeaderMap, not_modified: &HeaderMap) -> HeaderMap {
    let mut headers = stored.clone();
    for name in not_modified.keys() {
        if NOT_UPDATED.contains(&name.as_str()) || name.as_str().starts_with("proxy-") {
            continue;
        }
        headers.remove(name);
        for value in not_modified.get_all(name) {
            headers.append(name.clone(), value.clone());
        }
    }
    headers
}

/// The `ETag` of `headers` if it is a strong one, the only kind `If-Match` can match.
fn strong_etag(headers: &HeaderMap) -> Option<HeaderValue> {
    let value = headers.get(header::ETAG)?;
    let text = value.to_str().ok()?.trim();
    let strong = text.len() >= 2 && text.starts_with('"') && text.ends_with('"');
    strong.then(|| value.clone())
}

impl Entry {
    /// The stored response, as an answer from `source`.
    fn response(&self, source: Source) -> Response {
        Response {
            status: self.status,
            headers: self.headers.clone(),
            body: self.body.clone(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(fields: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in fields {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn a_304_replaces_every_value_of_its_fields_and_leaves_the_body_s_own() {
        let stored = headers(&[
            ("etag", "\"1\""),
            ("content-length", "120"),
            ("content-type", "application/json"),
            ("link", "</a>; rel=\"a\""),
            ("link", "</b>; rel=\"b\""),
            ("cache-control", "no-cache"),
        ]);
        let not_modified = headers(&[
            ("etag", "\"1\""),
            ("content-length", "0"),
            ("link", "</c>; rel=\"c\""),
            ("link", "</d>; rel=\"d\""),
            ("cache-control", "max-age=60"),
            ("connection", "close"),
        ]);
        let merged = updated(&stored, &not_modified);
        assert_eq!(merged["content-length"], "120");
        assert_eq!(merged["content-type"], "application/json");
        assert_eq!(merged["cache-control"], "max-age=60");
        let links: Vec<_> = merged.get_all("link").iter().collect();
        assert_eq!(links, ["</c>; rel=\"c\"", "</d>; rel=\"d\""]);
        assert!(!merged.contains_key("connection"));
    }

    #[test]
    fn only_a_strong_tag_goes_in_if_match() {
        assert!(strong_etag(&headers(&[("etag", "\"7\"")])).is_some());
        assert!(strong_etag(&headers(&[("etag", "W/\"7\"")])).is_none());
        assert!(strong_etag(&headers(&[("etag", "7")])).is_none());
        assert!(strong_etag(&headers(&[("etag", "\"")])).is_none());
        assert!(strong_etag(&HeaderMap::new()).is_none());
    }

    #[test]
    fn details_come_from_problem_bodies_or_the_start_of_the_text() {
        assert_eq!(
            detail(br#"{"title": "x", "detail": "Read it again."}"#),
            "Read it again."
        );
        assert_eq!(detail(b"  plain words \n"), "plain words");
        assert_eq!(detail(b""), "(no explanation)");
        let long = "\u{e9}".repeat(DETAIL_BYTES);
        assert_eq!(detail(long.as_bytes()).len(), DETAIL_BYTES);
    }

    #[test]
    fn pauses_grow_to_their_bound_and_are_spread() {
        let retry = Retry {
            attempts: 10,
            first_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(100),
            deadline: Duration::from_secs(1),
        };
        for failures in 1..=40 {
            let bound = Duration::from_millis(10 << (failures - 1).min(20)).min(retry.max_delay);
            assert!(retry.pause(failures) <= bound, "{failures}");
        }
        let pauses: std::collections::BTreeSet<Duration> =
            (0..50).map(|_| retry.pause(5)).collect();
        assert!(pauses.len() > 40, "{pauses:?}");
        assert!(pauses.iter().any(|p| *p < Duration::from_millis(50)));
        assert!(pauses.iter().any(|p| *p >= Duration::from_millis(50)));
    }
}

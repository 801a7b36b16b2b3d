//! [`ClientBuilder`]: a [`Client`]'s limits, with their defaults.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::Client;
use crate::backoff::{Backoff, Retry};
use crate::store::{Limits, Store};

impl Client {
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
                backoff: Backoff {
                    first_delay: Duration::from_millis(10),
                    max_delay: Duration::from_secs(1),
                },
                deadline: Duration::from_secs(30),
            },
        }
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
        self.retry.backoff = Backoff {
            first_delay: first,
            max_delay: max.max(first),
        };
        self
    }

    /// An update stops when this much time has passed since it started (default 30 s): an
    /// attempt under way ends with [`Error::TimedOut`](crate::Error::TimedOut), and no pause runs past it.
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

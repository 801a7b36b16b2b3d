//! [`Client`]: the handle every request goes through, and the store they share.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use reqwest::{IntoUrl, Url};

use crate::backoff::Retry;
use crate::store::Store;

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
    pub(crate) http: reqwest::Client,
    pub(crate) store: Arc<Mutex<Store>>,
    pub(crate) retry: Retry,
}

impl Client {
    /// A client on `http` with the default limits: 1,024 stored responses and 32 MiB; an
    /// update makes at most 20 attempts within 30 seconds, waiting between them a random
    /// time up to 10 ms, then 20 ms, 40 ms and so on, never more than 1 second. (Sixteen
    /// writers incrementing one product of the example application back to back, in this
    /// crate's tests, needed up to 13 to 18 attempts for an update from run to run, on a
    /// busy two-core machine.)
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

    /// `url` as the key of its stored copy: parsed, without its fragment.
    pub(crate) fn resolve(&self, url: impl IntoUrl) -> Result<Url, reqwest::Error> {
        let mut url = self.http.get(url).build()?.url().clone();
        url.set_fragment(None);
        Ok(url)
    }

    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        // The store is left consistent at every step, so a panic elsewhere while it was
        // locked leaves nothing to repair.
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

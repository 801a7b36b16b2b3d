//! [`Response`]: a representation as read or written, and where it came from.

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

use crate::Error;

/// Where a [`Response`] came from.
///
/// # Examples
///
/// ```
/// use etag_client::Source;
///
/// // Both reuse the stored body; only a revalidation asked the server.
/// assert_ne!(Source::Revalidated, Source::Stored);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Source {
    /// The server sent the whole response: the first read, a read after a change, or the
    /// answer to a write.
    Network,
    /// The server answered `304 Not Modified` to the stored copy's validators: the body is the
    /// stored one, the header fields are the stored ones updated with the 304's (RFC 9111
    /// section 4.3.4).
    Revalidated,
    /// The stored copy was still fresh (`Cache-Control: max-age`, `Expires`): the server was
    /// not asked.
    Stored,
}

/// A response's status, header fields and body, read whole.
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
///
/// let client = Client::new(etag_client::reqwest::Client::new());
/// let product = client.get(format!("{base}/products/1")).send().await?;
/// assert_eq!(product.status(), 200);
/// assert_eq!(product.headers()["etag"], "\"1\"");
/// assert_eq!(product.source(), Source::Network);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Response {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    pub(crate) source: Source,
}

impl Response {
    /// The status: a stored copy's own (200), not the 304 that revalidated it.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[allow(dead_code)] mod common { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/common/mod.rs")); }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = common::Products::start().await;
    /// # let url = format!("{}/products/1", server.base);
    /// let client = etag_client::Client::new(etag_client::reqwest::Client::new());
    /// client.get(&url).send().await?;
    /// let again = client.get(&url).send().await?; // answered 304
    /// assert_eq!(again.status(), 200);
    /// # Ok(())
    /// # }
    /// ```
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The header fields; after a revalidation, the stored ones updated with the 304's.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[allow(dead_code)] mod common { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/common/mod.rs")); }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = common::Products::start().await;
    /// # let url = format!("{}/products/1", server.base);
    /// let client = etag_client::Client::new(etag_client::reqwest::Client::new());
    /// let product = client.get(&url).send().await?;
    /// assert_eq!(product.headers()["content-type"], "application/json");
    /// assert_eq!(product.headers()["cache-control"], "no-cache");
    /// # Ok(())
    /// # }
    /// ```
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The body, as bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[allow(dead_code)] mod common { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/common/mod.rs")); }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = common::Products::start().await;
    /// # let url = format!("{}/products/1", server.base);
    /// let client = etag_client::Client::new(etag_client::reqwest::Client::new());
    /// let first = client.get(&url).send().await?;
    /// let again = client.get(&url).send().await?;
    /// assert!(first.bytes().starts_with(b"{"));
    /// assert_eq!(again.bytes(), first.bytes());
    /// # Ok(())
    /// # }
    /// ```
    pub fn bytes(&self) -> &Bytes {
        &self.body
    }

    /// The body as JSON of type `T`.
    ///
    /// # Errors
    ///
    /// [`Error::Json`] when the body is not JSON that `T` accepts.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[allow(dead_code)] mod common { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/common/mod.rs")); }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = common::Products::start().await;
    /// # let url = format!("{}/products/1", server.base);
    /// #[derive(serde::Deserialize)]
    /// struct Product {
    ///     name: String,
    ///     price: f64,
    /// }
    ///
    /// let client = etag_client::Client::new(etag_client::reqwest::Client::new());
    /// let product: Product = client.get(&url).send().await?.json()?;
    /// assert_eq!(product.name, "Wireless Mouse");
    /// assert_eq!(product.price, 29.99);
    /// # Ok(())
    /// # }
    /// ```
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_slice(&self.body).map_err(Error::Json)
    }

    /// Where the response came from: the network, a revalidation or the store.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[allow(dead_code)] mod common { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/common/mod.rs")); }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = common::Products::start().await;
    /// # let url = format!("{}/products/1", server.base);
    /// use etag_client::Source;
    ///
    /// let client = etag_client::Client::new(etag_client::reqwest::Client::new());
    /// assert_eq!(client.get(&url).send().await?.source(), Source::Network);
    /// assert_eq!(client.get(&url).send().await?.source(), Source::Revalidated);
    /// # Ok(())
    /// # }
    /// ```
    pub fn source(&self) -> Source {
        self.source
    }
}

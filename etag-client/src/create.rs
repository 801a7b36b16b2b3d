//! [`Create`]: a create-only `PUT` (`If-None-Match: *`) and its [`CreateOutcome`].

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, StatusCode};
use reqwest::{IntoUrl, Url};
use serde::Serialize;

use crate::{Client, Error, Response};

impl Client {
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

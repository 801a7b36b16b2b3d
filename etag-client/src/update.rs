//! [`Update`]: a read-modify-write with `If-Match`, re-applied after a 412.

use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, StatusCode};
use reqwest::{IntoUrl, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Client, Error, Response, Step, UpdateError};

impl Client {
    /// A read-modify-write of the JSON resource at `url` that loses no update: it reads the
    /// resource (reusing the stored copy as [`get`](Self::get) does), applies `change`,
    /// and `PUT`s the result with `If-Match` naming the version read. On
    /// `412 Precondition Failed` it reads again from the server and re-applies `change` to
    /// what it finds, after a random, exponentially growing pause, a bounded number of
    /// times within a deadline ([`ClientBuilder`](crate::ClientBuilder)). The write's answer, with its new
    /// `ETag`, becomes the stored copy.
    ///
    /// Only a 412 is retried. A write whose answer never arrived is not re-applied: it may
    /// have been applied, and re-applying `change` then would apply it twice. It is sent
    /// again as it was, once: each write carries an `Idempotency-Key` of its own, by which
    /// a server that stores it with what it wrote (see `Conditions::idempotent` in
    /// etag-runtime) recognizes the second send and answers it 2xx, "already applied"
    /// (RFC 9110 section 13.1.1). If the second send gets 412 nonetheless, the update
    /// fails with [`Error::Unconfirmed`].
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
            let pause = retry.backoff.pause(attempt);
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
    sent.insert(IDEMPOTENCY_KEY, idempotency_key());
    let answer = match client
        .exchange(Method::PUT, url, sent.clone(), Some(body.clone()))
        .await
    {
        Ok(answer) => answer,
        // The answer never arrived: the same write again, recognizable by its key.
        Err(Error::Http(_)) => {
            let again = client.exchange(Method::PUT, url, sent, Some(body)).await?;
            if again.status == StatusCode::PRECONDITION_FAILED {
                client.store().remove(url.as_str());
                return Err(match again.into_error(None) {
                    Error::PreconditionFailed { detail, .. } => Error::Unconfirmed { detail },
                    other => other,
                });
            }
            again
        }
        Err(other) => return Err(other),
    };
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

/// The field by which a server can recognize a write sent twice (the HTTP API working
/// group's `Idempotency-Key` draft): one random key per write.
const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");

/// A new key: 128 random bits, as 32 hex digits.
fn idempotency_key() -> HeaderValue {
    let key = format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
    HeaderValue::from_str(&key).expect("hex digits are a valid header value")
}

/// The `ETag` of `headers` if it is a strong one, the only kind `If-Match` can match.
fn strong_etag(headers: &HeaderMap) -> Option<HeaderValue> {
    let value = headers.get(header::ETAG)?;
    let text = value.to_str().ok()?.trim();
    let strong = text.len() >= 2 && text.starts_with('"') && text.ends_with('"');
    strong.then(|| value.clone())
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
    fn only_a_strong_tag_goes_in_if_match() {
        assert!(strong_etag(&headers(&[("etag", "\"7\"")])).is_some());
        assert!(strong_etag(&headers(&[("etag", "W/\"7\"")])).is_none());
        assert!(strong_etag(&headers(&[("etag", "7")])).is_none());
        assert!(strong_etag(&headers(&[("etag", "\"")])).is_none());
        assert!(strong_etag(&HeaderMap::new()).is_none());
    }
}

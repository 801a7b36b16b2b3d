//! [`Get`]: a read through the store, reusing or revalidating the stored copy.
//!
//! A fresh copy is answered as it is; a stale one is revalidated (`If-None-Match`,
//! `If-Modified-Since`), and a `304 Not Modified` updates it.

use std::time::{Duration, SystemTime};

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, StatusCode};
use http_cache_semantics::{AfterResponse, BeforeRequest};
use reqwest::{IntoUrl, Url};

use crate::answer::Answer;
use crate::store::{Seen, request_parts, stored_entry};
use crate::{Client, Error, Response, Source};

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

impl Client {
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

    /// A GET of `url` through the store; also returns the state of the URL's slot that a
    /// write made from this read may replace.
    pub(crate) async fn read(
        &self,
        url: &Url,
        headers: &HeaderMap,
    ) -> Result<(Response, Seen), Error> {
        let read = self.read_with(url, headers, Ask::default()).await?;
        Ok((read.response, read.seen))
    }

    /// A GET of `url` through the store, asked as `ask` says.
    pub(crate) async fn read_with(
        &self,
        url: &Url,
        headers: &HeaderMap,
        ask: Ask,
    ) -> Result<Read, Error> {
        let key = url.as_str();
        let request = request_parts(url, headers);
        // What the policy is asked with: the request, or for a read that must reach the
        // server, the request with `no-cache`, for which no stored copy is fresh
        // (RFC 9111 section 5.2.1.4). The server is sent the caller's fields and the
        // validators only.
        let probe = if ask.revalidate {
            let mut probe = headers.clone();
            probe.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            request_parts(url, &probe)
        } else {
            None
        };
        let (seen, stored) = self.store().get(key);
        let mut sent = headers.clone();
        let mut revalidating = None;
        if let (Some(entry), Some(probe)) = (stored, probe.as_ref().or(request.as_ref())) {
            match entry.policy.before_request(probe, SystemTime::now()) {
                BeforeRequest::Fresh(_) => {
                    return Ok(Read {
                        response: entry.response(Source::Stored),
                        seen,
                        not_modified: None,
                    });
                }
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
        let answer = self
            .exchange_within(Method::GET, url, sent, None, ask.timeout)
            .await?;
        if answer.status != StatusCode::NOT_MODIFIED {
            return self.take(url, request.as_ref(), seen, answer);
        }
        if let (Some(entry), Some(request)) = (revalidating, &request) {
            let now = SystemTime::now();
            // The policy says whether the 304 selects the stored response (RFC 9111 section
            // 4.3.4: the same strong tag, or weak or date validators that match). The
            // header fields and the policy it returns with `NotModified` are not used: it
            // keeps one value per stored field name (of two `Vary` lines, one: the copy
            // would then answer a request with another `Authorization`), drops the fields
            // only the 304 carries, and sets `Date` to this clock in a form that is not an
            // HTTP-date. The stored fields are updated here as section 3.2 says, and the
            // policy is built again from them.
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
                return Ok(Read {
                    response,
                    seen,
                    not_modified: Some(answer.headers),
                });
            }
        }
        // A 304 that selects no stored response (RFC 9111 section 4.3.3): ask once more,
        // without validators.
        let seen = self.store().replace(key, seen, None);
        let answer = self
            .exchange_within(Method::GET, url, headers.clone(), None, ask.timeout)
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
    ) -> Result<Read, Error> {
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
            return Ok(Read {
                response: answer.into_response(),
                seen,
                not_modified: None,
            });
        }
        if matches!(answer.status, StatusCode::NOT_FOUND | StatusCode::GONE) {
            self.store().replace(key, seen, None);
        }
        Err(answer.into_error(None))
    }
}

/// How a read asks, beyond the caller's header fields.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Ask {
    /// Revalidate even a fresh stored copy: the answer must come from the server.
    pub(crate) revalidate: bool,
    /// The request's timeout, in place of the HTTP client's.
    pub(crate) timeout: Option<Duration>,
}

/// What a read found.
pub(crate) struct Read {
    pub(crate) response: Response,
    /// The state of the URL's slot after the read.
    pub(crate) seen: Seen,
    /// When a 304 revalidated the stored copy, the 304's own header fields (the
    /// response's are the stored ones updated with them).
    pub(crate) not_modified: Option<HeaderMap>,
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

    /// A GET of `http://127.0.0.1/doc` with `fields`.
    fn request(fields: &[(&'static str, &'static str)]) -> http::request::Parts {
        let url = Url::parse("http://127.0.0.1/doc").expect("a URL");
        request_parts(&url, &headers(fields)).expect("a request")
    }

    /// What etag-runtime sends for a per-user resource: one `Vary` line per field.
    fn personal(cache_control: &'static str) -> HeaderMap {
        headers(&[
            ("etag", "\"1\""),
            ("cache-control", cache_control),
            ("vary", "accept-encoding"),
            ("vary", "authorization"),
        ])
    }

    #[test]
    fn after_a_304_a_copy_still_varies_on_every_field_its_vary_lines_name() {
        let ann = request(&[("authorization", "Bearer ann")]);
        let bob = request(&[("authorization", "Bearer bob")]);
        let now = SystemTime::now();
        let body = bytes::Bytes::from_static(b"ann's");
        let stored = personal("private, max-age=0");
        let entry = stored_entry(&ann, StatusCode::OK, stored.clone(), &body, now).expect("stored");
        // The 304 makes the copy fresh for a minute.
        let not_modified = personal("private, max-age=60");
        let parts = crate::store::response_parts(StatusCode::NOT_MODIFIED, not_modified.clone());
        let AfterResponse::NotModified(library, library_parts) =
            entry.policy.after_response(&ann, &parts, now)
        else {
            panic!("the 304 selects the copy");
        };

        let merged = updated(&stored, &not_modified);
        assert_eq!(merged.get_all("vary").iter().count(), 2);
        let revalidated = stored_entry(&ann, StatusCode::OK, merged, &body, now).expect("stored");
        assert!(matches!(
            revalidated.policy.before_request(&ann, now),
            BeforeRequest::Fresh(_)
        ));
        assert!(matches!(
            revalidated.policy.before_request(&bob, now),
            BeforeRequest::Stale { matches: false, .. }
        ));

        // Why the policy is built again: http-cache-semantics' own one keeps one `Vary`
        // line and hands ann's copy to bob as fresh. (Should it stop doing so, its
        // `NotModified` result may replace `updated` and `stored_entry` here.)
        assert_eq!(library_parts.headers.get_all("vary").iter().count(), 1);
        assert!(matches!(
            library.before_request(&bob, now),
            BeforeRequest::Fresh(_)
        ));
    }

    #[test]
    fn a_304_adds_the_fields_only_it_carries() {
        let stored = headers(&[("etag", "\"1\""), ("cache-control", "no-cache")]);
        let not_modified = headers(&[
            ("etag", "\"1\""),
            ("expires", "Thu, 01 Jan 2099 00:00:00 GMT"),
            ("x-revision", "2"),
        ]);
        let merged = updated(&stored, &not_modified);
        assert_eq!(merged["expires"], "Thu, 01 Jan 2099 00:00:00 GMT");
        assert_eq!(merged["x-revision"], "2");
        assert_eq!(merged["cache-control"], "no-cache");
    }
}

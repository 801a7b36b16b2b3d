//! One exchange with the server, its answer read whole, and the error a refusal becomes.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use reqwest::Url;

use crate::store::response_parts;
use crate::{Client, Error, Response, Source};

/// The most of a refusal's body kept as its explanation.
const DETAIL_BYTES: usize = 1024;

/// A problem body larger than this is not parsed for its `detail`.
const PROBLEM_BYTES: usize = 64 * 1024;

impl Client {
    /// Sends one request and reads its answer whole.
    pub(crate) async fn exchange(
        &self,
        method: Method,
        url: &Url,
        headers: HeaderMap,
        body: Option<Vec<u8>>,
    ) -> Result<Answer, Error> {
        self.exchange_within(method, url, headers, body, None).await
    }

    /// [`exchange`](Self::exchange), with `timeout` in place of the HTTP client's when
    /// given.
    pub(crate) async fn exchange_within(
        &self,
        method: Method,
        url: &Url,
        headers: HeaderMap,
        body: Option<Vec<u8>>,
        timeout: Option<Duration>,
    ) -> Result<Answer, Error> {
        let mut request = self.http.request(method, url.clone()).headers(headers);
        if let Some(body) = body {
            request = request.body(body);
        }
        if let Some(timeout) = timeout {
            request = request.timeout(timeout);
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
}

/// A response read whole.
pub(crate) struct Answer {
    /// Where it came from, after redirects.
    pub(crate) url: Url,
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Answer {
    pub(crate) fn parts(&self) -> http::response::Parts {
        response_parts(self.status, self.headers.clone())
    }

    pub(crate) fn into_response(self) -> Response {
        Response {
            status: self.status,
            headers: self.headers,
            body: self.body,
            source: Source::Network,
        }
    }

    /// The error for a status that is not a success; `sent` is the precondition the request
    /// carried, if any.
    pub(crate) fn into_error(self, sent: Option<String>) -> Error {
        let detail = detail(&self.body);
        match self.status {
            StatusCode::NOT_FOUND | StatusCode::GONE => Error::NotFound {
                status: self.status,
                detail,
            },
            StatusCode::PRECONDITION_FAILED => Error::PreconditionFailed {
                detail,
                current: current_etag(&self.body),
            },
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
    if body.len() <= PROBLEM_BYTES
        && let Ok(serde_json::Value::Object(fields)) = serde_json::from_slice(body)
        && let Some(serde_json::Value::String(detail)) = fields.get("detail")
    {
        return truncate(detail);
    }
    let text = String::from_utf8_lossy(&body[..body.len().min(DETAIL_BYTES)]);
    let text = text.trim();
    if text.is_empty() {
        "(no explanation)".to_owned()
    } else {
        truncate(text)
    }
}

/// The current entity tag a 412's problem details name (`current_etag`), if a valid one.
fn current_etag(body: &[u8]) -> Option<String> {
    if body.len() > PROBLEM_BYTES {
        return None;
    }
    let serde_json::Value::Object(fields) = serde_json::from_slice(body).ok()? else {
        return None;
    };
    let tag = fields.get("current_etag")?.as_str()?;
    // An entity-tag as RFC 9110 section 8.8.3 writes it, no more than a header would be.
    let strong = tag.strip_prefix("W/").unwrap_or(tag);
    let quoted = strong.len() >= 2 && strong.starts_with('"') && strong.ends_with('"');
    (quoted && tag.len() <= DETAIL_BYTES && http::HeaderValue::from_str(tag).is_ok())
        .then(|| tag.to_owned())
}

fn truncate(text: &str) -> String {
    let mut end = text.len().min(DETAIL_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn a_412_names_the_current_tag_only_when_it_is_one() {
        assert_eq!(
            current_etag(br#"{"detail": "x", "current_etag": "\"7\""}"#).as_deref(),
            Some("\"7\"")
        );
        assert_eq!(current_etag(br#"{"current_etag": "7"}"#), None);
        assert_eq!(current_etag(br#"{"current_etag": "\"a\nb\""}"#), None);
        assert_eq!(current_etag(br#"{"detail": "x"}"#), None);
        assert_eq!(current_etag(b"not json"), None);
    }
}

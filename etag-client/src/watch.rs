//! [`Watch`]: a resource's new versions as a stream, each one asked for with its
//! predecessor's `ETag` in `If-None-Match` and `Prefer: wait` (RFC 7240), which a server
//! that supports it holds until the resource changes.
//!
//! The protocol, as an etag-runtime server speaks it: a `GET` whose `If-None-Match` matches
//! and that carries `Prefer: wait=N` is answered when the resource changes (200, the new
//! version) or after at most N seconds (304), either way with `Preference-Applied: wait=M`.
//! A server that does not wait (not supported, too many waiters, shutting down) answers at
//! once as if there were no `Prefer`: a 304 without `Preference-Applied`, after which the
//! watch polls, pausing between requests.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_core::Stream;
use http::StatusCode;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use reqwest::{IntoUrl, Url};
use tokio::time::Instant;

use crate::backoff::Backoff;
use crate::get::Ask;
use crate::{Client, Error, Response};

/// The request field that asks the server to wait (RFC 7240 section 4.3).
const PREFER: HeaderName = HeaderName::from_static("prefer");

/// The response field by which the server says it waited (RFC 7240 section 3).
const PREFERENCE_APPLIED: HeaderName = HeaderName::from_static("preference-applied");

/// How much longer than the wait a request may take before it is given up as lost: the
/// server's answer at the end of the wait, and a slow connection, fit in it.
const MARGIN: Duration = Duration::from_secs(10);

/// After a 304 from a server that says it waited, the next request starts no sooner than
/// this after the one before it: a server that says so but answers at once (a graceful
/// shutdown wakes its waiters) is not asked again in a tight loop.
const MIN_ROUND: Duration = Duration::from_secs(1);

impl Client {
    /// Watches `url`: a stream of its versions, the current one first, then each new one
    /// (a different `ETag`) as the server reports it. Nothing is sent until the stream is
    /// polled; dropping it stops the watch.
    ///
    /// The first request revalidates the stored copy if there is one (`If-None-Match`,
    /// answered at once). Every later one names the version last yielded in
    /// `If-None-Match` and carries `Prefer: wait=N` ([`Watch::wait`]): a server that
    /// supports it answers when the resource changes, or with a 304 after at most N seconds,
    /// and the watch asks again at once. A 304 without `Preference-Applied: wait` says that
    /// the server did not wait (it does not support waiting, has too many waiters, or is
    /// shutting down): the watch then asks again after [`Watch::poll_interval`]. Each
    /// request may take N seconds and 10 more, whatever the HTTP client's own timeout.
    ///
    /// Each yielded response is the stored copy, as after [`get`](Self::get). A 304 or an
    /// unchanged 200 yields nothing. A lost connection, a timeout, a 5xx (but 501 and 505),
    /// a 408 or a 429 is not yielded: the watch asks again after a random, exponentially
    /// growing pause ([`Watch::backoff`]), for as long as it is polled.
    ///
    /// An `Err` is always the last item: [`Error::NotFound`] when the resource is deleted
    /// (404 or 410; the stored copy is dropped), [`Error::Status`] for any other status
    /// that asking again will not change, [`Error::Http`] for a request that cannot be
    /// made (a bad URL, too many redirects).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[allow(dead_code)] mod common { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/common/mod.rs")); }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = common::Watched::start().await;
    /// # let url = server.url();
    /// use futures_util::StreamExt;
    ///
    /// let client = etag_client::Client::new(etag_client::reqwest::Client::new());
    /// let mut versions = client.watch(&url).stream();
    ///
    /// let current = versions.next().await.expect("an item")?;
    /// assert_eq!(current.headers()["etag"], "\"1\"");
    ///
    /// // Another writer changes it while the watch's next request is held.
    /// # let writer = server.clone();
    /// # tokio::spawn(async move { writer.until_held().await; writer.change() });
    /// let next = versions.next().await.expect("an item")?;
    /// assert_eq!(next.headers()["etag"], "\"2\"");
    /// assert_eq!(next.bytes(), "version 2");
    /// # Ok(())
    /// # }
    /// ```
    pub fn watch(&self, url: impl IntoUrl) -> Watch<'_> {
        Watch {
            client: self,
            url: self.resolve(url),
            headers: HeaderMap::new(),
            wait: Duration::from_secs(60),
            poll_interval: Duration::from_secs(10),
            backoff: Backoff {
                first_delay: Duration::from_millis(250),
                max_delay: Duration::from_secs(30),
            },
        }
    }
}

/// A watch of a resource, from [`Client::watch`]; [`stream`](Watch::stream) starts it.
///
/// # Examples
///
/// ```
/// # #[allow(dead_code)] mod common { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/common/mod.rs")); }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let server = common::Watched::start().await;
/// # let url = server.url();
/// use std::time::Duration;
/// use futures_util::StreamExt;
///
/// let client = etag_client::Client::new(etag_client::reqwest::Client::new());
/// let watch: etag_client::Watch<'_> = client
///     .watch(&url)
///     .wait(Duration::from_secs(30))
///     .poll_interval(Duration::from_secs(5))
///     .backoff(Duration::from_millis(100), Duration::from_secs(10));
/// let first = watch.stream().next().await.expect("an item")?;
/// assert_eq!(first.status(), 200);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
#[must_use = "a watch does nothing until its `stream` is polled"]
pub struct Watch<'a> {
    client: &'a Client,
    url: Result<Url, reqwest::Error>,
    headers: HeaderMap,
    wait: Duration,
    poll_interval: Duration,
    backoff: Backoff,
}

impl Watch<'_> {
    /// Adds a header field to every request of the watch. A `Prefer` field added here is not
    /// sent: the watch sends its own, or none on its first request.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[allow(dead_code)] mod common { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/common/mod.rs")); }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = common::Watched::start().await;
    /// # let url = server.url();
    /// use etag_client::reqwest::header::{AUTHORIZATION, HeaderValue};
    /// use futures_util::StreamExt;
    ///
    /// let client = etag_client::Client::new(etag_client::reqwest::Client::new());
    /// let mut versions = client
    ///     .watch(&url)
    ///     .header(AUTHORIZATION, HeaderValue::from_static("Bearer 1234"))
    ///     .stream();
    /// assert_eq!(versions.next().await.expect("an item")?.status(), 200);
    /// # Ok(())
    /// # }
    /// ```
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.append(name, value);
        self
    }

    /// How long the server is asked to hold a request while nothing changes (default 60
    /// s), in whole seconds, at least 1: `Prefer: wait=N`. The server may wait less.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[allow(dead_code)] mod common { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/common/mod.rs")); }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = common::Watched::start().await;
    /// # let url = server.url();
    /// use std::time::Duration;
    /// use futures_util::StreamExt;
    ///
    /// let client = etag_client::Client::new(etag_client::reqwest::Client::new());
    /// let mut versions = client.watch(&url).wait(Duration::from_secs(1)).stream();
    /// versions.next().await.expect("the current version")?;
    /// // Nothing changes: the server answers 304 after about a second, and the watch asks
    /// // again, yielding nothing.
    /// let nothing = tokio::time::timeout(Duration::from_millis(2500), versions.next()).await;
    /// assert!(nothing.is_err());
    /// assert_eq!(server.log().last().expect("requests").prefer.as_deref(), Some("wait=1"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn wait(mut self, wait: Duration) -> Self {
        self.wait = wait;
        self
    }

    /// The pause before asking again after a 304 from a server that did not wait: the
    /// watch then polls (default 10 s). Each pause is a random time between three quarters
    /// of it and all of it, so that clients that were turned away together come back apart.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[allow(dead_code)] mod common { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/common/mod.rs")); }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = common::Watched::start().await;
    /// # let url = server.url();
    /// use std::time::Duration;
    /// use futures_util::StreamExt;
    ///
    /// // The server answers at once, a 304 without Preference-Applied.
    /// # server.ignore_prefer(true);
    /// let client = etag_client::Client::new(etag_client::reqwest::Client::new());
    /// let mut versions = client
    ///     .watch(&url)
    ///     .poll_interval(Duration::from_millis(100))
    ///     .stream();
    /// versions.next().await.expect("the current version")?;
    /// // Another writer changes it.
    /// # server.change();
    /// let changed = versions.next().await.expect("an item")?; // found by polling
    /// assert_eq!(changed.headers()["etag"], "\"2\"");
    /// # Ok(())
    /// # }
    /// ```
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// The pause after a lost connection, a timeout or a 5xx is a random time up to
    /// `first`; each further failure in a row doubles that bound, up to `max` (defaults:
    /// 250 ms and 30 s).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[allow(dead_code)] mod common { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/common/mod.rs")); }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = common::Watched::start().await;
    /// # let url = server.url();
    /// use std::time::Duration;
    /// use futures_util::StreamExt;
    ///
    /// // The server answers 503 three times.
    /// # server.fail_with([etag_client::reqwest::StatusCode::SERVICE_UNAVAILABLE; 3]);
    /// let client = etag_client::Client::new(etag_client::reqwest::Client::new());
    /// let mut versions = client
    ///     .watch(&url)
    ///     .backoff(Duration::from_millis(10), Duration::from_millis(50))
    ///     .stream();
    /// // Three 503s, then the current version.
    /// assert_eq!(versions.next().await.expect("an item")?.status(), 200);
    /// assert_eq!(server.log().len(), 4);
    /// # Ok(())
    /// # }
    /// ```
    pub fn backoff(mut self, first: Duration, max: Duration) -> Self {
        self.backoff = Backoff {
            first_delay: first,
            max_delay: max.max(first),
        };
        self
    }

    /// The stream of versions. It holds its own handle on the client's store, so it may
    /// outlive the [`Client`] it came from and be moved to another task.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[allow(dead_code)] mod common { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/common/mod.rs")); }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = common::Watched::start().await;
    /// # let url = server.url();
    /// use futures_util::StreamExt;
    ///
    /// let client = etag_client::Client::new(etag_client::reqwest::Client::new());
    /// let versions: etag_client::WatchStream = client.watch(&url).stream();
    /// let first = tokio::spawn(versions.into_future()).await?.0;
    /// assert_eq!(first.expect("an item")?.headers()["etag"], "\"1\"");
    /// # Ok(())
    /// # }
    /// ```
    pub fn stream(self) -> WatchStream {
        let url = match self.url {
            Ok(url) => url,
            Err(error) => {
                return WatchStream {
                    url: None,
                    state: State::Failed(Error::Http(error)),
                };
            }
        };
        let seconds = self.wait.as_secs().max(1);
        let mut waiting = self.headers.clone();
        waiting.insert(
            PREFER,
            HeaderValue::from_str(&format!("wait={seconds}")).expect("digits are a value"),
        );
        let mut first = self.headers;
        first.remove(PREFER);
        let watcher = Watcher {
            client: self.client.clone(),
            url: url.clone(),
            first,
            waiting,
            timeout: Duration::from_secs(seconds) + MARGIN,
            poll_interval: self.poll_interval,
            backoff: self.backoff,
            last: None,
            not_before: None,
            failures: 0,
        };
        WatchStream {
            url: Some(url),
            state: State::Idle(Box::new(watcher)),
        }
    }
}

/// The versions of a watched resource, from [`Watch::stream`]: a [`Stream`] of
/// `Result<Response, Error>`, whose `Err` is always the last item. See [`Client::watch`].
///
/// # Examples
///
/// A deleted resource ends the watch with [`Error::NotFound`]:
///
/// ```
/// # #[allow(dead_code)] mod common { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/common/mod.rs")); }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let server = common::Watched::start().await;
/// # let url = server.url();
/// use etag_client::Error;
/// use futures_util::StreamExt;
///
/// let client = etag_client::Client::new(etag_client::reqwest::Client::new());
/// let mut versions = client.watch(&url).stream();
/// versions.next().await.expect("the current version")?;
/// // Another client deletes it while the watch's next request is held.
/// # let writer = server.clone();
/// # tokio::spawn(async move { writer.until_held().await; writer.delete() });
/// let gone = versions.next().await.expect("an item");
/// assert!(matches!(gone, Err(Error::NotFound { status, .. }) if status == 404));
/// assert!(versions.next().await.is_none());
/// # Ok(())
/// # }
/// ```
pub struct WatchStream {
    url: Option<Url>,
    state: State,
}

type Next = Pin<Box<dyn Future<Output = (Box<Watcher>, Result<Response, Error>)> + Send>>;

enum State {
    /// Between items: nothing is asked until the stream is polled.
    Idle(Box<Watcher>),
    Asking(Next),
    /// The builder's URL was not one: the only item.
    Failed(Error),
    Done,
}

impl fmt::Debug for WatchStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            State::Idle(_) => "idle",
            State::Asking(_) => "asking",
            State::Failed(_) => "failed",
            State::Done => "done",
        };
        f.debug_struct("WatchStream")
            .field("url", &self.url.as_ref().map(Url::as_str))
            .field("state", &state)
            .finish()
    }
}

impl Stream for WatchStream {
    type Item = Result<Response, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            match std::mem::replace(&mut self.state, State::Done) {
                State::Idle(watcher) => self.state = State::Asking(Box::pin(watcher.next())),
                State::Asking(mut next) => {
                    return match next.as_mut().poll(cx) {
                        Poll::Pending => {
                            self.state = State::Asking(next);
                            Poll::Pending
                        }
                        Poll::Ready((watcher, Ok(response))) => {
                            self.state = State::Idle(watcher);
                            Poll::Ready(Some(Ok(response)))
                        }
                        // An error is the last item.
                        Poll::Ready((_, Err(error))) => Poll::Ready(Some(Err(error))),
                    };
                }
                State::Failed(error) => return Poll::Ready(Some(Err(error))),
                State::Done => return Poll::Ready(None),
            }
        }
    }
}

/// A version of the resource, to tell a new one from the last yielded: its `ETag`, or
/// without one its body.
#[derive(Debug, PartialEq, Eq)]
enum Version {
    Tag(HeaderValue),
    Body(Bytes),
}

impl Version {
    fn of(response: &Response) -> Self {
        match response.headers().get(header::ETAG) {
            Some(tag) => Self::Tag(tag.clone()),
            None => Self::Body(response.bytes().clone()),
        }
    }
}

/// The state of a watch between requests.
struct Watcher {
    client: Client,
    url: Url,
    /// The fields of a request before the first item: without `Prefer`, answered at once.
    first: HeaderMap,
    /// The fields of the later requests: with `Prefer: wait=N`.
    waiting: HeaderMap,
    timeout: Duration,
    poll_interval: Duration,
    backoff: Backoff,
    /// The version last yielded.
    last: Option<Version>,
    /// When the next request may start.
    not_before: Option<Instant>,
    /// Transient failures in a row.
    failures: u32,
}

impl Watcher {
    async fn next(mut self: Box<Self>) -> (Box<Self>, Result<Response, Error>) {
        let item = self.next_item().await;
        (self, item)
    }

    /// The next version, or the error that ends the watch.
    async fn next_item(&mut self) -> Result<Response, Error> {
        loop {
            if let Some(at) = self.not_before.take() {
                tokio::time::sleep_until(at).await;
            }
            let started = Instant::now();
            let headers = if self.last.is_some() {
                &self.waiting
            } else {
                &self.first
            };
            let ask = Ask {
                revalidate: true,
                timeout: Some(self.timeout),
            };
            let read = match self.client.read_with(&self.url, headers, ask).await {
                Ok(read) => read,
                Err(error) if transient(&error) => {
                    self.failures = self.failures.saturating_add(1);
                    self.not_before = Some(Instant::now() + self.backoff.pause(self.failures));
                    continue;
                }
                Err(error) => return Err(error),
            };
            self.failures = 0;
            let version = Version::of(&read.response);
            if self.last.as_ref() != Some(&version) {
                self.last = Some(version);
                return Ok(read.response);
            }
            // The same version again: when the server waited for a change, ask again at
            // once (but not in a tight loop); when it did not, poll.
            let answered = read
                .not_modified
                .as_ref()
                .unwrap_or(read.response.headers());
            self.not_before = Some(if waited(answered) {
                started + MIN_ROUND
            } else {
                started + self.poll_interval.mul_f64(0.75 + fastrand::f64() / 4.0)
            });
        }
    }
}

/// Whether the server says it applied a `wait` preference of at least a second.
fn waited(headers: &HeaderMap) -> bool {
    headers
        .get_all(PREFERENCE_APPLIED)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|preference| {
            let (name, value) = preference.split_once('=')?;
            let value = value.split(';').next()?.trim().trim_matches('"');
            name.trim()
                .eq_ignore_ascii_case("wait")
                .then(|| value.parse::<u64>().ok())?
        })
        .any(|seconds| seconds > 0)
}

/// Whether asking again later may succeed: a lost connection or a timeout, a server error
/// other than 501 and 505, 408 or 429.
fn transient(error: &Error) -> bool {
    match error {
        Error::Http(error) => !error.is_builder() && !error.is_redirect(),
        Error::Status { status, .. } => {
            (status.is_server_error()
                && !matches!(
                    *status,
                    StatusCode::NOT_IMPLEMENTED | StatusCode::HTTP_VERSION_NOT_SUPPORTED
                ))
                || matches!(
                    *status,
                    StatusCode::REQUEST_TIMEOUT | StatusCode::TOO_MANY_REQUESTS
                )
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn applied(values: &[&'static str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(PREFERENCE_APPLIED, HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn only_a_wait_of_a_second_or_more_counts_as_waited() {
        assert!(waited(&applied(&["wait=60"])));
        assert!(waited(&applied(&["return=minimal, Wait = 5"])));
        assert!(waited(&applied(&["respond-async", "wait=\"3\""])));
        assert!(!waited(&applied(&[])));
        assert!(!waited(&applied(&["wait=0"])));
        assert!(!waited(&applied(&["wait"])));
        assert!(!waited(&applied(&["wait=soon"])));
        assert!(!waited(&applied(&["return=minimal"])));
        assert!(!waited(&applied(&["waiting=5"])));
    }

    #[test]
    fn server_errors_and_throttling_are_asked_again_other_refusals_are_not() {
        let status = |status| Error::Status {
            status,
            detail: String::new(),
        };
        for again in [500, 502, 503, 504, 408, 429] {
            let again = StatusCode::from_u16(again).expect("a status");
            assert!(transient(&status(again)), "{again}");
        }
        for refused in [400, 401, 403, 405, 406, 501, 505] {
            let refused = StatusCode::from_u16(refused).expect("a status");
            assert!(!transient(&status(refused)), "{refused}");
        }
        assert!(!transient(&Error::NotFound {
            status: StatusCode::GONE,
            detail: String::new(),
        }));
    }
}

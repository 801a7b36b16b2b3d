//! Wait for change: a conditional GET that answers the moment the resource changes.
//!
//! A client that must notice a change polls: each poll costs a request and a 304, and
//! between polls it is stale. Instead it can send the tag it has and say how long it is
//! willing to wait for a new one (`Prefer: wait`, RFC 7240 section 4.3):
//!
//! ```text
//! GET /products/17
//! If-None-Match: "41"
//! Prefer: wait=30
//! ```
//!
//! [`WaitLayer`](crate::layer::WaitLayer) holds such a request while its `If-None-Match`
//! matches, that is while the handler's answer is a 304:
//!
//! - when a write changes one of the 304's cache groups (see [`groups`](crate::groups)) it
//!   asks the handler again, and answers its 200 with the new representation and
//!   validators (or a 404 when the resource was deleted) as soon as that write has
//!   answered;
//! - when nothing changed within the wait, it answers the 304;
//! - either way with `Preference-Applied: wait=M`, the seconds it was willing to hold the
//!   request: the client's `N`, or the server's maximum when that is less. The wait
//!   itself ends a little earlier, by up to `M / 16`, at random, so that waiters that
//!   started together do not all come back together.
//!
//! Every other request answers at once, as without the layer and byte for byte the same:
//! one without `Prefer: wait` or without `If-None-Match` (an `If-Modified-Since` alone has
//! one-second resolution: two writes within a second would look like none, so a date is
//! never waited on), one whose tag does not match (200 at once, without
//! `Preference-Applied`), one whose answer has no cache groups (a model without
//! `#[versioned(group = ...)]`, a per-user or `private` response: nothing would wake it),
//! and any request while the server already holds its maximum number of waiters or is
//! shutting down. Those answer without `Preference-Applied`, which tells the client that
//! it was not held and should pause before it asks again. `HEAD` waits like `GET`.
//!
//! # Where the wake comes from
//!
//! [`Changes`] is the feed: the layer publishes into it the groups of every successful
//! write it passes (their `Cache-Group-Invalidation`), and each waiter sleeps on its own
//! groups only, with no polling. A write made by another process reaches this one through
//! [`Changes::publish`]: the example application sends the groups of each write with
//! PostgreSQL's `NOTIFY` and publishes what its `LISTEN` connection receives. A feed that
//! may have missed a change (that connection was lost and made again) calls
//! [`Changes::recheck`], and every waiter asks its handler again rather than sleeping on.
//!
//! A change can never be missed between the handler's answer and the waiter's sleep: the
//! feed numbers its changes, the waiter notes the number before asking the handler, and
//! goes to sleep only if no change to its groups was published after it.
//!
//! # Limits
//!
//! A waiter holds its connection. [`WaitLayer::max_waiters`](crate::layer::WaitLayer::max_waiters)
//! caps how many wait at once in a process (over the cap, requests answer at once); keep
//! it well below the server's connection cap, so that waiters never take the slots that
//! other requests need. A server's header-read and idle timeouts do not apply to a request
//! being handled, so they do not cut a waiter off; a proxy's read timeout does, and must be
//! above the maximum wait (`proxy_read_timeout` in nginx). On shutdown, call
//! [`Changes::close`] before draining connections: every waiter answers its 304 at once,
//! and no request waits after it.

use std::collections::{HashMap, VecDeque};
use std::future::Future as _;
use std::hash::{BuildHasher, Hasher, RandomState};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::Poll;
use std::time::Duration;

use http::header::HeaderName;
use http::{HeaderMap, HeaderValue};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::groups::CacheGroups;

/// `Prefer` (RFC 7240 section 2): the preferences of a request, `wait=N` among them.
///
/// # Examples
///
/// ```
/// use etag_runtime::wait::PREFER;
/// let req = http::Request::get("/products/17")
///     .header(http::header::IF_NONE_MATCH, r#""41""#)
///     .header(PREFER, "wait=30")
///     .body(())
///     .unwrap();
/// assert_eq!(req.headers()["prefer"], "wait=30");
/// ```
pub const PREFER: HeaderName = HeaderName::from_static("prefer");

/// `Preference-Applied` (RFC 7240 section 3): on a response, the preferences it honoured.
/// [`WaitLayer`](crate::layer::WaitLayer) sends `wait=M` on the answer to a request it held;
/// an answer without it was not held.
///
/// # Examples
///
/// ```
/// use etag_runtime::wait::PREFERENCE_APPLIED;
/// let res = http::Response::builder()
///     .status(304)
///     .header(PREFERENCE_APPLIED, "wait=30")
///     .body(())
///     .unwrap();
/// assert_eq!(res.headers()["preference-applied"], "wait=30");
/// ```
pub const PREFERENCE_APPLIED: HeaderName = HeaderName::from_static("preference-applied");

/// The changes of one process's resources, by cache group: what wakes the requests that
/// wait for a change.
///
/// Cheap to clone: clones share one feed. [`WaitLayer`](crate::layer::WaitLayer)
/// publishes the writes it sees; publish the others (another process's) yourself.
///
/// # Examples
///
/// ```
/// use etag_runtime::groups::CacheGroups;
/// use etag_runtime::wait::Changes;
///
/// let changes = Changes::new();
/// let mut groups = CacheGroups::new();
/// groups.add("product/17");
/// // A write elsewhere changed product 17: the requests waiting on it ask again.
/// changes.publish(&groups);
/// assert_eq!(changes.waiting(), 0);
/// ```
#[derive(Clone, Default)]
pub struct Changes {
    feed: Arc<Feed>,
}

impl std::fmt::Debug for Changes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Changes")
            .field("waiting", &self.waiting())
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Feed {
    state: Mutex<State>,
    /// Requests waiting now.
    waiting: AtomicUsize,
    closed: AtomicBool,
    close: Notify,
    /// Draws the jitter of each wait.
    draws: AtomicU64,
    seed: RandomState,
}

#[derive(Default)]
struct State {
    /// How many changes have been published.
    generation: u64,
    /// The groups someone waits on, each with what wakes its waiters.
    groups: HashMap<String, Arc<Notify>>,
    /// The last changes, newest last, each with its generation: what a waiter checks for
    /// a change published between noting the generation and going to sleep.
    recent: VecDeque<(u64, Change)>,
}

enum Change {
    Groups(CacheGroups),
    All,
}

impl State {
    /// How many changes [`State::recent`] keeps. A waiter falls behind them only when as
    /// many are published while its handler answers; it then asks again, needlessly but
    /// safely.
    const RECENT: usize = 256;

    fn push(&mut self, change: Change) -> u64 {
        self.generation += 1;
        if self.recent.len() == Self::RECENT {
            self.recent.pop_front();
        }
        self.recent.push_back((self.generation, change));
        self.generation
    }

    /// Whether a change to any of `groups` was published after generation `since`.
    fn changed_since(&self, since: u64, groups: &CacheGroups) -> bool {
        if since == self.generation {
            return false;
        }
        match self.recent.front() {
            // Changes after `since` fell out of the window: assume one was ours.
            Some(&(oldest, _)) if oldest > since + 1 => return true,
            None => return true,
            _ => {}
        }
        self.recent
            .iter()
            .rev()
            .take_while(|(generation, _)| *generation > since)
            .any(|(_, change)| match change {
                Change::All => true,
                Change::Groups(changed) => changed.iter().any(|g| groups.iter().any(|w| w == g)),
            })
    }
}

/// Why a wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Woke {
    /// One of its groups changed (or may have): ask the handler again.
    Changed,
    /// The deadline came.
    Deadline,
    /// The feed was closed.
    Closed,
}

impl Changes {
    /// A feed of its own, with nobody waiting.
    ///
    /// # Examples
    ///
    /// ```
    /// let changes = etag_runtime::wait::Changes::new();
    /// assert!(!changes.is_closed());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Wakes the requests waiting on any of `groups`: each asks its handler again, and
    /// answers if its representation changed. Call it for the changes made where
    /// [`WaitLayer`](crate::layer::WaitLayer) does not see them (another process, a
    /// background job), once they are durable.
    ///
    /// # Examples
    ///
    /// ```
    /// use etag_runtime::groups::CacheGroups;
    /// let changes = etag_runtime::wait::Changes::new();
    /// let mut groups = CacheGroups::new();
    /// groups.add("product");
    /// changes.publish(&groups);
    /// # assert_eq!(changes.waiting(), 0);
    /// ```
    pub fn publish(&self, groups: &CacheGroups) {
        if groups.is_empty() {
            return;
        }
        let mut state = self.feed.lock();
        state.push(Change::Groups(groups.clone()));
        for group in groups.iter() {
            if let Some(notify) = state.groups.get(group) {
                notify.notify_waiters();
            }
        }
    }

    /// Wakes every waiting request to ask its handler again: for a feed that may have
    /// missed changes, such as one whose connection to the database that relays other
    /// processes' writes was lost and made again. The requests whose representation did
    /// not change wait on.
    ///
    /// # Examples
    ///
    /// ```
    /// let changes = etag_runtime::wait::Changes::new();
    /// changes.recheck();
    /// assert!(!changes.is_closed());
    /// ```
    pub fn recheck(&self) {
        let mut state = self.feed.lock();
        state.push(Change::All);
        for notify in state.groups.values() {
            notify.notify_waiters();
        }
    }

    /// Ends every wait at once (each answers its 304) and holds no request from now on:
    /// call it when the server starts shutting down, so that no waiter keeps it past its
    /// deadline.
    ///
    /// # Examples
    ///
    /// ```
    /// let changes = etag_runtime::wait::Changes::new();
    /// changes.close();
    /// assert!(changes.is_closed());
    /// ```
    pub fn close(&self) {
        self.feed.closed.store(true, Ordering::SeqCst);
        self.feed.close.notify_waiters();
    }

    /// Whether [`close`](Self::close) was called.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!etag_runtime::wait::Changes::new().is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.feed.closed.load(Ordering::SeqCst)
    }

    /// How many requests wait now.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(etag_runtime::wait::Changes::new().waiting(), 0);
    /// ```
    pub fn waiting(&self) -> usize {
        self.feed.waiting.load(Ordering::Relaxed)
    }

    /// The number of the last change published: a waiter notes it before asking its
    /// handler.
    pub(crate) fn generation(&self) -> u64 {
        self.feed.lock().generation
    }

    /// A place among the waiters, unless `max` wait already or the feed is closed.
    pub(crate) fn enter(&self, max: usize) -> Option<Waiting> {
        if self.is_closed() {
            return None;
        }
        self.feed
            .waiting
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()?;
        Some(Waiting(self.feed.clone()))
    }

    /// `wait` shortened by a random part of up to a sixteenth.
    pub(crate) fn jitter(&self, wait: Duration) -> Duration {
        let mut hasher = self.feed.seed.build_hasher();
        hasher.write_u64(self.feed.draws.fetch_add(1, Ordering::Relaxed));
        let span = u64::try_from((wait / 16).as_nanos()).unwrap_or(u64::MAX);
        let off = hasher
            .finish()
            .checked_rem(span.saturating_add(1))
            .unwrap_or(0);
        wait.saturating_sub(Duration::from_nanos(off))
    }

    /// Sleeps until one of `groups` changes after generation `since`, `deadline` comes or
    /// the feed closes, whichever is first.
    pub(crate) async fn wait(&self, groups: &CacheGroups, since: u64, deadline: Instant) -> Woke {
        let close = self.feed.close.notified();
        if self.is_closed() {
            return Woke::Closed;
        }
        let subscription = Subscription::new(&self.feed, groups);
        // Each created before looking at the changes published so far: a change published
        // after that look wakes one of them.
        let mut wakes: Vec<_> = subscription
            .notifies
            .iter()
            .map(|(_, notify)| Box::pin(notify.notified()))
            .collect();
        if self.feed.lock().changed_since(since, groups) {
            return Woke::Changed;
        }
        let mut close = std::pin::pin!(close);
        let sleep = tokio::time::sleep_until(deadline);
        let mut sleep = std::pin::pin!(sleep);
        std::future::poll_fn(|cx| {
            if close.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Woke::Closed);
            }
            if wakes
                .iter_mut()
                .any(|wake| wake.as_mut().poll(cx).is_ready())
            {
                return Poll::Ready(Woke::Changed);
            }
            if sleep.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Woke::Deadline);
            }
            Poll::Pending
        })
        .await
    }
}

impl Feed {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A place among the waiters, given back when dropped.
#[derive(Debug)]
pub(crate) struct Waiting(Arc<Feed>);

impl std::fmt::Debug for Feed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Feed")
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A waiter's groups in the feed, taken out again when it stops waiting and no one else
/// waits on them.
struct Subscription<'a> {
    feed: &'a Feed,
    notifies: Vec<(String, Arc<Notify>)>,
}

impl<'a> Subscription<'a> {
    fn new(feed: &'a Feed, groups: &CacheGroups) -> Self {
        let mut state = feed.lock();
        let notifies = groups
            .iter()
            .map(|group| {
                let notify = state.groups.entry(group.to_owned()).or_default().clone();
                (group.to_owned(), notify)
            })
            .collect();
        Self { feed, notifies }
    }
}

impl Drop for Subscription<'_> {
    fn drop(&mut self) {
        let mut state = self.feed.lock();
        for (group, notify) in self.notifies.drain(..) {
            // The map's and this one: nobody else waits on the group.
            if Arc::strong_count(&notify) == 2 {
                state.groups.remove(&group);
            }
        }
    }
}

/// The `wait` preference of a request (RFC 7240 section 4.3): its seconds, if it has one
/// that is a valid `delta-seconds` above zero. The first `wait` counts (section 2); the
/// preference name is case-insensitive, its value may be quoted, and parameters after `;`
/// are ignored.
pub(crate) fn preferred_wait(headers: &HeaderMap) -> Option<Duration> {
    for value in headers.get_all(PREFER) {
        let Ok(value) = value.to_str() else { continue };
        for preference in split_list(value) {
            let preference = preference.split(';').next().unwrap_or("").trim();
            let (name, value) = match preference.split_once('=') {
                Some((name, value)) => (name.trim(), Some(value.trim())),
                None => (preference, None),
            };
            if !name.eq_ignore_ascii_case("wait") {
                continue;
            }
            let value = value?;
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value);
            if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            // A number too large for u64 is a very long wait: the server's maximum.
            let seconds = value.parse::<u64>().unwrap_or(u64::MAX);
            return (seconds > 0).then(|| Duration::from_secs(seconds));
        }
    }
    None
}

/// The members of a comma-separated list, commas inside quoted strings kept.
fn split_list(value: &str) -> impl Iterator<Item = &str> {
    let mut rest = value;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut quoted = false;
        let mut escaped = false;
        let mut end = rest.len();
        for (i, b) in rest.bytes().enumerate() {
            match b {
                _ if escaped => escaped = false,
                b'\\' if quoted => escaped = true,
                b'"' => quoted = !quoted,
                b',' if !quoted => {
                    end = i;
                    break;
                }
                _ => {}
            }
        }
        let member = &rest[..end];
        rest = rest.get(end + 1..).unwrap_or("");
        Some(member.trim())
    })
    .filter(|member| !member.is_empty())
}

/// `Preference-Applied: wait=M`, `M` the seconds of `wait` rounded up: a wait of part of a
/// second was applied, and `wait=0` would say that none was.
pub(crate) fn applied(wait: Duration) -> HeaderValue {
    let mut buf = itoa::Buffer::new();
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let value = format!("wait={}", buf.format(seconds));
    HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static("wait"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefer(values: &[&str]) -> Option<Duration> {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(PREFER, HeaderValue::from_str(v).unwrap());
        }
        preferred_wait(&headers)
    }

    /// RFC 7240 sections 2 and 4.3: the `wait` preference, its forms and its first
    /// occurrence.
    #[test]
    fn rfc7240_4_3_wait_preference_is_read_as_the_rfc_writes_it() {
        let s = Duration::from_secs;
        assert_eq!(prefer(&["wait=10"]), Some(s(10)));
        assert_eq!(prefer(&["WAIT = 10"]), Some(s(10)));
        assert_eq!(prefer(&["wait=\"7\""]), Some(s(7)));
        assert_eq!(prefer(&["respond-async, wait=5"]), Some(s(5)));
        assert_eq!(
            prefer(&["return=minimal", "wait=3;foo=\"a,b\""]),
            Some(s(3))
        );
        assert_eq!(prefer(&["foo=\"x, wait=9\", wait=4"]), Some(s(4)));
        // The first occurrence counts (section 2).
        assert_eq!(prefer(&["wait=2, wait=9"]), Some(s(2)));
        assert_eq!(prefer(&["wait=2", "wait=9"]), Some(s(2)));
        assert_eq!(prefer(&["wait=99999999999999999999999"]), Some(s(u64::MAX)));
        for none in [
            "",
            "wait",
            "wait=",
            "wait=-1",
            "wait=1.5",
            "wait=0",
            "wait=abc",
            "waiting=3",
        ] {
            assert_eq!(prefer(&[none]), None, "{none:?}");
        }
        assert_eq!(prefer(&[]), None);
    }

    #[test]
    fn applied_names_whole_seconds_never_zero() {
        assert_eq!(applied(Duration::from_millis(2_500)), "wait=3");
        assert_eq!(applied(Duration::from_millis(300)), "wait=1");
        assert_eq!(applied(Duration::from_secs(60)), "wait=60");
    }

    #[test]
    fn jitter_stays_within_a_sixteenth() {
        let changes = Changes::new();
        let wait = Duration::from_secs(16);
        let draws: Vec<_> = (0..200).map(|_| changes.jitter(wait)).collect();
        assert!(
            draws
                .iter()
                .all(|d| *d <= wait && *d >= wait - Duration::from_secs(1))
        );
        assert!(draws.iter().any(|d| *d != draws[0]), "the jitter varies");
    }

    fn groups(names: &[&str]) -> CacheGroups {
        let mut groups = CacheGroups::new();
        for name in names {
            groups.add(name);
        }
        groups
    }

    #[tokio::test(start_paused = true)]
    async fn a_change_published_before_the_wait_is_not_missed() {
        let changes = Changes::new();
        let since = changes.generation();
        changes.publish(&groups(&["other"]));
        changes.publish(&groups(&["product/1"]));
        let deadline = Instant::now() + Duration::from_secs(5);
        assert_eq!(
            changes.wait(&groups(&["product/1"]), since, deadline).await,
            Woke::Changed
        );
        let since = changes.generation();
        changes.publish(&groups(&["other"]));
        assert_eq!(
            changes.wait(&groups(&["product/1"]), since, deadline).await,
            Woke::Deadline
        );
        // The groups are taken out of the feed once nobody waits on them.
        assert!(changes.feed.lock().groups.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiter_far_behind_asks_again() {
        let changes = Changes::new();
        let since = changes.generation();
        for _ in 0..State::RECENT + 1 {
            changes.publish(&groups(&["other"]));
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        assert_eq!(
            changes.wait(&groups(&["mine"]), since, deadline).await,
            Woke::Changed
        );
    }

    #[tokio::test]
    async fn publish_recheck_and_close_wake_waiters() {
        let changes = Changes::new();
        let far = Instant::now() + Duration::from_secs(60);
        for wake in [0, 1, 2] {
            let since = changes.generation();
            let waiter = {
                let changes = changes.clone();
                tokio::spawn(async move { changes.wait(&groups(&["a", "b"]), since, far).await })
            };
            // Let it go to sleep.
            while changes.feed.lock().groups.len() < 2 {
                tokio::task::yield_now().await;
            }
            match wake {
                0 => changes.publish(&groups(&["b"])),
                1 => changes.recheck(),
                _ => changes.close(),
            }
            let woke = waiter.await.unwrap();
            assert_eq!(woke, [Woke::Changed, Woke::Changed, Woke::Closed][wake]);
        }
        assert!(changes.enter(10).is_none(), "a closed feed takes no waiter");
    }

    #[test]
    fn enter_caps_the_waiters() {
        let changes = Changes::new();
        let first = changes.enter(2).unwrap();
        let second = changes.enter(2).unwrap();
        assert!(changes.enter(2).is_none());
        assert_eq!(changes.waiting(), 2);
        drop((first, second));
        assert_eq!(changes.waiting(), 0);
    }
}

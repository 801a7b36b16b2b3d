//! The store: which answers may become stored copies (RFC 9111), kept bounded.
//!
//! One copy per URL, bounded in entries and in bytes, the least recently used out first.
//!
//! Every change is a compare-and-set against what the request that causes it saw when it
//! started ([`Seen`]): an answer that arrives after another request already replaced the
//! copy does not overwrite it with one that may be older.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::StatusCode;
use http::header::{self, HeaderMap, HeaderValue};
use http_cache_semantics::{CacheOptions, CachePolicy};
use reqwest::Url;

use crate::answer::Answer;
use crate::{Client, Response, Source};

/// A stored response: what may be reused, and what it is.
#[derive(Debug)]
pub(crate) struct Entry {
    /// What RFC 9111 allows for it: freshness, Vary, the validators to revalidate with.
    pub(crate) policy: CachePolicy,
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Entry {
    /// What the entry counts against the byte limit: its key, header fields and body.
    fn size(&self, key: &str) -> usize {
        let headers: usize = self
            .headers
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len())
            .sum();
        key.len() + headers + self.body.len()
    }
}

/// The state of one URL's slot when a request started: the generation of its entry, or
/// none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Seen(Option<u64>);

/// Limits of a [`Store`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) entries: usize,
    pub(crate) bytes: usize,
}

#[derive(Debug)]
struct Slot {
    entry: Arc<Entry>,
    generation: u64,
    /// The last use: the key of this slot in `Store::recency`.
    used: u64,
    size: usize,
}

/// The stored copies of one client.
#[derive(Debug)]
pub(crate) struct Store {
    limits: Limits,
    slots: HashMap<String, Slot>,
    /// Slots by last use, oldest first.
    recency: BTreeMap<u64, String>,
    /// Increases on every use and every store.
    clock: u64,
    bytes: usize,
}

impl Store {
    pub(crate) fn new(limits: Limits) -> Self {
        Self {
            limits,
            slots: HashMap::new(),
            recency: BTreeMap::new(),
            clock: 0,
            bytes: 0,
        }
    }

    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    /// The entry for `key`, marked as just used, and the slot's state.
    pub(crate) fn get(&mut self, key: &str) -> (Seen, Option<Arc<Entry>>) {
        let now = self.tick();
        let Some(slot) = self.slots.get_mut(key) else {
            return (Seen(None), None);
        };
        self.recency.remove(&slot.used);
        slot.used = now;
        self.recency.insert(now, key.to_owned());
        (Seen(Some(slot.generation)), Some(Arc::clone(&slot.entry)))
    }

    /// The slot's state, without marking it as used.
    pub(crate) fn seen(&self, key: &str) -> Seen {
        Seen(self.slots.get(key).map(|slot| slot.generation))
    }

    /// Puts `entry` in `key`'s slot, or empties it for `None`, if the slot is still as
    /// `seen`; returns the slot's new state, or `seen` unchanged when the slot had changed
    /// (then a later `replace` with that state does nothing either).
    pub(crate) fn replace(&mut self, key: &str, seen: Seen, entry: Option<Entry>) -> Seen {
        if self.seen(key) != seen {
            return seen;
        }
        self.remove(key);
        let Some(entry) = entry else {
            return Seen(None);
        };
        let size = entry.size(key);
        if self.limits.entries == 0 || size > self.limits.bytes {
            return Seen(None);
        }
        let generation = self.tick();
        self.slots.insert(
            key.to_owned(),
            Slot {
                entry: Arc::new(entry),
                generation,
                used: generation,
                size,
            },
        );
        self.recency.insert(generation, key.to_owned());
        self.bytes += size;
        self.evict();
        Seen(Some(generation))
    }

    /// Empties `key`'s slot, whatever is in it.
    pub(crate) fn remove(&mut self, key: &str) {
        if let Some(slot) = self.slots.remove(key) {
            self.recency.remove(&slot.used);
            self.bytes -= slot.size;
        }
    }

    /// Removes the least recently used entries until both limits hold. The newest entry
    /// fits alone (`replace` checks), so it is never the one removed.
    fn evict(&mut self) {
        while self.slots.len() > self.limits.entries || self.bytes > self.limits.bytes {
            let Some((_, key)) = self.recency.pop_first() else {
                return;
            };
            if let Some(slot) = self.slots.remove(&key) {
                self.bytes -= slot.size;
            }
        }
    }
}

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

impl Client {
    /// A successful write's answer: the stored copy if it is the new representation, else
    /// no copy at all (RFC 9111 section 4.4: a write invalidates what was stored).
    pub(crate) fn written(
        &self,
        url: &Url,
        headers: &HeaderMap,
        seen: Seen,
        answer: Answer,
    ) -> Response {
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

/// A GET of `url` with `headers`, as the store's policy needs it; `None` for a URL that is
/// not a valid request target (then nothing is stored for it).
pub(crate) fn request_parts(url: &Url, headers: &HeaderMap) -> Option<http::request::Parts> {
    let (mut parts, ()) = http::Request::get(url.as_str()).body(()).ok()?.into_parts();
    parts.headers = headers.clone();
    Some(parts)
}

pub(crate) fn response_parts(status: StatusCode, headers: HeaderMap) -> http::response::Parts {
    let (mut parts, ()) = http::Response::new(()).into_parts();
    parts.status = status;
    parts.headers = headers;
    parts
}

/// The entry for a 200 to `request`, if RFC 9111 allows storing it and it carries a
/// validator to revalidate with.
pub(crate) fn stored_entry(
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

impl Entry {
    /// The stored response, as an answer from `source`.
    pub(crate) fn response(&self, source: Source) -> Response {
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

    fn entry(body: &'static [u8]) -> Entry {
        let request = http::Request::get("http://127.0.0.1/").body(()).unwrap();
        let response = http::Response::builder()
            .header("etag", "\"1\"")
            .body(())
            .unwrap();
        Entry {
            policy: CachePolicy::new(&request, &response),
            status: StatusCode::OK,
            headers: HeaderMap::new(),
            body: Bytes::from_static(body),
        }
    }

    fn store(entries: usize, bytes: usize) -> Store {
        Store::new(Limits { entries, bytes })
    }

    fn put(store: &mut Store, key: &str, body: &'static [u8]) -> Seen {
        let seen = store.seen(key);
        store.replace(key, seen, Some(entry(body)))
    }

    fn keys(store: &Store) -> Vec<&str> {
        let mut keys: Vec<&str> = store.slots.keys().map(String::as_str).collect();
        keys.sort_unstable();
        keys
    }

    #[test]
    fn the_least_recently_used_goes_first() {
        let mut s = store(2, 1000);
        put(&mut s, "a", b"1");
        put(&mut s, "b", b"2");
        s.get("a");
        put(&mut s, "c", b"3");
        assert_eq!(keys(&s), ["a", "c"]);
    }

    #[test]
    fn bytes_are_bounded_and_counted_back() {
        // Each entry: a one-byte key and a ten-byte body.
        let mut s = store(100, 25);
        put(&mut s, "a", b"0123456789");
        put(&mut s, "b", b"0123456789");
        assert_eq!(s.bytes, 22);
        put(&mut s, "c", b"0123456789");
        assert_eq!(keys(&s), ["b", "c"]);
        assert_eq!(s.bytes, 22);
        // Replacing an entry counts the new size only.
        put(&mut s, "c", b"01234");
        assert_eq!(s.bytes, 17);
        s.remove("b");
        assert_eq!(s.bytes, 6);
        assert_eq!(s.recency.len(), 1);
    }

    #[test]
    fn an_entry_over_the_byte_limit_is_not_stored_and_empties_its_slot() {
        let mut s = store(100, 8);
        put(&mut s, "a", b"1");
        put(&mut s, "a", b"0123456789");
        assert!(keys(&s).is_empty());
        assert_eq!(s.bytes, 0);
        let mut none = store(0, 1000);
        put(&mut none, "a", b"1");
        assert!(keys(&none).is_empty());
    }

    #[test]
    fn a_replace_after_another_change_does_nothing() {
        let mut s = store(10, 1000);
        let (empty, _) = s.get("a");
        let mine = put(&mut s, "a", b"mine");
        // An answer to a request that started before "mine" was stored.
        assert_eq!(s.replace("a", empty, Some(entry(b"older"))), empty);
        assert_eq!(&s.get("a").1.unwrap().body[..], b"mine");
        assert_eq!(s.replace("a", empty, None), empty);
        assert_eq!(keys(&s), ["a"]);
        // The state a stored answer returns lets the next step go on.
        assert_eq!(s.replace("a", mine, None), Seen(None));
        assert!(keys(&s).is_empty());
    }
}

//! The request's preconditions and their evaluation (RFC 9110 section 13.2.2).

use std::time::SystemTime;

use http::header::{
    IF_MATCH, IF_MODIFIED_SINCE, IF_NONE_MATCH, IF_RANGE, IF_UNMODIFIED_SINCE, RANGE,
};
use http::{HeaderMap, HeaderValue, Method};

use crate::ETag;
use crate::date::{not_after, parse_http_date, truncate};
use crate::list::TagList;

/// The validators of a resource's current representation: an entity tag, a
/// last-modification time, or both.
///
/// # Examples
///
/// ```
/// use std::time::SystemTime;
/// use etag_runtime::{ETag, Validators};
///
/// let v = Validators::new()
///     .with_etag(ETag::from_version(&3_u64))
///     .with_last_modified(SystemTime::UNIX_EPOCH);
/// assert_eq!(v.etag().unwrap().to_string(), "\"3\"");
/// assert!(v.last_modified().is_some());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    etag: Option<ETag>,
    last_modified: Option<SystemTime>,
}

impl Validators {
    /// No validators yet.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(etag_runtime::Validators::new().etag().is_none());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the entity tag.
    ///
    /// # Examples
    ///
    /// ```
    /// let v = etag_runtime::Validators::new().with_etag(etag_runtime::ETag::from_version(&1_u8));
    /// assert!(v.etag().is_some());
    /// ```
    #[must_use]
    pub fn with_etag(mut self, etag: ETag) -> Self {
        self.etag = Some(etag);
        self
    }

    /// Sets the last-modification time (kept at full precision; compared and sent at the second).
    ///
    /// # Examples
    ///
    /// ```
    /// let v = etag_runtime::Validators::new().with_last_modified(std::time::SystemTime::UNIX_EPOCH);
    /// assert!(v.last_modified().is_some());
    /// ```
    #[must_use]
    pub fn with_last_modified(mut self, time: SystemTime) -> Self {
        self.last_modified = Some(time);
        self
    }

    /// Sets the last-modification time if there is one.
    ///
    /// # Examples
    ///
    /// ```
    /// let v = etag_runtime::Validators::new().with_last_modified_opt(None);
    /// assert!(v.last_modified().is_none());
    /// ```
    #[must_use]
    pub fn with_last_modified_opt(mut self, time: Option<SystemTime>) -> Self {
        self.last_modified = time;
        self
    }

    /// The entity tag, if any.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(etag_runtime::Validators::new().etag(), None);
    /// ```
    pub fn etag(&self) -> Option<&ETag> {
        self.etag.as_ref()
    }

    /// The last-modification time, if any, at full precision.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(etag_runtime::Validators::new().last_modified(), None);
    /// ```
    pub fn last_modified(&self) -> Option<SystemTime> {
        self.last_modified
    }

    /// The same validators with a weak entity tag.
    ///
    /// # Examples
    ///
    /// ```
    /// use etag_runtime::{ETag, Validators};
    ///
    /// let v = Validators::new().with_etag(ETag::from_version(&1_u8)).into_weak();
    /// assert!(v.etag().unwrap().is_weak());
    /// ```
    #[must_use]
    pub fn into_weak(mut self) -> Self {
        self.etag = self.etag.map(ETag::into_weak);
        self
    }

    /// Writes `ETag` and `Last-Modified` (truncated to the second) into `headers`,
    /// replacing what was there.
    ///
    /// # Examples
    ///
    /// ```
    /// use etag_runtime::{ETag, Validators};
    /// use http::HeaderMap;
    ///
    /// let mut headers = HeaderMap::new();
    /// Validators::new().with_etag(ETag::from_version(&1_u8)).write_headers(&mut headers);
    /// assert_eq!(headers["etag"], "\"1\"");
    /// ```
    pub fn write_headers(self, headers: &mut HeaderMap) {
        if let Some(etag) = self.etag {
            headers.insert(http::header::ETAG, etag.into_header_value());
        }
        if let Some(time) = self.last_modified {
            headers.insert(http::header::LAST_MODIFIED, crate::http_date_header(time));
        }
    }
}

/// What the request may do next, as decided by [`Conditions::evaluate`].
///
/// # Examples
///
/// ```
/// use etag_runtime::{Conditions, ETag, Outcome, Validators};
/// use http::{HeaderMap, Method};
///
/// let mut headers = HeaderMap::new();
/// headers.insert("if-none-match", "W/\"7\"".parse().unwrap());
/// let conditions = Conditions::from_headers(&Method::GET, &headers);
/// let current = Validators::new().with_etag(ETag::from_version(&7_i64));
/// assert_eq!(conditions.evaluate(Some(&current)), Outcome::NotModified);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Perform the method. `honor_range` is true when the request has a `Range` that may be
    /// served as ranges: a GET with no `If-Range`, or with an `If-Range` that holds.
    Proceed {
        /// Whether a `Range` header may be honoured (RFC 9110 section 13.1.5).
        honor_range: bool,
    },
    /// Answer 304 Not Modified (GET and HEAD only).
    NotModified,
    /// Answer 412 Precondition Failed.
    PreconditionFailed,
}

impl Outcome {
    /// Whether the method may be performed.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!etag_runtime::Outcome::NotModified.is_proceed());
    /// ```
    pub fn is_proceed(self) -> bool {
        matches!(self, Self::Proceed { .. })
    }
}

/// The preconditions of one request: its method and its conditional header fields, parsed.
///
/// Building it never fails. Absent fields are `None`; an invalid date is ignored as RFC 9110
/// sections 13.1.3 and 13.1.4 require; a malformed entity-tag list matches nothing. Header
/// values are kept by reference count, not copied.
///
/// In an axum handler, take it as an extractor: it never rejects.
///
/// # Examples
///
/// ```
/// use etag_runtime::Conditions;
/// use http::{HeaderMap, Method};
///
/// let mut headers = HeaderMap::new();
/// headers.insert("if-match", "\"7\"".parse().unwrap());
/// headers.insert("if-modified-since", "not a date".parse().unwrap());
/// let c = Conditions::from_headers(&Method::PUT, &headers);
/// assert!(c.if_match().is_some());
/// assert!(c.if_modified_since().is_none());
/// assert!(c.is_conditional());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Conditions {
    method: Method,
    if_match: Option<TagList>,
    if_none_match: Option<TagList>,
    if_modified_since: Option<SystemTime>,
    if_unmodified_since: Option<SystemTime>,
    /// `None`: absent. `Some(None)`: present but not one line, which holds for nothing.
    if_range: Option<Option<HeaderValue>>,
    has_range: bool,
}

fn tag_list(headers: &HeaderMap, name: http::HeaderName) -> Option<TagList> {
    let mut lines = headers.get_all(name).iter().peekable();
    lines.peek()?;
    Some(TagList::from_lines(lines))
}

/// Up to how many distinct field names [`Conditions::from_headers`] scans the map.
const SCAN_LIMIT: usize = 16;

/// The lines of one field met while scanning a header map, in order.
#[derive(Default)]
struct LineCollector<'a> {
    first: Option<&'a HeaderValue>,
    rest: Vec<&'a HeaderValue>,
}

impl<'a> LineCollector<'a> {
    fn push(&mut self, value: &'a HeaderValue) {
        if self.first.is_none() {
            self.first = Some(value);
        } else {
            self.rest.push(value);
        }
    }

    fn into_list(self) -> Option<TagList> {
        let first = self.first?;
        Some(TagList::from_lines(std::iter::once(first).chain(self.rest)))
    }

    /// The field's value if it has exactly one line.
    fn single(&self) -> Option<&'a HeaderValue> {
        if self.rest.is_empty() {
            self.first
        } else {
            None
        }
    }
}

/// A date field is valid only as exactly one line holding one HTTP-date.
fn date(headers: &HeaderMap, name: http::HeaderName) -> Option<SystemTime> {
    let mut lines = headers.get_all(name).iter();
    let first = lines.next()?;
    if lines.next().is_some() {
        return None;
    }
    parse_http_date(first.as_bytes())
}

impl Conditions {
    /// Reads the conditional fields of a request.
    ///
    /// # Examples
    ///
    /// ```
    /// use etag_runtime::Conditions;
    /// use http::{HeaderMap, Method};
    ///
    /// let c = Conditions::from_headers(&Method::GET, &HeaderMap::new());
    /// assert!(!c.is_conditional());
    /// ```
    pub fn from_headers(method: &Method, headers: &HeaderMap) -> Self {
        // A request has a handful of fields: one pass over them beats six look-ups. A large
        // map is searched by name instead, so the cost never grows with unrelated fields.
        if headers.keys_len() <= SCAN_LIMIT {
            return Self::scan(method, headers);
        }
        Self::look_up(method, headers)
    }

    /// Reads the fields by looking each one up.
    fn look_up(method: &Method, headers: &HeaderMap) -> Self {
        Self {
            method: method.clone(),
            if_match: tag_list(headers, IF_MATCH),
            if_none_match: tag_list(headers, IF_NONE_MATCH),
            if_modified_since: date(headers, IF_MODIFIED_SINCE),
            if_unmodified_since: date(headers, IF_UNMODIFIED_SINCE),
            if_range: {
                let mut lines = headers.get_all(IF_RANGE).iter();
                match (lines.next(), lines.next()) {
                    (None, _) => None,
                    (Some(one), None) => Some(Some(one.clone())),
                    (Some(_), Some(_)) => Some(None),
                }
            },
            has_range: headers.contains_key(RANGE),
        }
    }

    /// Reads the fields in one pass over the map; the same result as [`Self::look_up`].
    fn scan(method: &Method, headers: &HeaderMap) -> Self {
        let mut if_match = LineCollector::default();
        let mut if_none_match = LineCollector::default();
        let mut if_modified_since = LineCollector::default();
        let mut if_unmodified_since = LineCollector::default();
        let mut if_range = LineCollector::default();
        let mut has_range = false;
        for (name, value) in headers {
            let collector = if name == IF_MATCH {
                &mut if_match
            } else if name == IF_NONE_MATCH {
                &mut if_none_match
            } else if name == IF_MODIFIED_SINCE {
                &mut if_modified_since
            } else if name == IF_UNMODIFIED_SINCE {
                &mut if_unmodified_since
            } else if name == IF_RANGE {
                &mut if_range
            } else {
                has_range |= name == RANGE;
                continue;
            };
            collector.push(value);
        }
        Self {
            method: method.clone(),
            if_match: if_match.into_list(),
            if_none_match: if_none_match.into_list(),
            if_modified_since: if_modified_since
                .single()
                .and_then(|v| parse_http_date(v.as_bytes())),
            if_unmodified_since: if_unmodified_since
                .single()
                .and_then(|v| parse_http_date(v.as_bytes())),
            if_range: if_range.first.map(|_| if_range.single().cloned()),
            has_range,
        }
    }

    /// Reads the conditional fields of a request's head.
    ///
    /// # Examples
    ///
    /// ```
    /// use etag_runtime::Conditions;
    ///
    /// let (parts, ()) = http::Request::get("/").header("if-none-match", "*").body(()).unwrap().into_parts();
    /// assert!(Conditions::from_parts(&parts).if_none_match().unwrap().is_any());
    /// ```
    pub fn from_parts(parts: &http::request::Parts) -> Self {
        Self::from_headers(&parts.method, &parts.headers)
    }

    /// The request method.
    ///
    /// # Examples
    ///
    /// ```
    /// use etag_runtime::Conditions;
    /// use http::{HeaderMap, Method};
    ///
    /// assert_eq!(Conditions::from_headers(&Method::HEAD, &HeaderMap::new()).method(), Method::HEAD);
    /// ```
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The `If-Match` list, if the field is present (even empty).
    ///
    /// # Examples
    ///
    /// ```
    /// use etag_runtime::Conditions;
    /// use http::{HeaderMap, Method};
    ///
    /// assert!(Conditions::from_headers(&Method::PUT, &HeaderMap::new()).if_match().is_none());
    /// ```
    pub fn if_match(&self) -> Option<&TagList> {
        self.if_match.as_ref()
    }

    /// The `If-None-Match` list, if the field is present (even empty).
    ///
    /// # Examples
    ///
    /// ```
    /// use etag_runtime::Conditions;
    /// use http::{HeaderMap, Method};
    ///
    /// let mut h = HeaderMap::new();
    /// h.insert("if-none-match", "".parse().unwrap());
    /// assert!(Conditions::from_headers(&Method::GET, &h).if_none_match().is_some());
    /// ```
    pub fn if_none_match(&self) -> Option<&TagList> {
        self.if_none_match.as_ref()
    }

    /// The `If-Modified-Since` date, if present and valid.
    ///
    /// # Examples
    ///
    /// ```
    /// use etag_runtime::Conditions;
    /// use http::{HeaderMap, Method};
    ///
    /// let mut h = HeaderMap::new();
    /// h.insert("if-modified-since", "Sun, 06 Nov 1994 08:49:37 GMT".parse().unwrap());
    /// assert!(Conditions::from_headers(&Method::GET, &h).if_modified_since().is_some());
    /// ```
    pub fn if_modified_since(&self) -> Option<SystemTime> {
        self.if_modified_since
    }

    /// The `If-Unmodified-Since` date, if present and valid.
    ///
    /// # Examples
    ///
    /// ```
    /// use etag_runtime::Conditions;
    /// use http::{HeaderMap, Method};
    ///
    /// assert!(Conditions::from_headers(&Method::PUT, &HeaderMap::new()).if_unmodified_since().is_none());
    /// ```
    pub fn if_unmodified_since(&self) -> Option<SystemTime> {
        self.if_unmodified_since
    }

    /// Whether the request has any precondition that [`evaluate`](Self::evaluate) acts on.
    ///
    /// # Examples
    ///
    /// ```
    /// use etag_runtime::Conditions;
    /// use http::{HeaderMap, Method};
    ///
    /// assert!(!Conditions::from_headers(&Method::GET, &HeaderMap::new()).is_conditional());
    /// ```
    pub fn is_conditional(&self) -> bool {
        self.if_match.is_some()
            || self.if_none_match.is_some()
            || self.if_modified_since.is_some()
            || self.if_unmodified_since.is_some()
            || (self.has_range && self.if_range.is_some())
    }

    /// Whether the request carries a precondition that protects a write from a lost
    /// update: `If-Match`, a valid `If-Unmodified-Since`, or `If-None-Match: *`
    /// (RFC 6585 section 3, 428 Precondition Required).
    ///
    /// # Examples
    ///
    /// ```
    /// use etag_runtime::Conditions;
    /// use http::{HeaderMap, Method};
    ///
    /// let mut h = HeaderMap::new();
    /// h.insert("if-none-match", "*".parse().unwrap());
    /// assert!(Conditions::from_headers(&Method::PUT, &h).protects_write());
    /// h.insert("if-none-match", "\"1\"".parse().unwrap());
    /// assert!(!Conditions::from_headers(&Method::PUT, &h).protects_write());
    /// ```
    pub fn protects_write(&self) -> bool {
        self.if_match.is_some()
            || self.if_unmodified_since.is_some()
            || self.if_none_match.as_ref().is_some_and(TagList::is_any)
    }

    /// Whether the method is GET or HEAD, the methods that get 304 rather than 412.
    fn is_get_or_head(&self) -> bool {
        self.method == Method::GET || self.method == Method::HEAD
    }

    /// Evaluates the preconditions against the current state of the target resource, in
    /// the order of RFC 9110 section 13.2.2. `current` is `None` when the resource has no
    /// current representation.
    ///
    /// 1. `If-Match`: `*` holds when the resource exists; otherwise some member must
    ///    strong-match the current tag. If it fails: 412.
    /// 2. `If-Unmodified-Since`, only without `If-Match`, and ignored when the resource has
    ///    no modification time: fails when the resource changed after the date: 412.
    /// 3. `If-None-Match`: `*` fails when the resource exists; otherwise it fails when
    ///    some member weak-matches. If it fails: 304 for GET and HEAD, 412 for others.
    /// 4. `If-Modified-Since`, only without `If-None-Match` and only for GET and HEAD: fails
    ///    when the resource has not changed after the date: 304.
    /// 5. `If-Range` (GET with `Range` only): decides whether the range may be honoured.
    ///
    /// The caller is responsible for RFC 9110 section 13.2.1: preconditions are only
    /// evaluated when the response without them would be 2xx or 412.
    ///
    /// # Examples
    ///
    /// ```
    /// use etag_runtime::{Conditions, ETag, Outcome, Validators};
    /// use http::{HeaderMap, Method};
    ///
    /// let mut h = HeaderMap::new();
    /// h.insert("if-match", "\"6\"".parse().unwrap());
    /// let current = Validators::new().with_etag(ETag::from_version(&7_i64));
    /// let put = Conditions::from_headers(&Method::PUT, &h);
    /// assert_eq!(put.evaluate(Some(&current)), Outcome::PreconditionFailed);
    /// ```
    pub fn evaluate(&self, current: Option<&Validators>) -> Outcome {
        let etag = current.and_then(Validators::etag);
        let modified = current.and_then(Validators::last_modified);

        // Step 1 and 2.
        if let Some(list) = &self.if_match {
            let holds = current.is_some() && list.holds_for(etag, true);
            if !holds {
                return Outcome::PreconditionFailed;
            }
        } else if let (Some(date), Some(modified)) = (self.if_unmodified_since, modified) {
            if !not_after(modified, date) {
                return Outcome::PreconditionFailed;
            }
        }

        // Step 3 and 4.
        if let Some(list) = &self.if_none_match {
            let matched = current.is_some() && list.holds_for(etag, false);
            if matched {
                return if self.is_get_or_head() {
                    Outcome::NotModified
                } else {
                    Outcome::PreconditionFailed
                };
            }
        } else if self.is_get_or_head() {
            if let (Some(date), Some(modified)) = (self.if_modified_since, modified) {
                if not_after(modified, date) {
                    return Outcome::NotModified;
                }
            }
        }

        // Step 5.
        let honor_range =
            self.has_range && self.method == Method::GET && self.if_range_holds(current);
        Outcome::Proceed { honor_range }
    }

    /// RFC 9110 section 13.1.5: an entity-tag must strong-match; a date must equal the
    /// Last-Modified exactly (at the second). Anything else sends the whole representation.
    fn if_range_holds(&self, current: Option<&Validators>) -> bool {
        let Some(value) = &self.if_range else {
            return true;
        };
        let (Some(value), Some(current)) = (value, current) else {
            return false;
        };
        let raw = crate::etag::trim_ows(value.as_bytes());
        if raw.first() == Some(&b'"') || raw.starts_with(b"W/") {
            return match (ETag::from_bytes_exact(raw), current.etag()) {
                (Ok(sent), Some(tag)) => sent.strong_eq(tag),
                _ => false,
            };
        }
        match (parse_http_date(raw), current.last_modified()) {
            (Some(date), Some(modified)) => truncate(modified) == date,
            _ => false,
        }
    }

    /// The version a client expects, read from the first strong `If-Match` tag that is an
    /// encoding of a `V` (see [`ETag::from_version`]).
    ///
    /// With it a handler can make the check and the write one atomic statement:
    /// `UPDATE ... SET version = version + 1 WHERE id = $1 AND version = $2`, where zero
    /// rows changed means 412. `None` when there is no `If-Match`, it is `*`, or no member
    /// decodes.
    ///
    /// # Examples
    ///
    /// ```
    /// use etag_runtime::{Conditions, ETag};
    /// use http::{HeaderMap, Method};
    ///
    /// let mut h = HeaderMap::new();
    /// h.insert("if-match", ETag::from_version(&7_i64).to_header_value());
    /// assert_eq!(Conditions::from_headers(&Method::PUT, &h).expected_version::<i64>(), Some(7));
    /// ```
    pub fn expected_version<V: crate::ParseVersion>(&self) -> Option<V> {
        self.if_match
            .as_ref()?
            .strong_tags()
            .find_map(|t| t.version())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn field() -> impl Strategy<Value = (&'static str, Vec<u8>)> {
        let names = prop_oneof![
            Just("if-match"),
            Just("if-none-match"),
            Just("if-modified-since"),
            Just("if-unmodified-since"),
            Just("if-range"),
            Just("range"),
            Just("accept"),
            Just("x-other"),
        ];
        let values = prop_oneof![
            Just(b"\"a\", W/\"b\"".to_vec()),
            Just(b"*".to_vec()),
            Just(b"Wed, 25 Nov 2026 12:00:00 GMT".to_vec()),
            Just(b"bytes=0-1".to_vec()),
            proptest::collection::vec(0x20u8..0x7f, 0..12),
        ];
        (names, values)
    }

    proptest! {
        /// The one-pass read of a small map and the look-ups of a large one agree, repeated
        /// lines and their order included.
        #[test]
        fn scanning_and_looking_up_agree(fields in proptest::collection::vec(field(), 0..12)) {
            let mut headers = HeaderMap::new();
            for (name, value) in &fields {
                headers.append(
                    http::HeaderName::from_static(name),
                    HeaderValue::from_bytes(value).unwrap(),
                );
            }
            prop_assert_eq!(
                Conditions::scan(&Method::GET, &headers),
                Conditions::look_up(&Method::GET, &headers)
            );
        }
    }
}

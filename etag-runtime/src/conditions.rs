//! The request's preconditions, and every decision made from them (RFC 9110 section 13).

use std::time::SystemTime;

use http::header::{
    IF_MATCH, IF_MODIFIED_SINCE, IF_NONE_MATCH, IF_RANGE, IF_UNMODIFIED_SINCE, RANGE,
};
use http::{HeaderMap, HeaderName, HeaderValue, Method};

use crate::date::{not_after, parse_http_date};
use crate::handler::Require;
use crate::header::TagList;
use crate::not_modified::Deferred;
use crate::precondition::{Field, Precondition};
use crate::{Checked, ETag, Proceed, Validators};

/// The preconditions of one request: its method and its conditional header fields, parsed.
///
/// Building it never fails. Absent fields are `None`; an invalid date is ignored as RFC 9110
/// sections 13.1.3 and 13.1.4 require; a malformed entity-tag list matches nothing. Header
/// values are kept by reference count, not copied.
///
/// In an axum handler, take it as an extractor: it never rejects. Then decide with one of
/// its checks, each of which answers with a [`Precondition`] to return with `?`:
///
/// | the handler | check |
/// |---|---|
/// | reads, with validators computed before the expensive load | [`read`](Self::read) |
/// | writes (PUT, PATCH, DELETE, POST), decided against the state they write over | [`write`](Self::write) |
/// | must not write without a precondition (428) | [`require_precondition`](Self::require_precondition) |
/// | validators that need no load | [`check`](Self::check) |
/// | anything else: the RFC 9110 algorithm itself | [`evaluate`](Self::evaluate) |
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
    /// `If-Range` and `Range`, when the request has either: boxed, so that the
    /// conditions of the many requests without them are smaller to move.
    ranges: Option<Box<Ranges>>,
    /// What the handler requires (`#[etag(require_precondition)]`): a write whose only
    /// precondition is ignored is unconditional, and gets 428.
    require: Require,
    /// The request is for a per-user response, whose tags are sealed for each user: a 412
    /// does not name the resource's own tag, which would match nothing the client sends.
    personal: bool,
    /// Behind an encoding-tags layer, the coding of the 200 is not known before the
    /// compressor sees its body: [`check`](Self::check) leaves a 304 that names no tag to
    /// the layer.
    coding_unknown: bool,
}

/// The fields of a range request.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Ranges {
    /// Repeated, it holds for nothing.
    if_range: OneLine,
    /// Repeated, it is not a valid range request.
    range: OneLine,
}

/// A field that is valid only as one line: `If-Range` and `Range`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
enum OneLine {
    /// Not in the request.
    #[default]
    Absent,
    /// On more than one line: not a value at all.
    Repeated,
    /// The one line.
    One(HeaderValue),
}

impl OneLine {
    fn is_present(&self) -> bool {
        *self != Self::Absent
    }
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
        Self::parse(method, headers, false)
    }

    /// Reads the conditional fields of a request, and whether an encoding-tags layer
    /// outside still has to learn the coding of its 200 (see [`check`](Self::check)).
    /// Inlined into the extractors, which then make the conditions where they keep them.
    #[inline]
    pub(crate) fn from_parts(parts: &http::request::Parts) -> Self {
        let coding_unknown = parts
            .extensions
            .get::<crate::layer::CodedTagsOutside>()
            .is_some_and(|outside| outside.coding_unknown);
        Self::parse(&parts.method, &parts.headers, coding_unknown)
    }

    /// Both constructors: the value made in place, not made and then moved to be changed.
    #[inline]
    fn parse(method: &Method, headers: &HeaderMap, coding_unknown: bool) -> Self {
        // A request has a handful of fields: one pass over them beats six look-ups. It
        // keeps each field's first line; a field on several lines (rare) is read again
        // whole.
        static FIELDS: [HeaderName; 6] = [
            IF_MATCH,
            IF_NONE_MATCH,
            IF_MODIFIED_SINCE,
            IF_UNMODIFIED_SINCE,
            IF_RANGE,
            RANGE,
        ];
        let mut first: [Option<&HeaderValue>; 6] = [None; 6];
        let mut repeated = 0u8;
        for (name, value) in headers {
            let Some(i) = FIELDS.iter().position(|field| name == field) else {
                continue;
            };
            match first[i] {
                None => first[i] = Some(value),
                Some(_) => repeated |= 1 << i,
            }
        }
        let single = |i: usize| first[i].filter(|_| repeated & (1 << i) == 0);
        let list = |i: usize| {
            let line = first[i]?;
            Some(if repeated & (1 << i) == 0 {
                TagList::from_lines(std::iter::once(line))
            } else {
                TagList::from_lines(headers.get_all(&FIELDS[i]))
            })
        };
        let one_line = |i: usize| match (first[i], single(i)) {
            (None, _) => OneLine::Absent,
            (Some(_), None) => OneLine::Repeated,
            (Some(_), Some(one)) => OneLine::One(one.clone()),
        };
        Self {
            method: method.clone(),
            if_match: list(0),
            if_none_match: list(1),
            // A date field is valid only as exactly one line holding one HTTP-date.
            if_modified_since: single(2).and_then(|v| parse_http_date(v.as_bytes())),
            if_unmodified_since: single(3).and_then(|v| parse_http_date(v.as_bytes())),
            ranges: (first[4].is_some() || first[5].is_some()).then(|| {
                Box::new(Ranges {
                    if_range: one_line(4),
                    range: one_line(5),
                })
            }),
            require: Require::Nothing,
            personal: false,
            coding_unknown,
        }
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
            || self
                .ranges
                .as_ref()
                .is_some_and(|r| r.range.is_present() && r.if_range.is_present())
    }

    /// Whether `If-None-Match` names tags, so that a 304 it decides is for a copy the
    /// client named: not `*` (nor absent, when `If-Modified-Since` decides).
    fn names_tags(&self) -> bool {
        self.if_none_match
            .as_ref()
            .is_some_and(|list| !list.is_any())
    }

    /// Whether the request carries a precondition that protects a write from a lost
    /// update: `If-Match`, a valid `If-Unmodified-Since`, or `If-None-Match: *`
    /// (RFC 6585 section 3, 428 Precondition Required).
    fn protects_write(&self) -> bool {
        self.protects_by_tag()
            || self
                .if_unmodified_since
                .is_some_and(|date| date <= SystemTime::now())
    }

    /// `If-Match` or `If-None-Match: *`: the preconditions that make the no-lost-update
    /// promise.
    fn protects_by_tag(&self) -> bool {
        self.if_match.is_some() || self.if_none_match.as_ref().is_some_and(TagList::is_any)
    }

    /// The `Range` field, if the request has exactly one line of it.
    pub(crate) fn range(&self) -> Option<&HeaderValue> {
        match &self.ranges.as_ref()?.range {
            OneLine::One(value) => Some(value),
            _ => None,
        }
    }

    /// Whether the method is GET or HEAD, the methods that get 304 rather than 412.
    fn is_get_or_head(&self) -> bool {
        is_read(&self.method)
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
    /// # Errors
    ///
    /// The 304 or 412 to answer instead of performing the method.
    ///
    /// # Examples
    ///
    /// ```
    /// use etag_runtime::{Conditions, ETag, Validators};
    /// use http::{HeaderMap, Method};
    ///
    /// let mut h = HeaderMap::new();
    /// h.insert("if-match", "\"6\"".parse().unwrap());
    /// let current = Validators::new().with_etag(ETag::from_version(&7_i64));
    /// let put = Conditions::from_headers(&Method::PUT, &h);
    /// assert_eq!(put.evaluate(Some(&current)).unwrap_err().status(), 412);
    /// // A resource that does not exist: If-Match has nothing to match.
    /// assert_eq!(put.evaluate(None).unwrap_err().status(), 412);
    /// ```
    pub fn evaluate(&self, current: Option<&Validators>) -> Result<Proceed, Precondition> {
        match self.decide(current) {
            Decision::Proceed(proceed) => Ok(proceed),
            Decision::NotModified(field) => Err(Precondition::not_modified(
                &self.method,
                current.cloned().unwrap_or_default(),
                field,
            )),
            Decision::Failed(field) => {
                Err(self.failed_on(field, current.and_then(Validators::etag)))
            }
        }
    }

    fn failed_on(&self, field: Field, current: Option<&ETag>) -> Precondition {
        Precondition::failed(&self.method, field, current, !self.personal)
    }

    /// The `If-None-Match` line a read is answered 304 with, when it is the current tag
    /// byte for byte (what clients send most) and no `If-Match` or `If-Unmodified-Since`
    /// comes before it: RFC 9110 section 13.2.2 then answers 304 at step 3, which
    /// [`decide`](Self::decide) would too. The line is the 304's `ETag`, shared rather than
    /// copied.
    #[inline]
    pub(crate) fn not_modified_line(&self, current: &Validators) -> Option<&HeaderValue> {
        if self.if_match.is_some() || self.if_unmodified_since.is_some() || !self.is_get_or_head() {
            return None;
        }
        let etag = current.etag()?;
        let line = self.if_none_match.as_ref()?.line_of(etag)?;
        crate::precondition::trace(
            &self.method,
            http::StatusCode::NOT_MODIFIED,
            Field::IfNoneMatch,
            Some(etag),
        );
        Some(line)
    }

    /// The algorithm of [`evaluate`](Self::evaluate), without building the answer.
    fn decide(&self, current: Option<&Validators>) -> Decision {
        let etag = current.and_then(Validators::etag);
        let modified = current.and_then(Validators::last_modified);

        // Step 1 and 2.
        if let Some(list) = &self.if_match {
            let holds = current.is_some() && list.holds_for(etag, true, true);
            if !holds {
                return Decision::Failed(Field::IfMatch);
            }
        } else if let (Some(date), Some(modified)) = (self.if_unmodified_since, modified)
            && !not_after(modified, date)
        {
            return Decision::Failed(Field::IfUnmodifiedSince);
        }

        // Step 3 and 4.
        if let Some(list) = &self.if_none_match {
            let matched = current.is_some() && list.holds_for(etag, false, self.is_get_or_head());
            if matched {
                return if self.is_get_or_head() {
                    Decision::NotModified(Field::IfNoneMatch)
                } else {
                    Decision::Failed(Field::IfNoneMatch)
                };
            }
        } else if self.is_get_or_head()
            && let (Some(date), Some(modified)) = (self.if_modified_since, modified)
            && not_after(modified, date)
        {
            return Decision::NotModified(Field::IfModifiedSince);
        }

        // Step 5.
        let honor_range = self.ranges.as_ref().is_some_and(|r| r.range.is_present())
            && self.method == Method::GET
            && self.if_range_holds(current);
        Decision::Proceed(Proceed { honor_range })
    }

    /// RFC 9110 section 13.1.5: an entity-tag must strong-match. A date never holds: it is
    /// a strong validator only when the origin reliably knows that the representation did
    /// not change twice within its second (section 8.8.2.2), and no time-based rule can know
    /// that from the current validators (two writes in one second leave the same
    /// `Last-Modified` on different bytes). Sending the whole representation is always
    /// right; a 206 spliced onto another version never is. Anything else, too, sends the
    /// whole representation.
    fn if_range_holds(&self, current: Option<&Validators>) -> bool {
        let Some(ranges) = &self.ranges else {
            return true;
        };
        let value = match &ranges.if_range {
            OneLine::Absent => return true,
            OneLine::Repeated => return false,
            OneLine::One(value) => value,
        };
        let Some(current) = current else {
            return false;
        };
        let raw = crate::etag::trim_ows(value.as_bytes());
        if raw.first() == Some(&b'"') || raw.starts_with(b"W/") {
            return match (ETag::parse_bytes(raw), current.etag()) {
                (Ok(sent), Some(tag)) => sent.strong_eq(tag),
                _ => false,
            };
        }
        false
    }
}

/// GET and HEAD: the methods whose matching `If-None-Match` is answered 304 rather than
/// 412, and whose 200 is the representation the validators describe. The one place the
/// crate says so.
pub(crate) fn is_read(method: &Method) -> bool {
    method == Method::GET || method == Method::HEAD
}

/// What [`Conditions::evaluate`] decided.
enum Decision {
    Proceed(Proceed),
    NotModified(Field),
    Failed(Field),
}

impl Conditions {
    /// Evaluates the preconditions of a read against validators computed before the
    /// expensive work (say, from `SELECT version, updated_at ...`). `Ok` is the proof to
    /// attach to the full response with [`Checked::respond`].
    ///
    /// Behind [`EncodingTagsLayer`](crate::layer::EncodingTagsLayer) (or
    /// `layer::Compression`), a 304 decided without a tag of the client's (by
    /// `If-Modified-Since`, or `If-None-Match: *`) to a client that accepts a
    /// content-coding is not answered here: it must carry the tag the 200 would (RFC 9110
    /// section 15.4.5), and the compressor chooses the 200's coding only from the rendered
    /// body (tower-http's default skips bodies under 32 bytes and images). `check` is then
    /// `Ok`, and the response made with [`Checked::respond`] goes out from the layer as
    /// that 304, with the tag of the coding the compressor gave it. A `Conditions` taken
    /// as an extractor knows of the layer; one made with
    /// [`from_headers`](Self::from_headers) does not, and answers every 304 here.
    ///
    /// # Errors
    ///
    /// The 304 or 412 to answer right away, with `?`.
    ///
    /// # Examples
    ///
    /// ```
    /// use etag_runtime::{Conditions, ETag, Validators};
    /// use http::{HeaderMap, Method};
    ///
    /// let mut h = HeaderMap::new();
    /// h.insert("if-none-match", "\"5\"".parse().unwrap());
    /// let c = Conditions::from_headers(&Method::GET, &h);
    /// let v = Validators::new().with_etag(ETag::from_version(&5_u8));
    /// assert_eq!(c.check(v).unwrap_err().status(), 304);
    /// ```
    pub fn check(&self, current: Validators) -> Result<Checked, Precondition> {
        match self.decide(Some(&current)) {
            Decision::Proceed(_) => Ok(Checked {
                validators: current,
                deferred: None,
            }),
            Decision::NotModified(field) if self.coding_unknown && !self.names_tags() => {
                Ok(Checked {
                    validators: current,
                    deferred: Some(Deferred(field)),
                })
            }
            Decision::NotModified(field) => {
                Err(Precondition::not_modified(&self.method, current, field))
            }
            Decision::Failed(field) => Err(self.failed_on(field, current.etag())),
        }
    }

    /// The preconditions of a write to a resource that does not exist: the guard of
    /// [`write`](Self::write) when there is no current state. Under
    /// `#[etag(require_precondition)]`, a 428 when the request's only precondition is
    /// `If-Unmodified-Since`: RFC 9110 section 13.1.4 ignores it when there is no
    /// modification date, which leaves the write unconditional.
    pub(crate) fn check_absent(&self) -> Result<(), Precondition> {
        self.require_without_date()?;
        self.evaluate(None).map(|_| ())
    }

    /// The 428 of a write to a resource without a modification date (or with none at
    /// all) whose only precondition is `If-Unmodified-Since`, under a handler that
    /// requires one: RFC 9110 section 13.1.4 ignores the field there, which leaves the
    /// write unconditional.
    pub(crate) fn require_without_date(&self) -> Result<(), Precondition> {
        // Without a date, only an entity tag is left to protect the write.
        match self.require {
            Require::Nothing => Ok(()),
            Require::Precondition | Require::EntityTag => self.require(Require::EntityTag),
        }
    }

    /// Answers 428 unless the request carries a precondition that protects a write:
    /// `If-Match`, `If-None-Match: *`, or a valid `If-Unmodified-Since` that is not later
    /// than the server's clock (RFC 6585 section 3). Safe methods always pass.
    ///
    /// A date in the future proves nothing about what the client read: it would let any
    /// write through. It is answered as if absent (428, not 412), so that the client learns
    /// it must send what it read.
    ///
    /// # Errors
    ///
    /// The 428 to answer.
    ///
    /// # Examples
    ///
    /// ```
    /// use etag_runtime::Conditions;
    /// use http::{HeaderMap, Method};
    ///
    /// let c = Conditions::from_headers(&Method::DELETE, &HeaderMap::new());
    /// assert_eq!(c.require_precondition().unwrap_err().status(), 428);
    /// let c = Conditions::from_headers(&Method::GET, &HeaderMap::new());
    /// assert!(c.require_precondition().is_ok());
    /// let mut h = HeaderMap::new();
    /// h.insert("if-unmodified-since", "Fri, 31 Dec 9999 23:59:59 GMT".parse().unwrap());
    /// let c = Conditions::from_headers(&Method::PUT, &h);
    /// assert_eq!(c.require_precondition().unwrap_err().status(), 428);
    /// ```
    pub fn require_precondition(&self) -> Result<(), Precondition> {
        self.require(Require::Precondition)
    }

    /// Like [`require_precondition`](Self::require_precondition), but only an entity tag
    /// counts: `If-Match` or `If-None-Match: *`. An HTTP date has one-second resolution, so
    /// only a tag makes the no-lost-update promise (RFC 9110 section 8.8.2.2); this is
    /// `#[etag(require_entity_tag)]`.
    ///
    /// # Errors
    ///
    /// The 428 to answer.
    ///
    /// # Examples
    ///
    /// ```
    /// use etag_runtime::Conditions;
    /// use http::{HeaderMap, Method};
    ///
    /// let mut h = HeaderMap::new();
    /// h.insert("if-unmodified-since", "Sun, 06 Nov 1994 08:49:37 GMT".parse().unwrap());
    /// let c = Conditions::from_headers(&Method::PUT, &h);
    /// assert!(c.require_precondition().is_ok());
    /// assert_eq!(c.require_entity_tag().unwrap_err().status(), 428);
    /// ```
    pub fn require_entity_tag(&self) -> Result<(), Precondition> {
        self.require(Require::EntityTag)
    }

    /// Marks these conditions as read for a per-user response.
    pub(crate) fn set_personal(&mut self) {
        self.personal = true;
    }

    /// Marks these conditions as read for a handler with this requirement.
    pub(crate) fn set_require(&mut self, require: Require) {
        self.require = require;
    }

    /// The 428 of a write that lacks what `require` asks for; safe methods always pass.
    pub(crate) fn require(&self, require: Require) -> Result<(), Precondition> {
        let protected = match require {
            Require::Nothing => true,
            Require::Precondition => self.protects_write(),
            Require::EntityTag => self.protects_by_tag(),
        };
        if protected || self.method().is_safe() {
            Ok(())
        } else {
            Err(Precondition::required(&self.method))
        }
    }
}

/// Never rejects: a request without conditional headers has empty conditions, and malformed
/// ones are read as RFC 9110 says (ignored dates, tags that match nothing).
///
/// In an `#[etag]` handler, a `Conditions` argument is not read again: it is the one the
/// macro's context read, with the handler's `require_precondition` or `require_entity_tag`.
impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Conditions {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self::from_parts(parts))
    }
}

//! RFC 9110 section 13 conformance: one row per rule, each naming its section.
//!
//! The resource under test has the strong tag `"v2"` and was last modified at
//! 12:00:00.700, sub-second on purpose: HTTP-dates have one-second resolution (section 5.6.7).

use std::time::{Duration, SystemTime};

use etag_runtime::header::parse_http_date;
use etag_runtime::{Conditions, ETag, Precondition, Proceed, Validators};
use http::{HeaderMap, HeaderName, HeaderValue, Method};

const LM: &str = "Wed, 25 Nov 2026 12:00:00 GMT";
const EARLIER: &str = "Wed, 25 Nov 2026 11:59:59 GMT";
const LATER: &str = "Wed, 25 Nov 2026 12:00:01 GMT";

fn modified() -> SystemTime {
    parse_http_date(LM.as_bytes()).unwrap() + Duration::from_millis(700)
}

#[derive(Clone, Copy, Debug)]
enum Resource {
    /// `"v2"`, modified at 12:00:00.700.
    Full,
    /// `W/"v2"`, modified at 12:00:00.700.
    WeakTag,
    /// `"v2"` and no modification time.
    TagOnly,
    /// No tag, modified at 12:00:00.700.
    DateOnly,
    /// No current representation.
    Absent,
}

impl Resource {
    fn validators(self) -> Option<Validators> {
        let strong = ETag::strong("v2").unwrap();
        match self {
            Self::Full => Some(
                Validators::new()
                    .with_etag(strong)
                    .with_last_modified(modified()),
            ),
            Self::WeakTag => Some(
                Validators::new()
                    .with_etag(ETag::weak("v2").unwrap())
                    .with_last_modified(modified()),
            ),
            Self::TagOnly => Some(Validators::new().with_etag(strong)),
            Self::DateOnly => Some(Validators::new().with_last_modified(modified())),
            Self::Absent => None,
        }
    }
}

use Resource::*;

/// What `Conditions::evaluate` decided, in a form a row can state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Proceed { honor_range: bool },
    NotModified,
    PreconditionFailed,
}

fn outcome(result: Result<Proceed, Precondition>) -> Outcome {
    match result {
        Ok(proceed) => Outcome::Proceed {
            honor_range: proceed.honor_range(),
        },
        Err(refused) if refused.status() == 304 => {
            assert!(refused.validators().is_some(), "a 304 carries validators");
            Outcome::NotModified
        }
        Err(refused) => {
            assert_eq!(refused.status(), 412);
            Outcome::PreconditionFailed
        }
    }
}

const PROCEED: Outcome = Outcome::Proceed { honor_range: false };
const RANGE_OK: Outcome = Outcome::Proceed { honor_range: true };
const NOT_MODIFIED: Outcome = Outcome::NotModified;
const FAILED: Outcome = Outcome::PreconditionFailed;

struct Row {
    section: &'static str,
    rule: &'static str,
    method: Method,
    headers: Vec<(&'static str, &'static [u8])>,
    resource: Resource,
    expect: Outcome,
}

macro_rules! rows {
    ($( $section:literal $rule:literal : $method:ident [$($name:literal = $value:expr),* $(,)?] on $resource:ident => $expect:ident; )*) => {
        vec![$(Row {
            section: $section,
            rule: $rule,
            method: Method::$method,
            headers: vec![$(($name, $value)),*],
            resource: $resource,
            expect: $expect,
        }),*]
    };
}

fn table() -> Vec<Row> {
    rows! {
        // If-Match
        "13.1.1" "a matching strong tag lets the method proceed": PUT ["if-match" = b"\"v2\""] on Full => PROCEED;
        "13.1.1" "a different tag fails": PUT ["if-match" = b"\"v1\""] on Full => FAILED;
        "13.1.1" "comparison is strong: a weak tag in the field never matches": PUT ["if-match" = b"W/\"v2\""] on Full => FAILED;
        "13.1.1" "comparison is strong: a weak current tag never matches": PUT ["if-match" = b"\"v2\""] on WeakTag => FAILED;
        "13.1.1" "* holds when a current representation exists": PUT ["if-match" = b"*"] on Full => PROCEED;
        "13.1.1" "* fails when there is no current representation": PUT ["if-match" = b"*"] on Absent => FAILED;
        "13.1.1" "a tag fails when there is no current representation": PUT ["if-match" = b"\"v2\""] on Absent => FAILED;
        "13.1.1" "* holds only alone: mixed with a stale tag it fails": PUT ["if-match" = b"\"v1\", *"] on Full => FAILED;
        "13.1.1" "* mixed with the current tag: the tag matches": PUT ["if-match" = b"*, \"v2\""] on Full => PROCEED;
        "13.1.2" "* among tags in If-None-Match still means any (create-only stays safe)": PUT ["if-none-match" = b"\"v1\", *"] on Full => FAILED;
        "13.1.2" "* among tags is invalid: on a read it confirms no copy (200, not 304)": GET ["if-none-match" = b"*, \"bar\""] on Full => PROCEED;
        "13.1.2" "* among tags on HEAD likewise": HEAD ["if-none-match" = b"\"bar\", *"] on Full => PROCEED;
        "13.1.2" "* among tags does not hide a member that matches": GET ["if-none-match" = b"*, \"v2\""] on Full => NOT_MODIFIED;
        "13.1.5" "two If-Range lines are invalid: the whole representation is sent": GET ["range" = b"bytes=0-9", "if-range" = b"\"v2\"", "if-range" = b"\"v2\""] on Full => PROCEED;
        "13.1.1" "any member of a list may match": PUT ["if-match" = b"\"v1\", \"v2\""] on Full => PROCEED;
        "5.3" "repeated field lines combine into one list": PUT ["if-match" = b"\"v1\"", "if-match" = b"\"v2\""] on Full => PROCEED;
        "5.6.1" "optional whitespace and empty members are allowed": PUT ["if-match" = b" ,\t\"v1\" ,, \"v2\"\t"] on Full => PROCEED;
        "13.1.1" "an empty field is present and matches nothing": PUT ["if-match" = b""] on Full => FAILED;
        "13.1.1" "a malformed member matches nothing": PUT ["if-match" = b"v2"] on Full => FAILED;
        "13.1.1" "a malformed member does not spoil a good one": PUT ["if-match" = b"v2, \"v2\""] on Full => PROCEED;
        "13.1.1" "no current tag, no strong match": PUT ["if-match" = b"\"v2\""] on DateOnly => FAILED;
        "13.1.1" "If-Match applies to GET as well": GET ["if-match" = b"\"v1\""] on Full => FAILED;
        "8.8.3" "a tag with a comma inside is one member": PUT ["if-match" = b"\"v1,\"v2\"\""] on Full => FAILED;
        // If-Unmodified-Since
        "13.1.4" "the date equal to Last-Modified at the second holds (sub-second time)": PUT ["if-unmodified-since" = LM.as_bytes()] on Full => PROCEED;
        "13.1.4" "a date before the modification fails": PUT ["if-unmodified-since" = EARLIER.as_bytes()] on Full => FAILED;
        "13.1.4" "a date after the modification holds": PUT ["if-unmodified-since" = LATER.as_bytes()] on Full => PROCEED;
        "13.1.4" "an invalid date is ignored": PUT ["if-unmodified-since" = b"yesterday"] on Full => PROCEED;
        "13.1.4" "a list of dates is ignored": PUT ["if-unmodified-since" = EARLIER.as_bytes(), "if-unmodified-since" = EARLIER.as_bytes()] on Full => PROCEED;
        "13.1.4" "ignored when the resource has no modification date": PUT ["if-unmodified-since" = EARLIER.as_bytes()] on TagOnly => PROCEED;
        "13.1.4" "ignored when there is no current representation": PUT ["if-unmodified-since" = EARLIER.as_bytes()] on Absent => PROCEED;
        "13.2.2" "step 2: If-Unmodified-Since is ignored when If-Match is present": PUT ["if-match" = b"\"v2\"", "if-unmodified-since" = EARLIER.as_bytes()] on Full => PROCEED;
        "13.1.4" "RFC 850 dates are accepted": PUT ["if-unmodified-since" = b"Wednesday, 25-Nov-26 11:59:59 GMT"] on Full => FAILED;
        "13.1.4" "asctime dates are accepted": PUT ["if-unmodified-since" = b"Wed Nov 25 11:59:59 2026"] on Full => FAILED;
        "5.6.7" "a valid date before 1970 is a date: the resource changed after it": PUT ["if-unmodified-since" = b"Fri, 01 Jan 1960 00:00:00 GMT"] on Full => FAILED;
        "5.6.7" "a two-digit year more than 50 years ahead is the last century: 99 is 1999": PUT ["if-unmodified-since" = b"Friday, 31-Dec-99 23:59:59 GMT"] on Full => FAILED;
        // If-None-Match
        "13.1.2" "a matching tag on GET is 304": GET ["if-none-match" = b"\"v2\""] on Full => NOT_MODIFIED;
        "13.1.2" "comparison is weak: W/ in the field still matches": GET ["if-none-match" = b"W/\"v2\""] on Full => NOT_MODIFIED;
        "13.1.2" "comparison is weak: a weak current tag matches": GET ["if-none-match" = b"\"v2\""] on WeakTag => NOT_MODIFIED;
        "13.1.2" "a different tag proceeds": GET ["if-none-match" = b"\"v1\""] on Full => PROCEED;
        "13.1.2" "any member of a list may match": GET ["if-none-match" = b"\"v0\", \"v1\", W/\"v2\""] on Full => NOT_MODIFIED;
        "13.1.2" "a match on HEAD is 304": HEAD ["if-none-match" = b"\"v2\""] on Full => NOT_MODIFIED;
        "13.1.2" "a match on other methods is 412": PUT ["if-none-match" = b"\"v2\""] on Full => FAILED;
        "13.1.2" "a match on POST is 412": POST ["if-none-match" = b"\"v2\""] on Full => FAILED;
        "13.1.2" "* on GET of an existing resource is 304": GET ["if-none-match" = b"*"] on Full => NOT_MODIFIED;
        "13.1.2" "* on PUT of an existing resource is 412 (create-only)": PUT ["if-none-match" = b"*"] on Full => FAILED;
        "13.1.2" "* on PUT of an absent resource proceeds (create-only)": PUT ["if-none-match" = b"*"] on Absent => PROCEED;
        "13.1.2" "a tag never matches an absent resource": GET ["if-none-match" = b"\"v2\""] on Absent => PROCEED;
        "13.1.2" "an empty field matches nothing": GET ["if-none-match" = b""] on Full => PROCEED;
        "13.1.2" "no current tag, nothing matches": GET ["if-none-match" = b"\"v2\""] on DateOnly => PROCEED;
        // If-Modified-Since
        "13.1.3" "the date equal to Last-Modified at the second is 304 (sub-second time)": GET ["if-modified-since" = LM.as_bytes()] on Full => NOT_MODIFIED;
        "13.1.3" "a later date is 304": GET ["if-modified-since" = LATER.as_bytes()] on Full => NOT_MODIFIED;
        "13.1.3" "an earlier date proceeds": GET ["if-modified-since" = EARLIER.as_bytes()] on Full => PROCEED;
        "5.6.7" "a two-digit year at most 50 years ahead is this century: 75 is 2075, not 1975": GET ["if-modified-since" = b"Tuesday, 01-Jan-75 00:00:00 GMT"] on Full => NOT_MODIFIED;
        "13.1.3" "on HEAD as on GET": HEAD ["if-modified-since" = LM.as_bytes()] on Full => NOT_MODIFIED;
        "13.1.3" "ignored for methods other than GET and HEAD": PUT ["if-modified-since" = LATER.as_bytes()] on Full => PROCEED;
        "13.1.3" "ignored for POST": POST ["if-modified-since" = LATER.as_bytes()] on Full => PROCEED;
        "13.1.3" "an invalid date is ignored": GET ["if-modified-since" = b"Wed, 25 Nov 2026 12:00:00 UTC"] on Full => PROCEED;
        "13.1.3" "a list of dates is ignored": GET ["if-modified-since" = LATER.as_bytes(), "if-modified-since" = LATER.as_bytes()] on Full => PROCEED;
        "13.1.3" "ignored when the resource has no modification date": GET ["if-modified-since" = LATER.as_bytes()] on TagOnly => PROCEED;
        "13.1.3" "ignored when there is no current representation": GET ["if-modified-since" = LATER.as_bytes()] on Absent => PROCEED;
        "13.2.2" "step 4: If-Modified-Since is ignored when If-None-Match is present (jshttp/fresh#35)": GET ["if-none-match" = b"\"v1\"", "if-modified-since" = LATER.as_bytes()] on Full => PROCEED;
        "13.2.2" "step 4: an empty If-None-Match still disables If-Modified-Since": GET ["if-none-match" = b"", "if-modified-since" = LATER.as_bytes()] on Full => PROCEED;
        "13.2.2" "step 3: If-None-Match decides even when the date says modified": GET ["if-none-match" = b"\"v2\"", "if-modified-since" = EARLIER.as_bytes()] on Full => NOT_MODIFIED;
        // Order
        "13.2.2" "step 1 before step 3: a failed If-Match is 412 even if If-None-Match matches": GET ["if-match" = b"\"v1\"", "if-none-match" = b"\"v2\""] on Full => FAILED;
        "13.2.2" "step 1 then step 3: If-Match holds, then If-None-Match matches": GET ["if-match" = b"\"v2\"", "if-none-match" = b"\"v2\""] on Full => NOT_MODIFIED;
        "13.2.2" "step 2 before step 3": GET ["if-unmodified-since" = EARLIER.as_bytes(), "if-none-match" = b"\"v2\""] on Full => FAILED;
        "13.2.2" "step 2 before step 4": GET ["if-unmodified-since" = EARLIER.as_bytes(), "if-modified-since" = LATER.as_bytes()] on Full => FAILED;
        "13.2.2" "no preconditions: proceed": GET [] on Full => PROCEED;
        "13.2.2" "no preconditions on an absent resource: proceed": DELETE [] on Absent => PROCEED;
        // If-Range
        "13.1.5" "a Range without If-Range may be honoured": GET ["range" = b"bytes=0-9"] on Full => RANGE_OK;
        "13.1.5" "a strong-matching If-Range tag honours the Range": GET ["range" = b"bytes=0-9", "if-range" = b"\"v2\""] on Full => RANGE_OK;
        "13.1.5" "a different If-Range tag sends the whole representation": GET ["range" = b"bytes=0-9", "if-range" = b"\"v1\""] on Full => PROCEED;
        "13.1.5" "a weak If-Range tag never matches": GET ["range" = b"bytes=0-9", "if-range" = b"W/\"v2\""] on Full => PROCEED;
        "13.1.5" "a weak current tag never matches If-Range": GET ["range" = b"bytes=0-9", "if-range" = b"\"v2\""] on WeakTag => PROCEED;
        "13.1.5, 8.8.2.2" "an If-Range date, even equal to Last-Modified, sends the whole representation: the origin cannot know it is strong": GET ["range" = b"bytes=0-9", "if-range" = LM.as_bytes()] on Full => PROCEED;
        "13.1.5" "an If-Range date must match exactly, not be later": GET ["range" = b"bytes=0-9", "if-range" = LATER.as_bytes()] on Full => PROCEED;
        "13.1.5" "a malformed If-Range sends the whole representation": GET ["range" = b"bytes=0-9", "if-range" = b"whenever"] on Full => PROCEED;
        "13.1.5" "If-Range without Range is ignored": GET ["if-range" = b"\"v1\""] on Full => PROCEED;
        "14.2" "Range is only for GET": HEAD ["range" = b"bytes=0-9"] on Full => PROCEED;
        "13.2.2" "step 5 comes after the others": GET ["range" = b"bytes=0-9", "if-range" = b"\"v2\"", "if-none-match" = b"\"v2\""] on Full => NOT_MODIFIED;
    }
}

fn conditions(row: &Row) -> Conditions {
    let mut headers = HeaderMap::new();
    for &(name, value) in &row.headers {
        headers.append(
            HeaderName::from_static(name),
            HeaderValue::from_bytes(value).unwrap(),
        );
    }
    Conditions::from_headers(&row.method, &headers)
}

#[test]
fn rfc9110_section_13_table() {
    let mut failures = Vec::new();
    let rows = table();
    for row in &rows {
        let got = outcome(conditions(row).evaluate(row.resource.validators().as_ref()));
        if got != row.expect {
            failures.push(format!(
                "RFC 9110 section {}: {} ({} {:?} on {:?}): expected {:?}, got {:?}",
                row.section, row.rule, row.method, row.headers, row.resource, row.expect, got
            ));
        }
    }
    assert!(rows.len() >= 60, "the table lost rows: {}", rows.len());
    assert!(
        failures.is_empty(),
        "{} rows failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn rfc6585_3_precondition_required_recognises_protecting_fields() {
    let cases: &[(&str, &[u8], bool)] = &[
        ("if-match", b"\"1\"", true),
        ("if-match", b"", true),
        ("if-unmodified-since", LM.as_bytes(), true),
        ("if-unmodified-since", b"not a date", false),
        ("if-none-match", b"*", true),
        ("if-none-match", b"\"1\"", false),
        ("if-modified-since", LM.as_bytes(), false),
    ];
    for &(name, value, protects) in cases {
        let mut h = HeaderMap::new();
        h.insert(
            HeaderName::from_static(name),
            HeaderValue::from_bytes(value).unwrap(),
        );
        let c = Conditions::from_headers(&Method::PATCH, &h);
        assert_eq!(
            c.require_precondition().is_ok(),
            protects,
            "{name}: {value:?}"
        );
    }
}

/// 10,000-member lists and 64 KiB values, with the match last, are read whole and right.
#[test]
fn huge_header_values_are_handled() {
    let mut list = String::new();
    for i in 0..10_000 {
        list.push_str(&format!("\"t{i}\", "));
    }
    list.push_str("\"v2\"");
    let mut h = HeaderMap::new();
    h.insert("if-none-match", HeaderValue::from_str(&list).unwrap());
    let c = Conditions::from_headers(&Method::GET, &h);
    assert_eq!(
        outcome(c.evaluate(Full.validators().as_ref())),
        NOT_MODIFIED
    );

    let big_tag = format!("\"{}\"", "a".repeat(64 * 1024));
    let mut h = HeaderMap::new();
    h.insert("if-match", HeaderValue::from_str(&big_tag).unwrap());
    h.insert(
        "if-modified-since",
        HeaderValue::from_str(&"x".repeat(64 * 1024)).unwrap(),
    );
    h.insert(
        "if-range",
        HeaderValue::from_str(&"W/".repeat(32 * 1024)).unwrap(),
    );
    h.insert("range", HeaderValue::from_static("bytes=0-1"));
    let c = Conditions::from_headers(&Method::GET, &h);
    assert_eq!(outcome(c.evaluate(Full.validators().as_ref())), FAILED);
    let tag = ETag::strong(&"a".repeat(64 * 1024)).unwrap();
    assert_eq!(
        outcome(c.evaluate(Some(&Validators::new().with_etag(tag)))),
        PROCEED
    );
}

#[test]
fn non_utf8_header_bytes_are_handled() {
    let mut h = HeaderMap::new();
    h.insert(
        "if-none-match",
        HeaderValue::from_bytes(b"\"\xff\xfe\", \"v2\"").unwrap(),
    );
    h.insert(
        "if-modified-since",
        HeaderValue::from_bytes(b"\xffWed, 25 Nov 2026").unwrap(),
    );
    let c = Conditions::from_headers(&Method::GET, &h);
    assert!(c.if_modified_since().is_none());
    assert_eq!(
        outcome(c.evaluate(Full.validators().as_ref())),
        NOT_MODIFIED
    );
}

/// RFC 6585 section 3: an `If-Unmodified-Since` later than the server's clock proves
/// nothing about what the client read, so it does not satisfy a required precondition;
/// strict mode counts only entity tags.
#[test]
fn rfc6585_3_a_future_date_or_a_date_in_strict_mode_is_no_precondition() {
    let put = |name: &'static str, value: &'static str| {
        let mut h = HeaderMap::new();
        h.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
        Conditions::from_headers(&Method::PUT, &h)
    };
    let far = put("if-unmodified-since", "Fri, 31 Dec 9999 23:59:59 GMT");
    assert_eq!(far.require_precondition().unwrap_err().status(), 428);
    let past = put("if-unmodified-since", LM);
    assert!(past.require_precondition().is_ok());
    assert_eq!(past.require_entity_tag().unwrap_err().status(), 428);
    for (name, value) in [("if-match", "\"v2\""), ("if-none-match", "*")] {
        assert!(put(name, value).require_entity_tag().is_ok(), "{name}");
    }
    assert_eq!(
        put("if-none-match", "\"v2\"")
            .require_entity_tag()
            .unwrap_err()
            .status(),
        428
    );
}

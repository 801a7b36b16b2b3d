//! Property tests: round trips, the comparison laws of RFC 9110 section 8.8.3.2, and no
//! panic on any header bytes.

use etag_runtime::header::{TagList, format_http_date, parse_http_date};
use etag_runtime::version::{ParseVersion, VersionValue};
use etag_runtime::{Conditions, ETag, Validators};
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use proptest::prelude::*;

/// An opaque tag: `etagc` characters (visible ASCII but '"', and some non-ASCII text).
fn opaque() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[!#-~é€]{0,24}").unwrap()
}

fn etag() -> impl Strategy<Value = ETag> {
    (opaque(), any::<bool>()).prop_map(|(o, weak)| {
        if weak {
            ETag::weak(&o).unwrap()
        } else {
            ETag::strong(&o).unwrap()
        }
    })
}

fn list_of(tags: &[ETag], sep: &str) -> HeaderValue {
    let joined = tags
        .iter()
        .map(ETag::to_string)
        .collect::<Vec<_>>()
        .join(sep);
    HeaderValue::from_bytes(joined.as_bytes()).unwrap()
}

proptest! {
    #[test]
    fn display_parse_round_trip(tag in etag()) {
        let parsed: ETag = tag.to_string().parse().unwrap();
        prop_assert_eq!(&parsed, &tag);
        prop_assert_eq!(ETag::try_from(&HeaderValue::from(&tag)).unwrap(), tag);
    }

    #[test]
    fn weak_comparison_is_symmetric(a in etag(), b in etag()) {
        prop_assert_eq!(a.weak_eq(&b), b.weak_eq(&a));
        prop_assert_eq!(a.strong_eq(&b), b.strong_eq(&a));
    }

    #[test]
    fn strong_match_implies_weak_match(a in etag(), b in etag()) {
        if a.strong_eq(&b) {
            prop_assert!(a.weak_eq(&b));
        }
        prop_assert!(a.weak_eq(&a));
    }

    #[test]
    fn a_weak_tag_never_strong_matches(o in opaque(), other in etag()) {
        let weak = ETag::weak(&o).unwrap();
        prop_assert!(!weak.strong_eq(&other));
        prop_assert!(!other.strong_eq(&weak));
        let lines = [HeaderValue::from(&weak)];
        prop_assert!(!TagList::from_lines(lines.iter()).strong_match(&ETag::strong(&o).unwrap()));
    }

    #[test]
    fn lists_find_every_member_whatever_the_whitespace(
        tags in proptest::collection::vec(etag(), 1..20),
        sep in "[ \t]{0,2},[ \t,]{0,3}",
        pick in any::<proptest::sample::Index>(),
    ) {
        let lines = [list_of(&tags, &sep)];
        let list = TagList::from_lines(lines.iter());
        let wanted = pick.get(&tags);
        prop_assert!(list.weak_match(wanted));
        prop_assert_eq!(list.strong_match(wanted), !wanted.is_weak());
        prop_assert!(!list.is_any());
    }

    #[test]
    fn split_lines_read_as_one_list(tags in proptest::collection::vec(etag(), 2..10), at in 1usize..9) {
        let at = at.min(tags.len() - 1);
        let (a, b) = tags.split_at(at);
        let joined = [list_of(&tags, ", ")];
        let split = [list_of(a, ", "), list_of(b, ", ")];
        let one = TagList::from_lines(joined.iter());
        let two = TagList::from_lines(split.iter());
        for t in &tags {
            prop_assert_eq!(one.strong_match(t), two.strong_match(t));
            prop_assert_eq!(one.weak_match(t), two.weak_match(t));
        }
    }

    #[test]
    fn integer_versions_round_trip(v in any::<i64>(), u in any::<u128>()) {
        prop_assert_eq!(ETag::from_version(&v).version::<i64>(), Some(v));
        prop_assert_eq!(ETag::from_version(&u).version::<u128>(), Some(u));
    }

    /// One version, one tag: whatever decodes re-encodes to the same opaque tag, so the
    /// version read from `If-Match` is only ever one its tag would strong-match.
    #[test]
    fn decoding_accepts_only_the_canonical_spelling(raw in "[-+0-9A-Fa-f%a-z]{0,12}") {
        if let Some(v) = i64::decode(&raw) {
            let tag = ETag::from_version(&v);
            prop_assert_eq!(tag.opaque(), raw.as_str());
        }
        if let Some(v) = String::decode(&raw) {
            let tag = ETag::from_version(v.as_str());
            prop_assert_eq!(tag.opaque(), raw.as_str());
        }
    }

    #[test]
    fn string_versions_round_trip_and_stay_header_safe(s in any::<String>()) {
        let tag = ETag::from_version(s.as_str());
        prop_assert!(HeaderValue::from_str(tag.as_str()).is_ok());
        prop_assert!(!tag.opaque().contains(['"', '\\', ',']));
        prop_assert_eq!(tag.version::<String>(), Some(s.clone()));
        let mut out = String::new();
        s.encode(&mut out).unwrap();
        prop_assert_eq!(String::decode(&out), Some(s));
    }

    #[test]
    fn no_panic_on_any_header_bytes(
        values in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 6),
        method in prop_oneof![Just(Method::GET), Just(Method::HEAD), Just(Method::PUT), Just(Method::DELETE)],
        exists in any::<bool>(),
    ) {
        let names = ["if-match", "if-none-match", "if-modified-since", "if-unmodified-since", "if-range", "range"];
        let mut headers = HeaderMap::new();
        for (name, raw) in names.iter().zip(&values) {
            // HeaderValue refuses only CR, LF and NUL-like bytes; keep whatever it accepts.
            if let Ok(v) = HeaderValue::from_bytes(raw) {
                headers.append(HeaderName::from_static(name), v);
            }
            let _ = parse_http_date(raw);
            if let Ok(text) = std::str::from_utf8(raw) {
                let _ = text.parse::<ETag>();
            }
        }
        let c = Conditions::from_headers(&method, &headers);
        let current = Validators::new()
            .with_etag(ETag::from_version(&1_u8))
            .with_last_modified(std::time::SystemTime::now());
        let _ = c.evaluate(exists.then_some(&current));
        let _ = c.require_precondition();
    }
}

/// Every second an HTTP-date can name from 1970 to 9999.
const LAST_SECOND: u64 = 253_402_300_799;

proptest! {
    /// A differential test against `httpdate` on every form it reads and writes right:
    /// formatting, and parsing IMF-fixdate
    /// and asctime from 1970 on, and RFC 850 dates whose two-digit year both the 50-year
    /// rule of RFC 9110 section 5.6.7 and httpdate's fixed 1970 pivot put in the same
    /// century (1977 to 2069, read in 2026 to 2027).
    #[test]
    fn rfc9110_5_6_7_dates_agree_with_httpdate_where_it_is_right(secs in 0..=LAST_SECOND) {
        let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
        let imf = httpdate::fmt_http_date(time);
        prop_assert_eq!(format_http_date(time), imf.as_str());
        prop_assert_eq!(parse_http_date(imf.as_bytes()), Some(time));
        prop_assert_eq!(httpdate::parse_http_date(&imf).ok(), Some(time));

        let dt = chrono::DateTime::<chrono::Utc>::from(time);
        let asctime = dt.format("%a %b %e %H:%M:%S %Y").to_string();
        prop_assert_eq!(parse_http_date(asctime.as_bytes()), httpdate::parse_http_date(&asctime).ok());
        prop_assert_eq!(parse_http_date(asctime.as_bytes()), Some(time));

        let year = chrono::Datelike::year(&dt);
        if (1977..=2069).contains(&year) {
            let rfc850 = dt.format("%A, %d-%b-%y %H:%M:%S GMT").to_string();
            prop_assert_eq!(parse_http_date(rfc850.as_bytes()), httpdate::parse_http_date(&rfc850).ok());
            prop_assert_eq!(parse_http_date(rfc850.as_bytes()), Some(time));
        }
    }
}

//! Range requests (RFC 9110 section 14) for a response whose body is in memory or a
//! [`File`](crate::response::File) (read only for its ranges): one range
//! is a 206 with `Content-Range`, several are a 206 `multipart/byteranges`, none that can
//! be satisfied is a 416. `If-Range` (section 13.1.5) decides, through
//! [`Conditions::evaluate`](crate::Conditions::evaluate), whether the ranges may be served.

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};
use http::StatusCode;
use http::header::{self, HeaderValue};
use http_body_util::BodyExt as _;

use crate::{Conditions, Validators};

/// The most ranges one request may ask for. Many small or overlapping ranges are a known
/// amplification attack (RFC 9110 section 17.15, CVE-2011-3192): past this the `Range`
/// field is ignored and the whole representation is sent.
pub(crate) const MAX_RANGES: usize = 32;

/// The largest body served in ranges: it is held in memory to be sliced.
pub(crate) const MAX_BODY: u64 = 64 * 1024 * 1024;

/// One `range-spec` of a `bytes` range set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Spec {
    /// `first-last` or `first-`.
    From { first: u64, last: Option<u64> },
    /// `-length`: the last `length` bytes.
    Suffix { length: u64 },
}

/// Parses `bytes=...` (the unit is case-insensitive). `None` when the field is not a valid
/// byte-range set, or asks for more than [`MAX_RANGES`] ranges: either way it is ignored.
fn parse(value: &[u8]) -> Option<Vec<Spec>> {
    let text = std::str::from_utf8(value).ok()?;
    let (unit, set) = text.split_once('=')?;
    // OWS only (RFC 9110 section 5.6.3): any other space is part of an unknown unit.
    if !crate::etag::trim_ows(unit.as_bytes()).eq_ignore_ascii_case(b"bytes") {
        return None;
    }
    let mut specs = Vec::new();
    for member in set.split(',') {
        let member = member.trim_matches(|c| c == ' ' || c == '\t');
        if member.is_empty() {
            // Empty list elements are allowed (section 5.6.1).
            continue;
        }
        if specs.len() == MAX_RANGES {
            return None;
        }
        let (first, last) = member.split_once('-')?;
        let spec = if first.is_empty() {
            Spec::Suffix {
                length: digits(last)?,
            }
        } else {
            let first = digits(first)?;
            let last = if last.is_empty() {
                None
            } else {
                Some(digits(last)?)
            };
            if last.is_some_and(|last| last < first) {
                return None;
            }
            Spec::From { first, last }
        };
        specs.push(spec);
    }
    (!specs.is_empty()).then_some(specs)
}

fn digits(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // A position past u64 is past any body: saturate rather than refuse.
    Some(text.parse().unwrap_or(u64::MAX))
}

/// The satisfiable ranges over a body of `len` bytes, as inclusive `(first, last)` pairs,
/// sorted, with overlapping and adjacent ranges coalesced (section 14.2 allows it). `None`
/// when none is satisfiable (416).
fn resolve(specs: &[Spec], len: u64) -> Option<Vec<(u64, u64)>> {
    if len == 0 {
        return None;
    }
    let mut ranges: Vec<(u64, u64)> = specs
        .iter()
        .filter_map(|spec| match *spec {
            Spec::From { first, last } if first < len => {
                Some((first, last.map_or(len - 1, |l| l.min(len - 1))))
            }
            Spec::From { .. } => None,
            Spec::Suffix { length: 0 } => None,
            Spec::Suffix { length } => Some((len.saturating_sub(length), len - 1)),
        })
        .collect();
    if ranges.is_empty() {
        return None;
    }
    ranges.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::with_capacity(ranges.len());
    for (first, last) in ranges {
        match merged.last_mut() {
            Some(prev) if first <= prev.1.saturating_add(1) => prev.1 = prev.1.max(last),
            _ => merged.push((first, last)),
        }
    }
    Some(merged)
}

/// The length of the body, if it is known and it can be served in ranges: a body in
/// memory up to [`MAX_BODY`], or a file of any length.
fn rangeable_len(res: &Response) -> Option<u64> {
    if res.headers().contains_key(header::CONTENT_RANGE) {
        return None;
    }
    #[cfg(feature = "fs")]
    if let Some(source) = res.extensions().get::<crate::file::Source>() {
        return Some(source.len);
    }
    let len = http_body::Body::size_hint(res.body()).exact()?;
    (len <= MAX_BODY).then_some(len)
}

/// The bytes of each range: read from the file alone when the body is one, sliced from
/// the body otherwise.
async fn read_ranges(
    res: Response,
    ranges: &[(u64, u64)],
) -> Option<(http::response::Parts, Vec<Bytes>)> {
    #[cfg(feature = "fs")]
    if let Some(source) = res.extensions().get::<crate::file::Source>().cloned() {
        let (parts, _body) = res.into_parts();
        let mut out = Vec::with_capacity(ranges.len());
        for &(first, last) in ranges {
            out.push(source.read(first, last).await.ok()?);
        }
        return Some((parts, out));
    }
    let (parts, body) = res.into_parts();
    let bytes = body.collect().await.ok()?.to_bytes();
    let out = ranges
        .iter()
        .map(|&(first, last)| bytes.slice(index(first)..index(last) + 1))
        .collect();
    Some((parts, out))
}

/// Serves the request's `Range` from the 200 a GET would get, or adds `Accept-Ranges` to a
/// 200 that could be served in ranges. Anything else goes out unchanged.
///
/// RFC 9110 section 14.2 defines range handling for GET only: a HEAD gets the 200's fields
/// (with `Accept-Ranges`), as it would without a `Range`.
pub(crate) async fn apply(conditions: &Conditions, res: Response) -> Response {
    match prepare(conditions, res) {
        Prepared::Done(res) => res,
        Prepared::Cut(res, len) => cut(conditions, res, len).await,
    }
}

/// What [`apply`] does without reading the body.
pub(crate) enum Prepared {
    /// The response to send as it is, `Accept-Ranges` added where it belongs.
    Done(Response),
    /// A 200 of `len > 0` bytes that a range is to be cut from, by [`cut`].
    Cut(Response, u64),
}

/// The part of [`apply`] that needs no body.
pub(crate) fn prepare(conditions: &Conditions, mut res: Response) -> Prepared {
    let method = conditions.method();
    if res.status() != StatusCode::OK || !crate::conditions::is_read(method) {
        return Prepared::Done(res);
    }
    let Some(len) = rangeable_len(&res) else {
        return Prepared::Done(res);
    };
    res.headers_mut()
        .insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    // An empty representation has no byte to select: it is sent whole, as if no range had
    // been asked for (section 14.1.3 leaves a suffix range on it satisfiable, with nothing
    // that Content-Range could describe).
    if conditions.range().is_none() || len == 0 {
        return Prepared::Done(res);
    }
    Prepared::Cut(res, len)
}

/// The rest of [`apply`], for a 200 of `len > 0` bytes and a request with a `Range`.
pub(crate) async fn cut(conditions: &Conditions, res: Response, len: u64) -> Response {
    let Some(range) = conditions.range() else {
        return res;
    };
    // Section 13.1.5: If-Range against the validators the 200 carries.
    let mut current = Validators::new().with_last_modified(
        res.headers()
            .get(header::LAST_MODIFIED)
            .and_then(|v| crate::header::parse_http_date(v.as_bytes())),
    );
    if let Some(tag) = res
        .headers()
        .get(header::ETAG)
        .and_then(|v| crate::ETag::try_from(v).ok())
    {
        current = current.with_etag(tag);
    }
    if !conditions
        .evaluate(Some(&current))
        .is_ok_and(crate::Proceed::honor_range)
    {
        return res;
    }
    let Some(specs) = parse(range.as_bytes()) else {
        return res;
    };
    let Some(ranges) = resolve(&specs, len) else {
        return unsatisfiable(res, len);
    };
    let Some((mut parts, pieces)) = read_ranges(res, &ranges).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    parts.status = StatusCode::PARTIAL_CONTENT;
    parts.headers.remove(header::CONTENT_LENGTH);
    if let ([(first, last)], [piece]) = (&ranges[..], &pieces[..]) {
        let content_range = format!("bytes {first}-{last}/{len}");
        if let Ok(value) = HeaderValue::from_str(&content_range) {
            parts.headers.insert(header::CONTENT_RANGE, value);
        }
        return Response::from_parts(parts, Body::from(piece.clone()));
    }
    let content_type = parts.headers.remove(header::CONTENT_TYPE);
    keep_compressors_off(&mut parts.headers);
    let boundary = boundary(&pieces);
    let body = multipart(len, &ranges, &pieces, content_type.as_ref(), &boundary);
    if let Ok(value) = HeaderValue::from_str(&format!("multipart/byteranges; boundary={boundary}"))
    {
        parts.headers.insert(header::CONTENT_TYPE, value);
    }
    Response::from_parts(parts, Body::from(body))
}

/// Marks a multipart 206 so that no compressor outside codes it.
///
/// Its parts name offsets in the bytes it was cut from (section 14.6), so a coding applied
/// to the whole afterwards would make every `Content-Range` wrong, and its tag would then
/// be put on bytes it does not name. A single range is safe already: tower-http's
/// `CompressionLayer` leaves any response with a `Content-Range` alone, but a multipart
/// 206 must not have one (section 15.3.7.2). What it does leave alone besides is a
/// response that already names its coding, so the 206 gets `Content-Encoding: identity`
/// ("no coding", section 12.5.3) unless the 200 it was cut from had a coding of its own
/// (its parts then are ranges of those coded bytes, and say so). `EncodingTagsLayer`
/// removes the `identity` again on the way out; behind a bare compressor it goes out as it
/// is, which every client reads as no coding.
fn keep_compressors_off(headers: &mut http::HeaderMap) {
    if !headers.contains_key(header::CONTENT_ENCODING) {
        headers.insert(
            header::CONTENT_ENCODING,
            HeaderValue::from_static("identity"),
        );
    }
}

/// A position in a body held in memory (so no more than `usize::MAX`).
fn index(position: u64) -> usize {
    usize::try_from(position).unwrap_or(usize::MAX)
}

/// 416 Range Not Satisfiable, with `Content-Range: bytes */LEN` (section 15.5.17); the
/// representation's validators and cache fields stay.
fn unsatisfiable(res: Response, len: u64) -> Response {
    let (mut parts, _) = res.into_parts();
    let problem = crate::precondition::problem(
        StatusCode::RANGE_NOT_SATISFIABLE,
        "Range Not Satisfiable",
        "No range of this request starts within the representation; Content-Range gives its length.",
    );
    let (problem_parts, body) = problem.into_parts();
    parts.status = StatusCode::RANGE_NOT_SATISFIABLE;
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.remove(header::ACCEPT_RANGES);
    if let Some(value) = problem_parts.headers.get(header::CONTENT_TYPE) {
        parts.headers.insert(header::CONTENT_TYPE, value.clone());
    }
    if let Ok(value) = HeaderValue::from_str(&format!("bytes */{len}")) {
        parts.headers.insert(header::CONTENT_RANGE, value);
    }
    Response::from_parts(parts, body)
}

/// A boundary that occurs in none of the parts.
fn boundary(pieces: &[Bytes]) -> String {
    let mut seed = pieces
        .iter()
        .fold(0, |h, p| xxhash_rust::xxh3::xxh3_64_with_seed(p, h));
    loop {
        let candidate = format!("etag-byteranges-{seed:016x}");
        let found = pieces.iter().any(|p| {
            p.windows(candidate.len())
                .any(|w| w == candidate.as_bytes())
        });
        if !found {
            return candidate;
        }
        seed = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    }
}

/// The `multipart/byteranges` body (section 14.6): one part per range, in order.
fn multipart(
    len: u64,
    ranges: &[(u64, u64)],
    pieces: &[Bytes],
    content_type: Option<&HeaderValue>,
    boundary: &str,
) -> Bytes {
    let mut out = BytesMut::new();
    for (&(first, last), piece) in ranges.iter().zip(pieces) {
        out.extend_from_slice(b"\r\n--");
        out.extend_from_slice(boundary.as_bytes());
        out.extend_from_slice(b"\r\n");
        if let Some(ct) = content_type {
            out.extend_from_slice(b"Content-Type: ");
            out.extend_from_slice(ct.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(
            format!("Content-Range: bytes {first}-{last}/{len}\r\n\r\n").as_bytes(),
        );
        out.extend_from_slice(piece);
    }
    out.extend_from_slice(b"\r\n--");
    out.extend_from_slice(boundary.as_bytes());
    out.extend_from_slice(b"--\r\n");
    out.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rfc9110_14_1_2_range_syntax() {
        use Spec::*;
        assert_eq!(
            parse(b"bytes=0-499"),
            Some(vec![From {
                first: 0,
                last: Some(499)
            }])
        );
        assert_eq!(
            parse(b"Bytes=9500-, -500 ,,"),
            Some(vec![
                From {
                    first: 9500,
                    last: None
                },
                Suffix { length: 500 }
            ])
        );
        for bad in [
            &b"bytes=5-1"[..],
            b"bytes=",
            b"bytes=a-b",
            b"items=0-1",
            b"bytes=-",
            b"bytes 0-1",
            b"bytes=0-1-2",
            b"bytes=+1-2",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
        let many = format!("bytes={}", vec!["0-0"; MAX_RANGES + 1].join(","));
        assert_eq!(parse(many.as_bytes()), None);
        let enough = format!("bytes={}", vec!["0-0"; MAX_RANGES].join(","));
        assert!(parse(enough.as_bytes()).is_some());
    }

    #[test]
    fn rfc9110_14_1_2_satisfiable_ranges_and_coalescing() {
        let specs = parse(b"bytes=0-9, 5-19, 30-, -5, 100-200").unwrap();
        assert_eq!(resolve(&specs, 40), Some(vec![(0, 19), (30, 39)]));
        assert_eq!(resolve(&parse(b"bytes=40-").unwrap(), 40), None);
        assert_eq!(resolve(&parse(b"bytes=-0").unwrap(), 40), None);
        assert_eq!(
            resolve(&parse(b"bytes=-100").unwrap(), 40),
            Some(vec![(0, 39)])
        );
        assert_eq!(resolve(&parse(b"bytes=0-").unwrap(), 0), None);
        assert_eq!(
            resolve(&parse(b"bytes=0-0,2-2").unwrap(), 3),
            Some(vec![(0, 0), (2, 2)])
        );
        assert_eq!(
            resolve(&parse(b"bytes=0-0,1-1").unwrap(), 3),
            Some(vec![(0, 1)])
        );
    }

    /// The bytes a range set selects, one byte at a time: the reference.
    fn selected(specs: &[Spec], len: u64) -> Vec<bool> {
        let mut keep = vec![false; usize::try_from(len).unwrap()];
        for spec in specs {
            let (first, last) = match *spec {
                Spec::From { first, last } => (first, last.unwrap_or(u64::MAX)),
                Spec::Suffix { length } => (
                    len.saturating_sub(length),
                    if length == 0 { 0 } else { u64::MAX },
                ),
            };
            if matches!(spec, Spec::Suffix { length: 0 }) {
                continue;
            }
            for (i, k) in keep.iter_mut().enumerate() {
                let i = i as u64;
                if i >= first && i <= last {
                    *k = true;
                }
            }
        }
        keep
    }

    fn spec() -> impl Strategy<Value = Spec> {
        prop_oneof![
            (0u64..80, proptest::option::of(0u64..80)).prop_filter_map("last < first", |(f, l)| {
                match l {
                    Some(l) if l < f => None,
                    _ => Some(Spec::From { first: f, last: l }),
                }
            }),
            (0u64..80).prop_map(|length| Spec::Suffix { length }),
        ]
    }

    proptest! {
        /// Any set of ranges over any body length gives either 416 (nothing selected) or
        /// exactly the selected bytes, once each, in order, in disjoint non-adjacent ranges.
        #[test]
        fn rfc9110_14_ranges_select_exactly_the_right_bytes(
            specs in proptest::collection::vec(spec(), 1..8),
            len in 0u64..64,
        ) {
            let keep = selected(&specs, len);
            match resolve(&specs, len) {
                None => prop_assert!(keep.iter().all(|k| !k)),
                Some(ranges) => {
                    let mut got = vec![false; keep.len()];
                    let mut previous: Option<u64> = None;
                    for (first, last) in ranges {
                        prop_assert!(first <= last && last < len);
                        if let Some(p) = previous {
                            prop_assert!(first > p + 1, "coalesced");
                        }
                        previous = Some(last);
                        for i in first..=last {
                            got[i as usize] = true;
                        }
                    }
                    prop_assert_eq!(got, keep);
                }
            }
        }
    }
}

//! The RFC 9110 section 13.2.2 decision, from the RFC text (sections 13.1.1 to 13.1.5 and
//! 13.2.2), over the raw field lines of a request.
//!
//! Readings the RFC leaves open, taken from the engine's documentation and conformance
//! table: `*` mixed with other elements counts in `If-Match` and in the `If-None-Match`
//! of a GET or HEAD only when it is alone (a field with nothing but `*`), and counts all
//! the same in the `If-None-Match` of other methods (the safe reading of a create-only
//! write); a date field with more than one line is not a valid date; sub-second
//! modification times compare at the second they fall in (section 5.6.7), and times
//! after 9999 as its last second (the last an HTTP-date names); `If-Range` is an
//! entity-tag when it starts with `"` or `W/`, a date otherwise, and a date never holds
//! (the engine never knows a `Last-Modified` to be strong, section 8.8.2.2).

use super::date;
use super::list;

/// The last second an HTTP-date can name, in seconds since the epoch.
pub(crate) const LAST_SECOND: i64 = 253_402_300_799;

/// What the server does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Perform the method; `honor_range`: serve the `Range` (section 13.1.5).
    Proceed {
        honor_range: bool,
    },
    NotModified,
    Failed,
}

/// The target resource's current representation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Current {
    /// `(weak, opaque)`.
    pub(crate) tag: Option<(bool, String)>,
    /// Nanoseconds since the epoch (negative before it).
    pub(crate) modified_nanos: Option<i128>,
}

/// A request: its method and the lines of each conditional field, in order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Fields<'a> {
    pub(crate) if_match: Vec<&'a [u8]>,
    pub(crate) if_none_match: Vec<&'a [u8]>,
    pub(crate) if_modified_since: Vec<&'a [u8]>,
    pub(crate) if_unmodified_since: Vec<&'a [u8]>,
    pub(crate) if_range: Vec<&'a [u8]>,
    pub(crate) range: Vec<&'a [u8]>,
}

/// The second a modification time is sent as in `Last-Modified`.
pub(crate) fn sent_second(nanos: i128) -> i64 {
    let floor = nanos.div_euclid(1_000_000_000);
    floor.min(i128::from(LAST_SECOND)) as i64
}

/// A date field: valid only as one line holding one HTTP-date (sections 13.1.3, 13.1.4).
fn date_field(lines: &[&[u8]], now_year: i64) -> Option<i64> {
    match lines {
        [one] => date::parse(one, now_year).map(|p| p.secs),
        _ => None,
    }
}

/// Evaluates the request against `current` (`None`: no current representation).
pub(crate) fn decide(method: &http::Method, f: &Fields<'_>, current: Option<&Current>) -> Outcome {
    let now_year = date::current_year();
    let read = method == http::Method::GET || method == http::Method::HEAD;
    let tag = current.and_then(|c| c.tag.as_ref());
    let modified = current.and_then(|c| c.modified_nanos).map(sent_second);

    // Step 1: If-Match (13.1.1), strong comparison; `*`: a current representation exists.
    if !f.if_match.is_empty() {
        let e = list::all_elements(f.if_match.iter().copied());
        let matches = tag.is_some_and(|(weak, o)| list::strong_match(&e, *weak, o.as_bytes()));
        let holds = current.is_some() && (matches || list::star_alone(&e));
        if !holds {
            return Outcome::Failed;
        }
    } else if let (Some(date), Some(modified)) =
        (date_field(&f.if_unmodified_since, now_year), modified)
    {
        // Step 2: If-Unmodified-Since (13.1.4): false when modified after the date.
        if modified > date {
            return Outcome::Failed;
        }
    }

    // Step 3: If-None-Match (13.1.2), weak comparison; `*`: any current representation.
    if !f.if_none_match.is_empty() {
        let e = list::all_elements(f.if_none_match.iter().copied());
        let matches = tag.is_some_and(|(_, o)| list::weak_match(&e, o.as_bytes()));
        let star = if read {
            list::star_alone(&e)
        } else {
            list::has_star(&e)
        };
        if current.is_some() && (matches || star) {
            return if read {
                Outcome::NotModified
            } else {
                Outcome::Failed
            };
        }
    } else if read {
        // Step 4: If-Modified-Since (13.1.3), GET and HEAD only.
        if let (Some(date), Some(modified)) = (date_field(&f.if_modified_since, now_year), modified)
            && modified <= date
        {
            return Outcome::NotModified;
        }
    }

    // Step 5: If-Range (13.1.5), for a GET with a Range.
    let honor_range = !f.range.is_empty()
        && method == http::Method::GET
        && match (&f.if_range[..], current) {
            ([], _) => true,
            ([one], Some(current)) => if_range_holds(one, current, now_year),
            _ => false,
        };
    Outcome::Proceed { honor_range }
}

fn if_range_holds(value: &[u8], current: &Current, now_year: i64) -> bool {
    let start = value.iter().position(|&b| b != b' ' && b != b'\t');
    let end = value.iter().rposition(|&b| b != b' ' && b != b'\t');
    let value = match (start, end) {
        (Some(s), Some(e)) => &value[s..=e],
        _ => &value[..0],
    };
    if value.first() == Some(&b'"') || value.starts_with(b"W/") {
        // An entity-tag: it must be one, strong, and strong-match the current one.
        let (weak, rest) = match value.strip_prefix(b"W/") {
            Some(rest) => (true, rest),
            None => (false, value),
        };
        let opaque = rest
            .strip_prefix(b"\"")
            .and_then(|r| r.strip_suffix(b"\""))
            .filter(|o| o.iter().all(|&b| list::is_etagc(b)));
        return match (opaque, &current.tag) {
            (Some(opaque), Some((cur_weak, cur))) => !weak && !cur_weak && opaque == cur.as_bytes(),
            _ => false,
        };
    }
    // A date: step 1 asks for a strong validator, and an HTTP-date is one only when the
    // origin reliably knows the representation did not change twice within its second
    // (section 8.8.2.2). This engine never claims to know that, so a date never holds.
    let _ = (value, now_year);
    false
}

//! HTTP dates (RFC 9110 section 5.6.7) at their one-second resolution.

use std::time::{SystemTime, UNIX_EPOCH};

use http::HeaderValue;

/// Parses an HTTP-date in any of its three formats (IMF-fixdate, RFC 850, asctime).
///
/// `None` for anything else, including non-UTF-8 bytes and a list of dates.
///
/// # Examples
///
/// ```
/// use etag_runtime::header::parse_http_date;
///
/// let a = parse_http_date(b"Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
/// assert_eq!(parse_http_date(b"Sunday, 06-Nov-94 08:49:37 GMT"), Some(a));
/// assert_eq!(parse_http_date(b"Sun Nov  6 08:49:37 1994"), Some(a));
/// assert_eq!(parse_http_date(b"yesterday"), None);
/// ```
pub fn parse_http_date(raw: &[u8]) -> Option<SystemTime> {
    let s = std::str::from_utf8(crate::etag::trim_ows(raw)).ok()?;
    httpdate::parse_http_date(s).ok()
}

/// Formats a time as an IMF-fixdate header value, truncated to the second.
///
/// Times before 1970 are sent as the epoch and times after 9999 as its last second: the
/// range an HTTP-date can express.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use etag_runtime::header::format_http_date;
///
/// let t = UNIX_EPOCH + Duration::from_millis(784_111_777_700);
/// assert_eq!(format_http_date(t), "Sun, 06 Nov 1994 08:49:37 GMT");
/// ```
pub fn format_http_date(time: SystemTime) -> HeaderValue {
    let formatted = httpdate::fmt_http_date(truncate(time));
    HeaderValue::from_str(&formatted)
        .unwrap_or_else(|_| HeaderValue::from_static("Thu, 01 Jan 1970 00:00:00 GMT"))
}

/// The last second an HTTP-date can name: 9999-12-31 23:59:59 UTC.
const LAST_SECOND: u64 = 253_402_300_799;

/// Truncates to a whole second (RFC 9110 section 5.6.7: HTTP-date has one-second
/// resolution), clamping to what an HTTP-date can express: 1970 to the end of 9999.
pub(crate) fn truncate(time: SystemTime) -> SystemTime {
    match time.duration_since(UNIX_EPOCH) {
        Ok(d) => UNIX_EPOCH + std::time::Duration::from_secs(d.as_secs().min(LAST_SECOND)),
        Err(_) => UNIX_EPOCH,
    }
}

/// Whether the resource's modification time is at or before an HTTP-date, compared at
/// one-second resolution: a resource changed at 12:00:00.700 is not modified since 12:00:00.
pub(crate) fn not_after(modified: SystemTime, date: SystemTime) -> bool {
    truncate(modified) <= date
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn rfc9110_5_6_7_subsecond_times_compare_at_the_second() {
        let noon = parse_http_date(b"Wed, 25 Nov 2026 12:00:00 GMT").unwrap();
        assert!(not_after(noon + Duration::from_millis(700), noon));
        assert!(!not_after(noon + Duration::from_millis(1_000), noon));
        assert!(not_after(noon - Duration::from_millis(1), noon));
    }

    #[test]
    fn rfc9110_5_6_7_invalid_dates() {
        for bad in [
            &b""[..],
            b"Wed, 25 Nov 2026 12:00:00 GMT, Wed, 25 Nov 2026 12:00:00 GMT",
            b"Wed, 25 Nov 2026 12:00:00 UTC",
            b"2026-11-25T12:00:00Z",
            b"\xff\xfe",
            b"Wed, 31 Feb 2026 12:00:00 GMT",
        ] {
            assert_eq!(parse_http_date(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn formatting_matches_httpdate() {
        for secs in [0, 784_111_777, 1_764_079_387, 253_402_300_799] {
            let t = UNIX_EPOCH + Duration::from_secs(secs);
            assert_eq!(format_http_date(t), httpdate::fmt_http_date(t).as_str());
        }
    }

    #[test]
    fn far_future_times_clamp_instead_of_panicking() {
        let far = UNIX_EPOCH + Duration::from_secs(400_000_000_000);
        assert_eq!(format_http_date(far), "Fri, 31 Dec 9999 23:59:59 GMT");
        let date = parse_http_date(b"Fri, 31 Dec 9999 23:59:59 GMT").unwrap();
        assert!(not_after(far, date));
    }

    #[test]
    fn pre_epoch_times_clamp() {
        assert_eq!(
            format_http_date(UNIX_EPOCH - Duration::from_secs(10)),
            "Thu, 01 Jan 1970 00:00:00 GMT"
        );
    }
}

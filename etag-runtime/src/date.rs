//! HTTP dates (RFC 9110 section 5.6.7) at their one-second resolution.

use std::time::{SystemTime, UNIX_EPOCH};

use http::HeaderValue;

/// Parses an HTTP-date in any of its three formats (IMF-fixdate, RFC 850, asctime).
///
/// `None` for anything else, including non-UTF-8 bytes, a list of dates, a day that the
/// month does not have, and a day name that does not match the date. Dates before 1970
/// are valid. A two-digit RFC 850 year is read as RFC 9110 section 5.6.7 says: in the
/// century that puts it no more than 50 years in the future.
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
    parse_at(crate::etag::trim_ows(raw), current_year())
}

/// The year it is now, for the 50-year rule of two-digit years.
fn current_year() -> i64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    civil_from_days(secs.div_euclid(86_400)).0
}

const DAYS: [&[u8]; 7] = [b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat", b"Sun"];
const LONG_DAYS: [&[u8]; 7] = [
    b"Monday",
    b"Tuesday",
    b"Wednesday",
    b"Thursday",
    b"Friday",
    b"Saturday",
    b"Sunday",
];
const MONTHS: [&[u8]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// The three formats of RFC 9110 section 5.6.7, with `now_year` for two-digit years.
fn parse_at(s: &[u8], now_year: i64) -> Option<SystemTime> {
    // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
    if s.len() == 29 && s[3] == b',' {
        let weekday = DAYS.iter().position(|d| *d == &s[..3])?;
        expect(&s[3..5], b", ")?;
        let day = digits(&s[5..7])?;
        expect(&s[7..8], b" ")?;
        let month = month(&s[8..11])?;
        expect(&s[11..12], b" ")?;
        let year = digits(&s[12..16])?;
        expect(&s[16..17], b" ")?;
        let seconds = time_of_day(&s[17..25])?;
        expect(&s[25..], b" GMT")?;
        return to_time(year, month, day, seconds, weekday);
    }
    // rfc850-date: "Sunday, 06-Nov-94 08:49:37 GMT"
    if let Some(comma) = s.iter().position(|&b| b == b',') {
        let weekday = LONG_DAYS.iter().position(|d| *d == &s[..comma])?;
        let rest = &s[comma..];
        if rest.len() != 24 {
            return None;
        }
        expect(&rest[..2], b", ")?;
        let day = digits(&rest[2..4])?;
        expect(&rest[4..5], b"-")?;
        let month = month(&rest[5..8])?;
        expect(&rest[8..9], b"-")?;
        let yy = digits(&rest[9..11])?;
        expect(&rest[11..12], b" ")?;
        let seconds = time_of_day(&rest[12..20])?;
        expect(&rest[20..], b" GMT")?;
        // Section 5.6.7: a two-digit year more than 50 years in the future is the most
        // recent past year with the same last two digits.
        let mut year = now_year - now_year.rem_euclid(100) + yy;
        if year > now_year + 50 {
            year -= 100;
        }
        return to_time(year, month, day, seconds, weekday);
    }
    // asctime-date: "Sun Nov  6 08:49:37 1994"
    if s.len() == 24 {
        let weekday = DAYS.iter().position(|d| *d == &s[..3])?;
        expect(&s[3..4], b" ")?;
        let month = month(&s[4..7])?;
        expect(&s[7..8], b" ")?;
        let day = match s[8] {
            b' ' => digits(&s[9..10])?,
            _ => digits(&s[8..10])?,
        };
        expect(&s[10..11], b" ")?;
        let seconds = time_of_day(&s[11..19])?;
        expect(&s[19..20], b" ")?;
        let year = digits(&s[20..24])?;
        return to_time(year, month, day, seconds, weekday);
    }
    None
}

fn expect(got: &[u8], want: &[u8]) -> Option<()> {
    (got == want).then_some(())
}

/// A run of ASCII digits as a number.
fn digits(b: &[u8]) -> Option<i64> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0, |n, &d| n * 10 + i64::from(d - b'0')))
}

fn month(b: &[u8]) -> Option<i64> {
    let index = MONTHS.iter().position(|m| *m == b)?;
    i64::try_from(index).ok().map(|m| m + 1)
}

/// `HH:MM:SS` as seconds into the day.
fn time_of_day(b: &[u8]) -> Option<i64> {
    if b.len() != 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    let (h, m, s) = (digits(&b[..2])?, digits(&b[3..5])?, digits(&b[6..])?);
    (h < 24 && m < 60 && s < 60).then_some(h * 3600 + m * 60 + s)
}

/// The instant, if the date exists and falls on `weekday` (0 = Monday).
fn to_time(year: i64, month: i64, day: i64, seconds: i64, weekday: usize) -> Option<SystemTime> {
    if !(1..=9999).contains(&year) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    // 1970-01-01 was a Thursday.
    let actual = usize::try_from((days + 3).rem_euclid(7)).ok()?;
    if actual != weekday {
        return None;
    }
    let secs = days * 86_400 + seconds;
    let magnitude = std::time::Duration::from_secs(secs.unsigned_abs());
    if secs >= 0 {
        UNIX_EPOCH.checked_add(magnitude)
    } else {
        UNIX_EPOCH.checked_sub(magnitude)
    }
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The (year, month, day) of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Formats a time as an IMF-fixdate header value, truncated to the second.
///
/// Times after 9999 are sent as its last second, the last an HTTP-date can name.
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
    // The same resource is served with the same time over and over: each thread keeps the
    // last value it made, with the time it was asked for and that time's second, and hands
    // out a reference-counted copy of it to the same time, or to another in the same
    // second (a layer that reads `Last-Modified` back and writes it again asks for the
    // truncated time after the precise one).
    thread_local! {
        static LAST: std::cell::RefCell<Option<(SystemTime, i64, HeaderValue)>> =
            const { std::cell::RefCell::new(None) };
    }
    // `try_with`: called from another thread-local's destructor after this one's, it
    // formats without keeping.
    LAST.try_with(|last| {
        let Ok(mut last) = last.try_borrow_mut() else {
            return format_second(second_of(time));
        };
        if let Some((at, _, value)) = &*last
            && *at == time
        {
            return value.clone();
        }
        let second = second_of(time);
        if let Some((_, kept, value)) = &*last
            && *kept == second
        {
            return value.clone();
        }
        let value = format_second(second);
        *last = Some((time, second, value.clone()));
        value
    })
    .unwrap_or_else(|_| format_second(second_of(time)))
}

/// The second an HTTP-date of `time` names, from the epoch: truncated, and clamped to
/// the years 1 to 9999.
fn second_of(time: SystemTime) -> i64 {
    let secs = match truncate(time).duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    };
    // An HTTP-date names no year before 1: earlier times are its first second, weekday
    // and time of day included, so that the value still parses as what it says.
    secs.max(FIRST_SECOND_OF_YEAR_1)
}

fn format_second(secs: i64) -> HeaderValue {
    let days = secs.div_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let second = secs.rem_euclid(86_400);
    let weekday = usize::try_from((days + 3).rem_euclid(7)).unwrap_or(0);
    let mut out = *b"Thu, 01 Jan 1970 00:00:00 GMT";
    out[..3].copy_from_slice(DAYS[weekday]);
    two(&mut out[5..7], day);
    out[8..11].copy_from_slice(MONTHS[usize::try_from(month - 1).unwrap_or(0)]);
    two(&mut out[12..14], year / 100);
    two(&mut out[14..16], year % 100);
    two(&mut out[17..19], second / 3600);
    two(&mut out[20..22], second / 60 % 60);
    two(&mut out[23..25], second % 60);
    HeaderValue::from_bytes(&out)
        .unwrap_or_else(|_| HeaderValue::from_static("Thu, 01 Jan 1970 00:00:00 GMT"))
}

/// 0001-01-01T00:00:00Z (a Monday), in seconds from the epoch.
const FIRST_SECOND_OF_YEAR_1: i64 = -62_135_596_800;

/// Two decimal digits.
fn two(out: &mut [u8], n: i64) {
    let n = u8::try_from(n.rem_euclid(100)).unwrap_or(0);
    out[0] = b'0' + n / 10;
    out[1] = b'0' + n % 10;
}

/// The last second an HTTP-date can name: 9999-12-31 23:59:59 UTC.
const LAST_SECOND: u64 = 253_402_300_799;

/// Truncates to the whole second at or before `time` (RFC 9110 section 5.6.7: HTTP-date
/// has one-second resolution), clamping to the end of 9999, the last an HTTP-date names.
pub(crate) fn truncate(time: SystemTime) -> SystemTime {
    match time.duration_since(UNIX_EPOCH) {
        Ok(d) => UNIX_EPOCH + std::time::Duration::from_secs(d.as_secs().min(LAST_SECOND)),
        Err(e) => {
            let d = e.duration();
            let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
            UNIX_EPOCH
                .checked_sub(std::time::Duration::from_secs(secs))
                .unwrap_or(UNIX_EPOCH)
        }
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

    /// Each thread keeps its last value: alternating times, times within one second and
    /// times a nanosecond or a second apart each get what they name.
    #[test]
    fn the_kept_value_is_only_handed_out_for_its_own_second() {
        let a = UNIX_EPOCH + Duration::from_secs(784_111_777);
        let b = UNIX_EPOCH + Duration::from_secs(1_764_079_387);
        for _ in 0..3 {
            for t in [
                a,
                a,
                b,
                a + Duration::from_nanos(1),
                a + Duration::from_millis(999),
                a + Duration::from_millis(1_000),
                b + Duration::from_secs(1),
                b,
                b + Duration::from_micros(123_456),
                b - Duration::from_nanos(1),
            ] {
                assert_eq!(format_http_date(t), httpdate::fmt_http_date(t).as_str());
            }
        }
    }

    #[test]
    fn far_future_times_clamp_instead_of_panicking() {
        let far = UNIX_EPOCH + Duration::from_secs(400_000_000_000);
        assert_eq!(format_http_date(far), "Fri, 31 Dec 9999 23:59:59 GMT");
        let date = parse_http_date(b"Fri, 31 Dec 9999 23:59:59 GMT").unwrap();
        assert!(not_after(far, date));
    }

    /// RFC 9110 section 5.6.7, the 50-year rule, with "now" in 2026.
    #[test]
    fn rfc9110_5_6_7_two_digit_years_are_at_most_50_years_ahead() {
        let year = |raw: &[u8]| {
            let t = parse_at(raw, 2026).unwrap();
            let secs = match t.duration_since(UNIX_EPOCH) {
                Ok(d) => i64::try_from(d.as_secs()).unwrap(),
                Err(e) => -i64::try_from(e.duration().as_secs()).unwrap(),
            };
            civil_from_days(secs.div_euclid(86_400)).0
        };
        assert_eq!(year(b"Tuesday, 01-Jan-75 00:00:00 GMT"), 2075);
        assert_eq!(year(b"Thursday, 31-Dec-76 00:00:00 GMT"), 2076);
        assert_eq!(year(b"Saturday, 01-Jan-77 00:00:00 GMT"), 1977);
        assert_eq!(year(b"Sunday, 06-Nov-94 08:49:37 GMT"), 1994);
        assert_eq!(year(b"Wednesday, 01-Jan-70 00:00:00 GMT"), 2070);
        assert_eq!(year(b"Saturday, 01-Jan-00 00:00:00 GMT"), 2000);
        // In 2020, 2075 is more than 50 years ahead: "75" is 1975.
        let t = parse_at(b"Wednesday, 01-Jan-75 00:00:00 GMT", 2020);
        assert_eq!(t, parse_at(b"Wed, 01 Jan 1975 00:00:00 GMT", 2020));
    }

    #[test]
    fn rfc9110_5_6_7_dates_before_1970_are_dates() {
        let t = parse_http_date(b"Fri, 01 Jan 1960 00:00:00 GMT").unwrap();
        assert_eq!(t, UNIX_EPOCH - Duration::from_secs(315_619_200));
        assert_eq!(parse_http_date(b"Fri Jan  1 00:00:00 1960"), Some(t));
        assert!(parse_http_date(b"Mon, 01 Jan 0001 00:00:00 GMT").is_some());
        // Compared at the second, below the epoch as above it.
        let modified = t + Duration::from_millis(300);
        assert!(not_after(modified, t));
        assert!(!not_after(t + Duration::from_secs(1), t));
        assert!(not_after(t - Duration::from_millis(300), t));
    }

    #[test]
    fn a_day_name_must_match_the_date() {
        assert!(parse_http_date(b"Mon, 06 Nov 1994 08:49:37 GMT").is_none());
        assert!(parse_http_date(b"Monday, 06-Nov-94 08:49:37 GMT").is_none());
        assert!(parse_http_date(b"Sun, 29 Feb 2026 00:00:00 GMT").is_none());
        assert!(parse_http_date(b"Sun, 29 Feb 2032 00:00:00 GMT").is_some());
        assert!(parse_http_date(b"Mon, 30 Feb 2032 00:00:00 GMT").is_none());
        assert!(parse_http_date(b"Sun, 29 Feb 2032 24:00:00 GMT").is_none());
    }

    #[test]
    fn pre_epoch_times_format_as_dates() {
        assert_eq!(
            format_http_date(UNIX_EPOCH - Duration::from_millis(9_500)),
            "Wed, 31 Dec 1969 23:59:50 GMT"
        );
        let t = parse_http_date(b"Fri, 01 Jan 1960 00:00:00 GMT").unwrap();
        assert_eq!(format_http_date(t), "Fri, 01 Jan 1960 00:00:00 GMT");
    }
}

//! HTTP-date (RFC 9110 section 5.6.7), written from the grammar: each of the three forms
//! is matched against a template, character class by character class; the calendar
//! counts days from 0001-01-01 (a Monday) rather than from the epoch.
//!
//! Readings the grammar leaves to the recipient, taken as the engine documents them: the
//! day name must be the date's; years 0001 to 9999; second 60 is refused (as httpdate
//! does); surrounding SP and HTAB are trimmed (a field value's OWS).

/// Seconds from 0001-01-01 to 1970-01-01.
const EPOCH_FROM_0001: i64 = 719_162 * 86_400;

/// The short day names, Monday first, and the long ones.
pub(crate) const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
pub(crate) const LONG_DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
pub(crate) const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Which of the three forms a value has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Form {
    Imf,
    Rfc850,
    Asctime,
}

/// A parsed date: the form it was written in, its year as read, and its instant in seconds
/// since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Parsed {
    pub(crate) form: Form,
    pub(crate) year: i64,
    pub(crate) secs: i64,
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

fn month_len(y: i64, m: i64) -> i64 {
    const LEN: [i64; 12] = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if m == 2 && is_leap(y) {
        29
    } else {
        LEN[(m - 1) as usize]
    }
}

/// Days from 0001-01-01 to the given date (1-based month and day).
fn days_since_0001(y: i64, m: i64, d: i64) -> i64 {
    let p = y - 1;
    let mut days = 365 * p + p / 4 - p / 100 + p / 400;
    for month in 1..m {
        days += month_len(y, month);
    }
    days + d - 1
}

/// The civil date of a day count from 0001-01-01 (non-negative), by 400-, 100-, 4- and
/// 1-year cycles.
fn civil(mut days: i64) -> (i64, i64, i64) {
    let mut year = 1 + 400 * (days / 146_097);
    days %= 146_097;
    let c = (days / 36_524).min(3);
    year += 100 * c;
    days -= 36_524 * c;
    year += 4 * (days / 1461);
    days %= 1461;
    let y = (days / 365).min(3);
    year += y;
    days -= 365 * y;
    let mut month = 1;
    while days >= month_len(year, month) {
        days -= month_len(year, month);
        month += 1;
    }
    (year, month, days + 1)
}

/// Broken-down UTC time of an instant from 0001 to 9999: (year, month, day, weekday with
/// 0 = Monday, hour, minute, second).
pub(crate) fn broken_down(secs: i64) -> Option<(i64, i64, i64, usize, i64, i64, i64)> {
    let from_0001 = secs.checked_add(EPOCH_FROM_0001)?;
    if from_0001 < 0 {
        return None;
    }
    let days = from_0001 / 86_400;
    let rem = from_0001 % 86_400;
    let (y, m, d) = civil(days);
    if y > 9999 {
        return None;
    }
    Some((
        y,
        m,
        d,
        (days % 7) as usize,
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
    ))
}

/// Formats an instant (0001 to 9999) in one of the three forms.
pub(crate) fn format(secs: i64, form: Form) -> Option<String> {
    let (y, m, d, wd, hh, mm, ss) = broken_down(secs)?;
    let mon = MONTHS[(m - 1) as usize];
    Some(match form {
        Form::Imf => format!(
            "{}, {d:02} {mon} {y:04} {hh:02}:{mm:02}:{ss:02} GMT",
            DAYS[wd]
        ),
        Form::Rfc850 => format!(
            "{}, {d:02}-{mon}-{:02} {hh:02}:{mm:02}:{ss:02} GMT",
            LONG_DAYS[wd],
            y % 100
        ),
        Form::Asctime => format!("{} {mon} {d:>2} {hh:02}:{mm:02}:{ss:02} {y:04}", DAYS[wd]),
    })
}

/// Matches `s` against a template: `D` a digit, `_` a space or a digit, `a` a letter;
/// anything else stands for itself. Each maximal run of class characters is one field;
/// the fields come back in order.
fn template<'a>(s: &'a str, t: &str) -> Option<Vec<&'a str>> {
    if s.len() != t.len() || !s.is_ascii() {
        return None;
    }
    let (sb, tb) = (s.as_bytes(), t.as_bytes());
    let class = |c: u8| matches!(c, b'D' | b'_' | b'a');
    let mut fields = Vec::new();
    let mut start = None;
    for i in 0..tb.len() {
        let ok = match tb[i] {
            b'D' => sb[i].is_ascii_digit(),
            b'_' => sb[i].is_ascii_digit() || sb[i] == b' ',
            b'a' => sb[i].is_ascii_alphabetic(),
            lit => sb[i] == lit,
        };
        if !ok {
            return None;
        }
        match (class(tb[i]), start) {
            (true, None) => start = Some(i),
            (false, Some(st)) => {
                fields.push(&s[st..i]);
                start = None;
            }
            _ => {}
        }
    }
    if let Some(st) = start {
        fields.push(&s[st..]);
    }
    Some(fields)
}

fn num(s: &str) -> Option<i64> {
    let s = s.trim_start_matches(' ');
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn month_of(name: &str) -> Option<i64> {
    MONTHS.iter().position(|m| *m == name).map(|i| i as i64 + 1)
}

/// The instant of a date, if it exists and falls on the named day.
fn instant(form: Form, y: i64, m: i64, d: i64, hms: [i64; 3], day: usize) -> Option<Parsed> {
    let [hh, mm, ss] = hms;
    if !(1..=9999).contains(&y) || !(1..=12).contains(&m) || d < 1 || d > month_len(y, m) {
        return None;
    }
    if hh > 23 || mm > 59 || ss > 59 {
        return None;
    }
    let days = days_since_0001(y, m, d);
    if (days % 7) as usize != day {
        return None;
    }
    Some(Parsed {
        form,
        year: y,
        secs: days * 86_400 + hh * 3600 + mm * 60 + ss - EPOCH_FROM_0001,
    })
}

/// Parses an HTTP-date, reading a two-digit RFC 850 year in the century that puts it no
/// more than 50 years after `now_year`.
pub(crate) fn parse(raw: &[u8], now_year: i64) -> Option<Parsed> {
    let s = std::str::from_utf8(raw).ok()?;
    let s = s.trim_matches(|c| c == ' ' || c == '\t');
    if let Some(f) = template(s, "aaa, DD aaa DDDD DD:DD:DD GMT") {
        let day = DAYS.iter().position(|d| *d == f[0])?;
        let hms = [num(f[4])?, num(f[5])?, num(f[6])?];
        return instant(Form::Imf, num(f[3])?, month_of(f[2])?, num(f[1])?, hms, day);
    }
    if let Some(f) = template(s, "aaa aaa _D DD:DD:DD DDDD") {
        let day = DAYS.iter().position(|d| *d == f[0])?;
        // `_D`: a space then a digit, or two digits; not a digit then a space.
        let hms = [num(f[3])?, num(f[4])?, num(f[5])?];
        return instant(
            Form::Asctime,
            num(f[6])?,
            month_of(f[1])?,
            num(f[2])?,
            hms,
            day,
        );
    }
    let (name, rest) = s.split_once(", ")?;
    let day = LONG_DAYS.iter().position(|d| *d == name)?;
    let f = template(rest, "DD-aaa-DD DD:DD:DD GMT")?;
    let yy = num(f[2])?;
    let mut year = now_year - now_year.rem_euclid(100) + yy;
    if year > now_year + 50 {
        year -= 100;
    }
    let hms = [num(f[3])?, num(f[4])?, num(f[5])?];
    instant(Form::Rfc850, year, month_of(f[1])?, num(f[0])?, hms, day)
}

/// The year it is now (UTC).
pub(crate) fn current_year() -> i64 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    broken_down(secs).map_or(1970, |b| b.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_forms_of_rfc9110_5_6_7() {
        let want = 784_111_777;
        for raw in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
        ] {
            assert_eq!(
                parse(raw.as_bytes(), 2026).map(|p| p.secs),
                Some(want),
                "{raw}"
            );
        }
        assert_eq!(parse(b"Mon, 06 Nov 1994 08:49:37 GMT", 2026), None);
        assert_eq!(parse(b"Sun Nov 6  08:49:37 1994", 2026), None);
        assert_eq!(
            parse(b"Mon, 01 Jan 0001 00:00:00 GMT", 2026).map(|p| p.secs),
            Some(-EPOCH_FROM_0001)
        );
        for secs in [0, want, -EPOCH_FROM_0001, 253_402_300_799, -1] {
            for form in [Form::Imf, Form::Asctime] {
                let text = format(secs, form).unwrap();
                assert_eq!(parse(text.as_bytes(), 2026).map(|p| p.secs), Some(secs));
            }
        }
    }
}

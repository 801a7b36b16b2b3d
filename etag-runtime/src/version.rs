//! The field types a version or a timestamp can be stored in.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::TagBuf;

/// A type whose values can be a resource's version: its [`ETag`](crate::ETag) is made from it.
///
/// Implemented for all integer types, `str`/`String`, [`SystemTime`], and behind features
/// for `uuid::Uuid`, `chrono::DateTime<Utc>`, `time::OffsetDateTime` and `jiff::Timestamp`.
/// The encoding never produces a quote, a backslash, a comma, whitespace or a control
/// character, so no value can break a header.
///
/// # Examples
///
/// ```
/// use etag_runtime::{TagBuf, VersionValue};
///
/// let mut out = TagBuf::new();
/// "a \"quoted\" name".encode(&mut out);
/// assert_eq!(out.as_str(), "a%20%22quoted%22%20name");
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be used as a `#[version]`",
    label = "not a version type",
    note = "a version is an integer, a string, a `SystemTime`, or (with the matching features) a `uuid::Uuid`, `chrono::DateTime<Utc>`, `time::OffsetDateTime` or `jiff::Timestamp`"
)]
pub trait VersionValue {
    /// Appends the opaque-tag encoding of the value to `out`.
    ///
    /// Only `etagc` characters other than `\` and `,` may be written.
    fn encode(&self, out: &mut TagBuf);

    /// The value as a point in time, for timestamp versions: it then also gives
    /// `Last-Modified`. `None` for counters and strings.
    fn timestamp(&self) -> Option<SystemTime> {
        None
    }
}

/// A [`VersionValue`] that can be read back from an entity tag's opaque part.
///
/// This is how `If-Match: "7"` becomes the `7` of `UPDATE ... WHERE version = 7`.
///
/// # Examples
///
/// ```
/// use etag_runtime::{ParseVersion, TagBuf, VersionValue};
///
/// let mut out = TagBuf::new();
/// (-42_i32).encode(&mut out);
/// assert_eq!(i32::decode(out.as_str()), Some(-42));
/// assert_eq!(u8::decode("300"), None);
/// ```
pub trait ParseVersion: VersionValue + Sized {
    /// The value whose [`encode`](VersionValue::encode) wrote `opaque`, if any.
    fn decode(opaque: &str) -> Option<Self>;
}

/// A type whose values can be a resource's last-modification time (`#[last_modified]`).
///
/// # Examples
///
/// ```
/// use std::time::SystemTime;
/// use etag_runtime::TimestampValue;
///
/// let now = SystemTime::now();
/// assert_eq!(now.timestamp(), Some(now));
/// assert_eq!(None::<SystemTime>.timestamp(), None);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be used as `#[last_modified]`",
    label = "not a timestamp type",
    note = "a last-modified field is a `SystemTime`, or (with the matching features) a `chrono::DateTime<Utc>`, `time::OffsetDateTime` or `jiff::Timestamp`, or an `Option` of one"
)]
pub trait TimestampValue {
    /// The value as a point in time; `None` when there is none (an empty `Option`).
    fn timestamp(&self) -> Option<SystemTime>;
}

impl<T: VersionValue + ?Sized> VersionValue for &T {
    fn encode(&self, out: &mut crate::TagBuf) {
        (**self).encode(out);
    }
    fn timestamp(&self) -> Option<SystemTime> {
        (**self).timestamp()
    }
}

impl<T: TimestampValue + ?Sized> TimestampValue for &T {
    fn timestamp(&self) -> Option<SystemTime> {
        (**self).timestamp()
    }
}

impl<T: TimestampValue> TimestampValue for Option<T> {
    fn timestamp(&self) -> Option<SystemTime> {
        self.as_ref().and_then(TimestampValue::timestamp)
    }
}

macro_rules! integers {
    ($($t:ty)*) => {$(
        impl VersionValue for $t {
            fn encode(&self, out: &mut crate::TagBuf) {
                out.push_str(itoa::Buffer::new().format(*self));
            }
        }
        impl ParseVersion for $t {
            fn decode(opaque: &str) -> Option<Self> {
                canonical_integer(opaque)
            }
        }
    )*};
}
/// Parses an integer only in the one spelling `encode` writes: no '+', no leading zeros,
/// no "-0". One version has one tag, so a tag the evaluator would not strong-match can
/// never decode to the version it resembles.
fn canonical_integer<T: std::str::FromStr>(opaque: &str) -> Option<T> {
    let digits = opaque.strip_prefix('-').unwrap_or(opaque);
    let canonical = match digits.as_bytes() {
        [b'0'] => digits.len() == opaque.len(),
        [b'1'..=b'9', rest @ ..] => rest.iter().all(u8::is_ascii_digit),
        _ => false,
    };
    if canonical { opaque.parse().ok() } else { None }
}

integers!(u8 u16 u32 u64 u128 usize i8 i16 i32 i64 i128 isize);

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn encode_str(s: &str, out: &mut TagBuf) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 0xF)] as char);
        }
    }
}

fn decode_str(opaque: &str) -> Option<String> {
    let bytes = opaque.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hi = (hex[0] as char).to_digit(16)?;
            let lo = (hex[1] as char).to_digit(16)?;
            // Only the upper-case form is ever written; accept nothing else so that one
            // string has exactly one tag.
            if hex.iter().any(u8::is_ascii_lowercase) {
                return None;
            }
            let decoded = u8::try_from(hi * 16 + lo).ok()?;
            if decoded.is_ascii_alphanumeric() || matches!(decoded, b'-' | b'.' | b'_' | b'~') {
                return None;
            }
            out.push(decoded);
            i += 3;
        } else if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b);
            i += 1;
        } else {
            return None;
        }
    }
    String::from_utf8(out).ok()
}

impl VersionValue for str {
    fn encode(&self, out: &mut crate::TagBuf) {
        encode_str(self, out);
    }
}

impl VersionValue for String {
    fn encode(&self, out: &mut crate::TagBuf) {
        encode_str(self, out);
    }
}

impl ParseVersion for String {
    fn decode(opaque: &str) -> Option<Self> {
        decode_str(opaque)
    }
}

/// Nanoseconds since the Unix epoch, negative before it.
fn system_time_nanos(t: SystemTime) -> i128 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_nanos() as i128,
        Err(e) => -(e.duration().as_nanos() as i128),
    }
}

fn system_time_from_nanos(nanos: i128) -> Option<SystemTime> {
    let magnitude = nanos.unsigned_abs();
    let secs = u64::try_from(magnitude / 1_000_000_000).ok()?;
    let sub = (magnitude % 1_000_000_000) as u32;
    let d = Duration::new(secs, sub);
    if nanos >= 0 {
        UNIX_EPOCH.checked_add(d)
    } else {
        UNIX_EPOCH.checked_sub(d)
    }
}

/// Timestamps share one encoding: nanoseconds since the Unix epoch, so that a model can move
/// between time crates without changing its tags.
fn encode_nanos(nanos: i128, out: &mut TagBuf) {
    out.push_str(itoa::Buffer::new().format(nanos));
}

fn decode_nanos(opaque: &str) -> Option<i128> {
    canonical_integer(opaque)
}

impl VersionValue for SystemTime {
    fn encode(&self, out: &mut crate::TagBuf) {
        encode_nanos(system_time_nanos(*self), out);
    }
    fn timestamp(&self) -> Option<SystemTime> {
        Some(*self)
    }
}

impl ParseVersion for SystemTime {
    fn decode(opaque: &str) -> Option<Self> {
        system_time_from_nanos(decode_nanos(opaque)?)
    }
}

impl TimestampValue for SystemTime {
    fn timestamp(&self) -> Option<SystemTime> {
        Some(*self)
    }
}

#[cfg(feature = "uuid")]
mod uuid_impls {
    use super::{ParseVersion, VersionValue};

    impl VersionValue for uuid::Uuid {
        fn encode(&self, out: &mut crate::TagBuf) {
            let mut buf = uuid::Uuid::encode_buffer();
            out.push_str(self.hyphenated().encode_lower(&mut buf));
        }
    }

    impl ParseVersion for uuid::Uuid {
        fn decode(opaque: &str) -> Option<Self> {
            // Only the lower-case hyphenated form is ever written.
            let parsed = uuid::Uuid::try_parse(opaque).ok()?;
            let mut buf = uuid::Uuid::encode_buffer();
            (parsed.hyphenated().encode_lower(&mut buf) == opaque).then_some(parsed)
        }
    }
}

#[cfg(feature = "chrono")]
mod chrono_impls {
    use super::{
        ParseVersion, SystemTime, TimestampValue, VersionValue, decode_nanos, encode_nanos,
        system_time_from_nanos,
    };
    use chrono::{DateTime, Utc};

    fn nanos(t: &DateTime<Utc>) -> i128 {
        i128::from(t.timestamp()) * 1_000_000_000 + i128::from(t.timestamp_subsec_nanos())
    }

    impl VersionValue for DateTime<Utc> {
        fn encode(&self, out: &mut crate::TagBuf) {
            encode_nanos(nanos(self), out);
        }
        fn timestamp(&self) -> Option<SystemTime> {
            system_time_from_nanos(nanos(self))
        }
    }

    impl ParseVersion for DateTime<Utc> {
        fn decode(opaque: &str) -> Option<Self> {
            let nanos = decode_nanos(opaque)?;
            let secs = i64::try_from(nanos.div_euclid(1_000_000_000)).ok()?;
            let sub = u32::try_from(nanos.rem_euclid(1_000_000_000)).ok()?;
            DateTime::from_timestamp(secs, sub)
        }
    }

    impl TimestampValue for DateTime<Utc> {
        fn timestamp(&self) -> Option<SystemTime> {
            system_time_from_nanos(nanos(self))
        }
    }
}

#[cfg(feature = "time")]
mod time_impls {
    use super::{
        ParseVersion, SystemTime, TimestampValue, VersionValue, decode_nanos, encode_nanos,
        system_time_from_nanos,
    };
    use time::OffsetDateTime;

    impl VersionValue for OffsetDateTime {
        fn encode(&self, out: &mut crate::TagBuf) {
            encode_nanos(self.unix_timestamp_nanos(), out);
        }
        fn timestamp(&self) -> Option<SystemTime> {
            system_time_from_nanos(self.unix_timestamp_nanos())
        }
    }

    impl ParseVersion for OffsetDateTime {
        fn decode(opaque: &str) -> Option<Self> {
            OffsetDateTime::from_unix_timestamp_nanos(decode_nanos(opaque)?).ok()
        }
    }

    impl TimestampValue for OffsetDateTime {
        fn timestamp(&self) -> Option<SystemTime> {
            system_time_from_nanos(self.unix_timestamp_nanos())
        }
    }
}

#[cfg(feature = "jiff")]
mod jiff_impls {
    use super::{
        ParseVersion, SystemTime, TimestampValue, VersionValue, decode_nanos, encode_nanos,
        system_time_from_nanos,
    };
    use jiff::Timestamp;

    impl VersionValue for Timestamp {
        fn encode(&self, out: &mut crate::TagBuf) {
            encode_nanos(self.as_nanosecond(), out);
        }
        fn timestamp(&self) -> Option<SystemTime> {
            system_time_from_nanos(self.as_nanosecond())
        }
    }

    impl ParseVersion for Timestamp {
        fn decode(opaque: &str) -> Option<Self> {
            Timestamp::from_nanosecond(decode_nanos(opaque)?).ok()
        }
    }

    impl TimestampValue for Timestamp {
        fn timestamp(&self) -> Option<SystemTime> {
            system_time_from_nanos(self.as_nanosecond())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ETag;

    fn enc<V: VersionValue + ?Sized>(v: &V) -> String {
        let mut s = TagBuf::new();
        v.encode(&mut s);
        s.as_str().to_owned()
    }

    #[test]
    fn integers_round_trip_at_their_limits() {
        assert_eq!(enc(&0u8), "0");
        assert_eq!(i64::decode(&enc(&i64::MIN)), Some(i64::MIN));
        assert_eq!(u128::decode(&enc(&u128::MAX)), Some(u128::MAX));
        assert_eq!(u32::decode("+1"), None);
        assert_eq!(u32::decode("01"), None);
        assert_eq!(i32::decode("-0"), None);
        assert_eq!(i32::decode("-"), None);
        assert_eq!(i32::decode("0"), Some(0));
        assert_eq!(i32::decode("-10"), Some(-10));
        assert_eq!(u8::decode("256"), None);
        assert_eq!(i8::decode(""), None);
    }

    #[test]
    fn strings_cannot_break_a_header() {
        let nasty = "a\"b\\c,d e\r\nf\u{7f}g\u{0}hé%";
        let e = enc(nasty);
        assert!(
            e.bytes()
                .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\' && b != b',')
        );
        assert_eq!(String::decode(&e).as_deref(), Some(nasty));
        assert!(http::HeaderValue::from_str(ETag::from_version(nasty).as_str()).is_ok());
        // One string, one tag: no alternative spellings decode.
        assert_eq!(String::decode("%41"), None);
        assert_eq!(String::decode("%2a"), None);
        assert_eq!(String::decode("%2"), None);
        assert_eq!(String::decode("%FF"), None, "not UTF-8");
        assert_eq!(String::decode("a b"), None);
    }

    #[test]
    fn system_time_keeps_nanoseconds_and_pre_epoch() {
        let t = UNIX_EPOCH + Duration::new(1_764_079_387, 123_456_789);
        assert_eq!(enc(&t), "1764079387123456789");
        assert_eq!(SystemTime::decode(&enc(&t)), Some(t));
        let before = UNIX_EPOCH - Duration::new(5, 1);
        assert_eq!(SystemTime::decode(&enc(&before)), Some(before));
        assert_eq!(VersionValue::timestamp(&t), Some(t));
        assert_eq!(VersionValue::timestamp(&5u32), None);
    }

    #[cfg(feature = "chrono")]
    #[test]
    fn chrono_matches_system_time_encoding() {
        let dt = chrono::DateTime::from_timestamp(1_764_079_387, 123_456_000).unwrap();
        let st = SystemTime::from(dt);
        assert_eq!(enc(&dt), enc(&st));
        assert_eq!(chrono::DateTime::<chrono::Utc>::decode(&enc(&dt)), Some(dt));
        let old = chrono::DateTime::from_timestamp(-3, 5).unwrap();
        assert_eq!(
            chrono::DateTime::<chrono::Utc>::decode(&enc(&old)),
            Some(old)
        );
    }

    #[cfg(feature = "time")]
    #[test]
    fn time_round_trips() {
        let t = time::OffsetDateTime::from_unix_timestamp_nanos(1_764_079_387_123_456_789).unwrap();
        assert_eq!(enc(&t), "1764079387123456789");
        assert_eq!(time::OffsetDateTime::decode(&enc(&t)), Some(t));
        assert_eq!(
            TimestampValue::timestamp(&t),
            Some(UNIX_EPOCH + Duration::new(1_764_079_387, 123_456_789))
        );
    }

    #[cfg(feature = "jiff")]
    #[test]
    fn jiff_round_trips() {
        let t = jiff::Timestamp::from_nanosecond(1_764_079_387_123_456_789).unwrap();
        assert_eq!(enc(&t), "1764079387123456789");
        assert_eq!(jiff::Timestamp::decode(&enc(&t)), Some(t));
    }

    #[cfg(feature = "uuid")]
    #[test]
    fn uuid_round_trips_in_one_spelling() {
        let u = uuid::Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef);
        let e = enc(&u);
        assert_eq!(e, "01234567-89ab-cdef-0123-456789abcdef");
        assert_eq!(uuid::Uuid::decode(&e), Some(u));
        assert_eq!(uuid::Uuid::decode(&e.to_uppercase()), None);
        assert_eq!(uuid::Uuid::decode("0123456789abcdef0123456789abcdef"), None);
    }
}

//! The field types a version or a timestamp can be stored in.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use std::fmt;

use crate::collection::Fingerprint;

/// A type whose values can be a resource's version: its [`ETag`](crate::ETag) is made from it.
///
/// Implemented for all integer types, `str`/`String`, [`SystemTime`], and behind features
/// for `uuid::Uuid` (`uuid`), `chrono::DateTime<Utc>` and `chrono::NaiveDateTime`
/// (`chrono`), `time::OffsetDateTime` and `time::PrimitiveDateTime` (`time`), and
/// `jiff::Timestamp` (`jiff`). The encoding never produces a quote, a backslash, a comma,
/// whitespace or a control character, so no value can break a header.
///
/// Implement it for a newtype by delegating to the wrapped value.
///
/// # Examples
///
/// ```
/// use etag_runtime::version::VersionValue;
///
/// let mut out = String::new();
/// "a \"quoted\" name".encode(&mut out).unwrap();
/// assert_eq!(out, "a%20%22quoted%22%20name");
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be used as a `#[version]`",
    label = "not a version type",
    note = "a version is an integer, a `String`, a `SystemTime`, or with a feature of etag-runtime: `uuid::Uuid` (feature \"uuid\"), `chrono::DateTime<Utc>` or `chrono::NaiveDateTime` (feature \"chrono\"), `time::OffsetDateTime` or `time::PrimitiveDateTime` (feature \"time\"), `jiff::Timestamp` (feature \"jiff\")"
)]
pub trait VersionValue {
    /// Writes the opaque-tag encoding of the value to `out`.
    ///
    /// Only `etagc` characters other than `\`, `,` and `%` should be written (a `%` only
    /// as the start of a percent-encoding); [`ETag::from_version`](crate::ETag::from_version)
    /// percent-encodes anything else.
    ///
    /// # Errors
    ///
    /// Only when `out` fails.
    fn encode(&self, out: &mut dyn fmt::Write) -> fmt::Result;

    /// The value as a timestamp, for a version that is one: it then also gives
    /// `Last-Modified`. `None` (the default) for counters and strings.
    fn as_timestamp(&self) -> Option<&dyn TimestampValue> {
        None
    }

    /// Not public API: whether [`as_timestamp`](Self::as_timestamp) returns a time, for
    /// `#[derive(Versioned)]`'s `Versioned::HAS_LAST_MODIFIED` of a model whose version is
    /// its time.
    #[doc(hidden)]
    const IS_TIMESTAMP: bool = false;

    /// Not public API: the value's strong tag, as
    /// [`ETag::from_version`](crate::ETag::from_version) makes it; an integer writes its
    /// digits into it without the formatter or a check of characters it cannot hold.
    #[doc(hidden)]
    fn to_etag(&self) -> crate::ETag {
        crate::ETag::from_version(self)
    }

    /// Not public API: feeds the value into a collection's fingerprint, by default its
    /// [`encode`](Self::encode)d text; integers write their bits, which is cheaper.
    #[doc(hidden)]
    fn fingerprint(&self, out: &mut Fingerprint) {
        out.text(|sink| self.encode(sink));
    }
}

/// A [`VersionValue`] that can be read back from an entity tag's opaque part.
///
/// This is how `If-Match: "7"` becomes the `7` of `UPDATE ... WHERE version = 7`.
///
/// # Examples
///
/// ```
/// use etag_runtime::version::{ParseVersion, VersionValue};
///
/// let mut out = String::new();
/// (-42_i32).encode(&mut out).unwrap();
/// assert_eq!(i32::decode(&out), Some(-42));
/// assert_eq!(u8::decode("300"), None);
/// ```
pub trait ParseVersion: VersionValue + Sized {
    /// The value whose [`encode`](VersionValue::encode) wrote `opaque`, if any.
    fn decode(opaque: &str) -> Option<Self>;
}

/// A type whose values can be a resource's last-modification time (`#[last_modified]`).
///
/// Implemented for [`SystemTime`], for `Option`s of timestamps (`None`: no
/// `Last-Modified`), and behind features for `chrono::DateTime<Utc>` and
/// `chrono::NaiveDateTime` (read as UTC, as sqlx stores `timestamp` columns),
/// `time::OffsetDateTime` and `time::PrimitiveDateTime` (read as UTC), and `jiff::Timestamp`.
///
/// # Examples
///
/// ```
/// use std::time::SystemTime;
/// use etag_runtime::version::TimestampValue;
///
/// let now = SystemTime::now();
/// assert_eq!(now.timestamp(), Some(now));
/// assert_eq!(None::<SystemTime>.timestamp(), None);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be used as `#[last_modified]`",
    label = "not a timestamp type",
    note = "a last-modified field is a `SystemTime`, an `Option` of a timestamp, or with a feature of etag-runtime: `chrono::DateTime<Utc>` or `chrono::NaiveDateTime` (feature \"chrono\"), `time::OffsetDateTime` or `time::PrimitiveDateTime` (feature \"time\"), `jiff::Timestamp` (feature \"jiff\")"
)]
pub trait TimestampValue {
    /// The value as a point in time; `None` when there is none (an empty `Option`).
    fn timestamp(&self) -> Option<SystemTime>;
}

impl<T: VersionValue + ?Sized> VersionValue for &T {
    const IS_TIMESTAMP: bool = T::IS_TIMESTAMP;
    fn encode(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        (**self).encode(out)
    }
    fn as_timestamp(&self) -> Option<&dyn TimestampValue> {
        (**self).as_timestamp()
    }
    fn fingerprint(&self, out: &mut Fingerprint) {
        (**self).fingerprint(out);
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
            fn encode(&self, out: &mut dyn fmt::Write) -> fmt::Result {
                out.write_str(itoa::Buffer::new().format(*self))
            }
            #[inline]
            fn to_etag(&self) -> crate::ETag {
                crate::ETag::from_digits(itoa::Buffer::new().format(*self))
            }
            #[inline]
            fn fingerprint(&self, out: &mut Fingerprint) {
                // The value's own width: members of one collection share their type.
                out.push(&self.to_le_bytes());
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
fn encode_str(s: &str, out: &mut dyn fmt::Write) -> fmt::Result {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    // Runs of unreserved characters are ASCII, so every run written as it is is UTF-8.
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if !(b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')) {
            out.write_str(std::str::from_utf8(&bytes[start..i]).unwrap_or_default())?;
            let escaped = [b'%', HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xF)]];
            out.write_str(std::str::from_utf8(&escaped).unwrap_or_default())?;
            start = i + 1;
        }
    }
    out.write_str(std::str::from_utf8(&bytes[start..]).unwrap_or_default())
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
    fn encode(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        encode_str(self, out)
    }
}

impl VersionValue for String {
    fn encode(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        encode_str(self, out)
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
fn encode_nanos(nanos: i128, out: &mut dyn fmt::Write) -> fmt::Result {
    out.write_str(itoa::Buffer::new().format(nanos))
}

/// Timestamps feed a collection's fingerprint alike, whichever crate they come from: their
/// nanoseconds' bits rather than their text.
#[inline]
fn fingerprint_nanos(nanos: i128, out: &mut Fingerprint) {
    out.push(&nanos.to_le_bytes());
}

fn decode_nanos(opaque: &str) -> Option<i128> {
    canonical_integer(opaque)
}

impl VersionValue for SystemTime {
    fn encode(&self, out: &mut dyn fmt::Write) -> fmt::Result {
        encode_nanos(system_time_nanos(*self), out)
    }
    fn as_timestamp(&self) -> Option<&dyn TimestampValue> {
        Some(self)
    }
    const IS_TIMESTAMP: bool = true;
    fn fingerprint(&self, out: &mut Fingerprint) {
        fingerprint_nanos(system_time_nanos(*self), out);
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
    use super::{Fingerprint, ParseVersion, VersionValue, fmt};

    /// With the `uuid` feature.
    #[cfg_attr(docsrs, doc(cfg(feature = "uuid")))]
    impl VersionValue for uuid::Uuid {
        fn encode(&self, out: &mut dyn fmt::Write) -> fmt::Result {
            let mut buf = uuid::Uuid::encode_buffer();
            out.write_str(self.hyphenated().encode_lower(&mut buf))
        }
        fn fingerprint(&self, out: &mut Fingerprint) {
            out.push(self.as_bytes());
        }
    }

    /// With the `uuid` feature.
    #[cfg_attr(docsrs, doc(cfg(feature = "uuid")))]
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
        Fingerprint, ParseVersion, SystemTime, TimestampValue, VersionValue, decode_nanos,
        encode_nanos, fingerprint_nanos, fmt, system_time_from_nanos,
    };
    use chrono::{DateTime, NaiveDateTime, Utc};

    fn nanos(t: &DateTime<Utc>) -> i128 {
        i128::from(t.timestamp()) * 1_000_000_000 + i128::from(t.timestamp_subsec_nanos())
    }

    /// With the `chrono` feature.
    #[cfg_attr(docsrs, doc(cfg(feature = "chrono")))]
    impl VersionValue for DateTime<Utc> {
        fn encode(&self, out: &mut dyn fmt::Write) -> fmt::Result {
            encode_nanos(nanos(self), out)
        }
        fn as_timestamp(&self) -> Option<&dyn TimestampValue> {
            Some(self)
        }
        const IS_TIMESTAMP: bool = true;
        fn fingerprint(&self, out: &mut Fingerprint) {
            fingerprint_nanos(nanos(self), out);
        }
    }

    /// With the `chrono` feature.
    #[cfg_attr(docsrs, doc(cfg(feature = "chrono")))]
    impl ParseVersion for DateTime<Utc> {
        fn decode(opaque: &str) -> Option<Self> {
            let nanos = decode_nanos(opaque)?;
            let secs = i64::try_from(nanos.div_euclid(1_000_000_000)).ok()?;
            let sub = u32::try_from(nanos.rem_euclid(1_000_000_000)).ok()?;
            DateTime::from_timestamp(secs, sub)
        }
    }

    /// With the `chrono` feature.
    #[cfg_attr(docsrs, doc(cfg(feature = "chrono")))]
    impl TimestampValue for DateTime<Utc> {
        fn timestamp(&self) -> Option<SystemTime> {
            system_time_from_nanos(nanos(self))
        }
    }

    /// A `NaiveDateTime` is read as UTC, the convention of sqlx's `timestamp` columns; its
    /// tag is the tag of the same instant as a `DateTime<Utc>`.
    ///
    /// With the `chrono` feature.
    #[cfg_attr(docsrs, doc(cfg(feature = "chrono")))]
    impl VersionValue for NaiveDateTime {
        fn encode(&self, out: &mut dyn fmt::Write) -> fmt::Result {
            self.and_utc().encode(out)
        }
        fn as_timestamp(&self) -> Option<&dyn TimestampValue> {
            Some(self)
        }
        const IS_TIMESTAMP: bool = true;
        fn fingerprint(&self, out: &mut Fingerprint) {
            self.and_utc().fingerprint(out);
        }
    }

    /// With the `chrono` feature.
    #[cfg_attr(docsrs, doc(cfg(feature = "chrono")))]
    impl ParseVersion for NaiveDateTime {
        fn decode(opaque: &str) -> Option<Self> {
            DateTime::<Utc>::decode(opaque).map(|t| t.naive_utc())
        }
    }

    /// Read as UTC.
    ///
    /// With the `chrono` feature.
    #[cfg_attr(docsrs, doc(cfg(feature = "chrono")))]
    impl TimestampValue for NaiveDateTime {
        fn timestamp(&self) -> Option<SystemTime> {
            TimestampValue::timestamp(&self.and_utc())
        }
    }
}

#[cfg(feature = "time")]
mod time_impls {
    use super::{
        Fingerprint, ParseVersion, SystemTime, TimestampValue, VersionValue, decode_nanos,
        encode_nanos, fingerprint_nanos, fmt, system_time_from_nanos,
    };
    use time::{OffsetDateTime, PrimitiveDateTime};

    /// With the `time` feature.
    #[cfg_attr(docsrs, doc(cfg(feature = "time")))]
    impl VersionValue for OffsetDateTime {
        fn encode(&self, out: &mut dyn fmt::Write) -> fmt::Result {
            encode_nanos(self.unix_timestamp_nanos(), out)
        }
        fn as_timestamp(&self) -> Option<&dyn TimestampValue> {
            Some(self)
        }
        const IS_TIMESTAMP: bool = true;
        fn fingerprint(&self, out: &mut Fingerprint) {
            fingerprint_nanos(self.unix_timestamp_nanos(), out);
        }
    }

    /// With the `time` feature.
    #[cfg_attr(docsrs, doc(cfg(feature = "time")))]
    impl ParseVersion for OffsetDateTime {
        fn decode(opaque: &str) -> Option<Self> {
            OffsetDateTime::from_unix_timestamp_nanos(decode_nanos(opaque)?).ok()
        }
    }

    /// With the `time` feature.
    #[cfg_attr(docsrs, doc(cfg(feature = "time")))]
    impl TimestampValue for OffsetDateTime {
        fn timestamp(&self) -> Option<SystemTime> {
            system_time_from_nanos(self.unix_timestamp_nanos())
        }
    }

    /// A `PrimitiveDateTime` is read as UTC; its tag is the tag of the same instant as an
    /// `OffsetDateTime`.
    ///
    /// With the `time` feature.
    #[cfg_attr(docsrs, doc(cfg(feature = "time")))]
    impl VersionValue for PrimitiveDateTime {
        fn encode(&self, out: &mut dyn fmt::Write) -> fmt::Result {
            self.assume_utc().encode(out)
        }
        fn as_timestamp(&self) -> Option<&dyn TimestampValue> {
            Some(self)
        }
        const IS_TIMESTAMP: bool = true;
        fn fingerprint(&self, out: &mut Fingerprint) {
            self.assume_utc().fingerprint(out);
        }
    }

    /// With the `time` feature.
    #[cfg_attr(docsrs, doc(cfg(feature = "time")))]
    impl ParseVersion for PrimitiveDateTime {
        fn decode(opaque: &str) -> Option<Self> {
            let t = OffsetDateTime::decode(opaque)?;
            Some(PrimitiveDateTime::new(t.date(), t.time()))
        }
    }

    /// Read as UTC.
    ///
    /// With the `time` feature.
    #[cfg_attr(docsrs, doc(cfg(feature = "time")))]
    impl TimestampValue for PrimitiveDateTime {
        fn timestamp(&self) -> Option<SystemTime> {
            TimestampValue::timestamp(&self.assume_utc())
        }
    }
}

#[cfg(feature = "jiff")]
mod jiff_impls {
    use super::{
        Fingerprint, ParseVersion, SystemTime, TimestampValue, VersionValue, decode_nanos,
        encode_nanos, fingerprint_nanos, fmt, system_time_from_nanos,
    };
    use jiff::Timestamp;

    /// With the `jiff` feature.
    #[cfg_attr(docsrs, doc(cfg(feature = "jiff")))]
    impl VersionValue for Timestamp {
        fn encode(&self, out: &mut dyn fmt::Write) -> fmt::Result {
            encode_nanos(self.as_nanosecond(), out)
        }
        fn as_timestamp(&self) -> Option<&dyn TimestampValue> {
            Some(self)
        }
        const IS_TIMESTAMP: bool = true;
        fn fingerprint(&self, out: &mut Fingerprint) {
            fingerprint_nanos(self.as_nanosecond(), out);
        }
    }

    /// With the `jiff` feature.
    #[cfg_attr(docsrs, doc(cfg(feature = "jiff")))]
    impl ParseVersion for Timestamp {
        fn decode(opaque: &str) -> Option<Self> {
            Timestamp::from_nanosecond(decode_nanos(opaque)?).ok()
        }
    }

    /// With the `jiff` feature.
    #[cfg_attr(docsrs, doc(cfg(feature = "jiff")))]
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

    #[test]
    fn an_integer_tag_written_in_place_is_the_tag_from_its_encoding() {
        fn same<V: VersionValue>(v: V) {
            assert_eq!(v.to_etag(), ETag::from_version(&v));
            assert_eq!(v.to_etag().to_string(), format!("\"{}\"", enc(&v)));
        }
        same(0_u8);
        same(7_i64);
        same(-1_i32);
        same(i64::MIN);
        same(u64::MAX);
        same(i128::MIN);
        same(u128::MAX);
        same(usize::MAX);
    }

    fn enc<V: VersionValue + ?Sized>(v: &V) -> String {
        let mut s = String::new();
        v.encode(&mut s).unwrap();
        s
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
        // A timestamp version is a timestamp too; a counter is not.
        assert_eq!(
            t.as_timestamp().and_then(TimestampValue::timestamp),
            Some(t)
        );
        assert!(5u32.as_timestamp().is_none());
        const { assert!(!u32::IS_TIMESTAMP && SystemTime::IS_TIMESTAMP && <&SystemTime>::IS_TIMESTAMP) };
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
        // A naive time is the same instant read as UTC: the same tag and Last-Modified.
        let naive = dt.naive_utc();
        assert_eq!(enc(&naive), enc(&dt));
        assert_eq!(chrono::NaiveDateTime::decode(&enc(&naive)), Some(naive));
        assert_eq!(TimestampValue::timestamp(&naive), Some(st));
        assert_eq!(TimestampValue::timestamp(&Some(naive)), Some(st));
        assert_eq!(
            TimestampValue::timestamp(&None::<chrono::NaiveDateTime>),
            None
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
        let primitive = time::PrimitiveDateTime::new(t.date(), t.time());
        assert_eq!(enc(&primitive), enc(&t));
        assert_eq!(time::PrimitiveDateTime::decode(&enc(&t)), Some(primitive));
        assert_eq!(
            TimestampValue::timestamp(&primitive),
            TimestampValue::timestamp(&t)
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

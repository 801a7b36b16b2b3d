//! Entity tags (RFC 9110 section 8.8.3): parsing, formatting, comparison and generation.

use std::fmt;
use std::str::FromStr;

use arrayvec::ArrayString;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http::HeaderValue;
use sha2::{Digest, Sha256};

use crate::version::VersionValue;

/// How many bytes of the SHA-256 digest a hashed tag keeps: 144 bits, 24 base64url characters.
const DIGEST_BYTES: usize = 18;

/// An entity tag: an opaque validator of one representation (RFC 9110 section 8.8.3).
///
/// The value keeps its wire form (`"xyz"` or `W/"xyz"`), so turning it into a header
/// costs no formatting. Equality (`==`) is exact, weakness included; use
/// [`strong_eq`](Self::strong_eq) and [`weak_eq`](Self::weak_eq) for the two comparison
/// functions of RFC 9110 section 8.8.3.2.
///
/// # Examples
///
/// ```
/// use etag_runtime::ETag;
///
/// let tag: ETag = "W/\"v7\"".parse().unwrap();
/// assert!(tag.is_weak());
/// assert_eq!(tag.opaque(), "v7");
/// assert_eq!(tag.to_string(), "W/\"v7\"");
///
/// let strong = ETag::strong("v7").unwrap();
/// assert!(tag.weak_eq(&strong));
/// assert!(!tag.strong_eq(&strong));
/// ```
#[derive(Clone)]
pub struct ETag {
    /// The whole wire form, quotes and `W/` included.
    repr: TagBuf,
}

impl PartialEq for ETag {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for ETag {}

impl std::hash::Hash for ETag {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

/// How many bytes of a tag's wire form are kept inline, without a heap allocation: every
/// integer (40 characters at most), timestamp, UUID and hashed tag fits, weak or strong.
const INLINE: usize = 44;

/// A small string buffer that lives inline and moves to the heap only when it outgrows
/// 44 bytes, so that making a tag costs no allocation. Both forms are string types, so
/// reading the tag back costs no UTF-8 check.
#[derive(Clone)]
pub(crate) struct TagBuf {
    storage: Storage,
}

#[derive(Clone)]
enum Storage {
    Inline(ArrayString<INLINE>),
    Heap(String),
}

impl Default for TagBuf {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for TagBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl TagBuf {
    /// An empty buffer.
    pub(crate) const fn new() -> Self {
        Self {
            storage: Storage::Inline(ArrayString::new_const()),
        }
    }

    /// Appends a string.
    #[inline]
    pub(crate) fn push_str(&mut self, s: &str) {
        match &mut self.storage {
            Storage::Inline(inline) => {
                if inline.try_push_str(s).is_err() {
                    let mut heap = String::with_capacity((inline.len() + s.len()).max(2 * INLINE));
                    heap.push_str(inline);
                    heap.push_str(s);
                    self.storage = Storage::Heap(heap);
                }
            }
            Storage::Heap(heap) => heap.push_str(s),
        }
    }

    /// Appends a character.
    pub(crate) fn push(&mut self, c: char) {
        self.push_str(c.encode_utf8(&mut [0; 4]));
    }

    /// What was written so far.
    #[inline]
    pub(crate) fn as_str(&self) -> &str {
        match &self.storage {
            Storage::Inline(inline) => inline,
            Storage::Heap(heap) => heap,
        }
    }

    fn into_header_value(self) -> Result<HeaderValue, http::header::InvalidHeaderValue> {
        match self.storage {
            Storage::Inline(inline) => HeaderValue::from_bytes(inline.as_bytes()),
            Storage::Heap(heap) => HeaderValue::from_maybe_shared(Bytes::from(heap)),
        }
    }
}

impl fmt::Write for TagBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.push_str(s);
        Ok(())
    }
}

/// The error returned when a string is not a valid entity tag.
///
/// # Examples
///
/// ```
/// use etag_runtime::ETag;
///
/// let err = ETag::strong("has space").unwrap_err();
/// assert!(err.to_string().contains("entity-tag"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidETag {
    reason: &'static str,
}

impl fmt::Display for InvalidETag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid entity-tag: {}", self.reason)
    }
}

impl std::error::Error for InvalidETag {}

/// `etagc = %x21 / %x23-7E / obs-text` (RFC 9110 section 8.8.3).
#[inline]
pub(crate) const fn is_etagc(b: u8) -> bool {
    b == 0x21 || (b >= 0x23 && b <= 0x7E) || b >= 0x80
}

fn validate_opaque(opaque: &[u8]) -> Result<(), InvalidETag> {
    if opaque.iter().all(|&b| is_etagc(b)) {
        Ok(())
    } else {
        Err(InvalidETag {
            reason: "the opaque tag may hold only visible characters other than '\"'",
        })
    }
}

impl ETag {
    fn build(weak: bool, opaque: &str) -> Self {
        let mut repr = TagBuf::new();
        repr.push_str(if weak { "W/\"" } else { "\"" });
        repr.push_str(opaque);
        repr.push_str("\"");
        Self { repr }
    }

    /// A strong entity tag with the given opaque tag (written without quotes).
    ///
    /// # Errors
    ///
    /// When `opaque` holds a character outside `etagc`: a space, a control
    /// character, DEL or a double quote.
    ///
    /// # Examples
    ///
    /// ```
    /// use etag_runtime::ETag;
    ///
    /// assert_eq!(ETag::strong("abc").unwrap().to_string(), "\"abc\"");
    /// assert!(ETag::strong("a\"b").is_err());
    /// ```
    pub fn strong(opaque: &str) -> Result<Self, InvalidETag> {
        validate_opaque(opaque.as_bytes())?;
        Ok(Self::build(false, opaque))
    }

    /// A weak entity tag with the given opaque tag (written without quotes).
    ///
    /// # Errors
    ///
    /// As [`ETag::strong`].
    ///
    /// # Examples
    ///
    /// ```
    /// use etag_runtime::ETag;
    ///
    /// assert_eq!(ETag::weak("abc").unwrap().to_string(), "W/\"abc\"");
    /// ```
    pub fn weak(opaque: &str) -> Result<Self, InvalidETag> {
        validate_opaque(opaque.as_bytes())?;
        Ok(Self::build(true, opaque))
    }

    /// A strong tag that encodes a version value: an integer, a string, a UUID or a timestamp.
    ///
    /// The encoding can be read back with [`ETag::version`], which is how a handler gets
    /// the version a client expects out of `If-Match`. A version must never repeat for
    /// one URL: see [`Versioned`](crate::Versioned).
    ///
    /// # Examples
    ///
    /// ```
    /// use etag_runtime::ETag;
    ///
    /// let tag = ETag::from_version(&7_i64);
    /// assert_eq!(tag.to_string(), "\"7\"");
    /// assert_eq!(tag.version::<i64>(), Some(7));
    /// ```
    pub fn from_version<V: VersionValue + ?Sized>(version: &V) -> Self {
        let mut repr = TagBuf::new();
        repr.push_str("\"");
        // Writing into a `TagBuf` cannot fail.
        let _ = version.encode(&mut repr);
        repr.push_str("\"");
        let wire = repr.as_str().as_bytes();
        if validate_opaque(&wire[1..wire.len() - 1]).is_ok() {
            return Self { repr };
        }
        // A hand-written `VersionValue` wrote a character a tag cannot hold: percent-encode
        // it rather than send a header that breaks.
        let mut escaped = TagBuf::new();
        escaped.push('"');
        for &b in &wire[1..wire.len() - 1] {
            if is_etagc(b) && b != b'%' {
                escaped.push(char::from(b));
            } else {
                push_percent(&mut escaped, b);
            }
        }
        escaped.push('"');
        Self { repr: escaped }
    }

    /// The strong tag of an integer version, from its decimal digits (and sign): what
    /// [`from_version`](Self::from_version) writes for it, without the check of each
    /// character, which digits and `-` always pass.
    #[inline]
    pub(crate) fn from_digits(digits: &str) -> Self {
        debug_assert!(digits.bytes().all(|b| b.is_ascii_digit() || b == b'-'));
        // At most 40 characters (an i128): with its quotes it fits inline, written in
        // place rather than appended piece by piece.
        let mut inline = ArrayString::<INLINE>::new();
        if inline.try_push('"').is_ok()
            && inline.try_push_str(digits).is_ok()
            && inline.try_push('"').is_ok()
        {
            return Self {
                repr: TagBuf {
                    storage: Storage::Inline(inline),
                },
            };
        }
        let mut repr = TagBuf::new();
        repr.push('"');
        repr.push_str(digits);
        repr.push('"');
        Self { repr }
    }

    /// A strong tag from the SHA-256 digest of `bytes` (144 bits kept, base64url): the tag
    /// of a representation known only by its bytes. `#[etag(hash)]` and `ETagLayer` tag
    /// bodies with it.
    ///
    /// Why SHA-256, when lists use the faster XXH3: a body tag must differ whenever the
    /// bytes differ, and bodies are often partly written by clients (a name, a comment).
    /// With XXH3, whose algorithm and secret are public and fixed (as they must be for
    /// tags to agree across processes, platforms and releases), whoever controls part of
    /// two bodies can make them collide, and a client holding the first would be told
    /// "304, still current" about the second. Behind a shared cache that is everyone's copy:
    /// an author who swaps a post for a colliding one keeps the first version served from
    /// the cache, revalidated as current, while the origin shows the second to anyone who
    /// reads past it (a moderator, say). Accidental collisions are not the concern: at 128
    /// bits either hash makes them negligible. A seeded or keyed fast hash would stop
    /// crafted ones but give each process its own tags. SHA-256 keeps collisions out of reach for
    /// anyone, is fixed by its standard on every platform, and runs in hardware on current
    /// x86 and ARM CPUs; lists are hashed with XXH3 only because their input is versions
    /// the server assigns, which no client chooses.
    ///
    /// # Examples
    ///
    /// ```
    /// use etag_runtime::ETag;
    ///
    /// let a = ETag::digest(b"hello");
    /// assert_eq!(a, ETag::digest(b"hello"));
    /// assert_ne!(a, ETag::digest(b"hello!"));
    /// assert_eq!(a.opaque().len(), 24);
    /// ```
    pub fn digest(bytes: &[u8]) -> Self {
        let mut hasher = Hasher::new();
        hasher.update(bytes);
        hasher.finish()
    }

    /// Parses exactly one `entity-tag` from raw header bytes (no surrounding whitespace).
    /// obs-text is accepted when it is UTF-8 text.
    pub(crate) fn parse_bytes(raw: &[u8]) -> Result<Self, InvalidETag> {
        let (weak, rest) = match raw.strip_prefix(b"W/") {
            Some(rest) => (true, rest),
            None => (false, raw),
        };
        let opaque = rest
            .strip_prefix(b"\"")
            .and_then(|r| r.strip_suffix(b"\""))
            .ok_or(InvalidETag {
                reason: "expected a quoted string, optionally prefixed by W/",
            })?;
        validate_opaque(opaque)?;
        // obs-text need not be UTF-8, but a tag held as text must be: refuse rather than
        // replace bytes, which would make different tags compare equal.
        let opaque = std::str::from_utf8(opaque).map_err(|_| InvalidETag {
            reason: "the opaque tag is not UTF-8",
        })?;
        Ok(Self::build(weak, opaque))
    }

    /// Whether the tag is weak (`W/"..."`).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!etag_runtime::ETag::strong("a").unwrap().is_weak());
    /// ```
    #[inline]
    pub fn is_weak(&self) -> bool {
        self.repr.as_str().as_bytes().first() == Some(&b'W')
    }

    /// The opaque tag, without quotes or `W/`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(etag_runtime::ETag::weak("a").unwrap().opaque(), "a");
    /// ```
    #[inline]
    pub fn opaque(&self) -> &str {
        let wire = self.repr.as_str();
        let start = if self.is_weak() { 3 } else { 1 };
        // Every constructor writes the quotes, so both ends are ASCII and in range.
        wire.get(start..wire.len().saturating_sub(1))
            .unwrap_or_default()
    }

    /// The wire form, as sent in an `ETag` header.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(etag_runtime::ETag::weak("a").unwrap().as_str(), "W/\"a\"");
    /// ```
    pub fn as_str(&self) -> &str {
        self.repr.as_str()
    }

    /// The same tag, made weak.
    ///
    /// # Examples
    ///
    /// ```
    /// use etag_runtime::ETag;
    ///
    /// assert_eq!(ETag::strong("a").unwrap().into_weak(), ETag::weak("a").unwrap());
    /// ```
    pub fn into_weak(self) -> Self {
        if self.is_weak() {
            self
        } else {
            Self::build(true, self.opaque())
        }
    }

    /// Strong comparison (RFC 9110 section 8.8.3.2): both strong, same opaque tag.
    ///
    /// # Examples
    ///
    /// ```
    /// use etag_runtime::ETag;
    ///
    /// let s = ETag::strong("1").unwrap();
    /// assert!(s.strong_eq(&s));
    /// assert!(!ETag::weak("1").unwrap().strong_eq(&ETag::weak("1").unwrap()));
    /// ```
    pub fn strong_eq(&self, other: &Self) -> bool {
        !self.is_weak() && !other.is_weak() && self.opaque() == other.opaque()
    }

    /// Weak comparison (RFC 9110 section 8.8.3.2): same opaque tag, weakness ignored.
    ///
    /// # Examples
    ///
    /// ```
    /// use etag_runtime::ETag;
    ///
    /// assert!(ETag::weak("1").unwrap().weak_eq(&ETag::strong("1").unwrap()));
    /// ```
    pub fn weak_eq(&self, other: &Self) -> bool {
        self.opaque() == other.opaque()
    }

    /// Reads back the version value this tag was made from with [`ETag::from_version`].
    ///
    /// Weak and strong tags decode alike; `None` when the opaque tag is not an encoding of `V`.
    ///
    /// # Examples
    ///
    /// ```
    /// use etag_runtime::ETag;
    ///
    /// assert_eq!(ETag::from_version("draft 2").version::<String>().as_deref(), Some("draft 2"));
    /// assert_eq!(ETag::strong("nope").unwrap().version::<u32>(), None);
    /// ```
    pub fn version<V: crate::version::ParseVersion>(&self) -> Option<V> {
        V::decode(self.opaque())
    }

    /// Turns the tag into a header value without copying it.
    fn into_header_value(self) -> HeaderValue {
        // Every constructor validates the opaque tag, so this cannot fail; keep a
        // well-formed fallback rather than a panic path all the same.
        self.repr
            .into_header_value()
            .unwrap_or_else(|_| HeaderValue::from_static("\"\""))
    }
}

impl fmt::Display for ETag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for ETag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ETag({})", self.as_str())
    }
}

impl FromStr for ETag {
    type Err = InvalidETag;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse_bytes(s.as_bytes())
    }
}

impl TryFrom<&HeaderValue> for ETag {
    type Error = InvalidETag;

    fn try_from(value: &HeaderValue) -> Result<Self, Self::Error> {
        Self::parse_bytes(trim_ows(value.as_bytes()))
    }
}

/// The `ETag` header value, without copying the tag.
///
/// # Examples
///
/// ```
/// use etag_runtime::ETag;
/// use http::HeaderValue;
///
/// assert_eq!(HeaderValue::from(ETag::weak("a").unwrap()), "W/\"a\"");
/// ```
impl From<ETag> for HeaderValue {
    fn from(tag: ETag) -> Self {
        tag.into_header_value()
    }
}

/// The `ETag` header value (or an `If-Match` one), for a tag that is kept.
///
/// # Examples
///
/// ```
/// use etag_runtime::ETag;
/// use http::HeaderValue;
///
/// let tag = ETag::from_version(&3_u8);
/// assert_eq!(HeaderValue::from(&tag), "\"3\"");
/// ```
impl From<&ETag> for HeaderValue {
    fn from(tag: &ETag) -> Self {
        tag.clone().into_header_value()
    }
}

/// Trims optional whitespace (SP and HTAB) from both ends.
pub(crate) fn trim_ows(mut b: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = b {
        b = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = b {
        b = rest;
    }
    b
}

/// Builds a strong [`ETag`] from bytes fed in pieces: the digest of their concatenation.
#[derive(Clone, Default)]
pub(crate) struct Hasher {
    sha: Sha256,
}

impl Hasher {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn update(&mut self, bytes: &[u8]) {
        self.sha.update(bytes);
    }

    /// The strong tag of everything fed so far.
    pub(crate) fn finish(self) -> ETag {
        let digest = self.sha.finalize();
        tag_of_digest(&digest[..DIGEST_BYTES], false)
    }
}

/// The tag whose opaque part is `digest` in base64url.
pub(crate) fn tag_of_digest(digest: &[u8], weak: bool) -> ETag {
    let mut encoded = [0u8; 64];
    let mut repr = TagBuf::new();
    if weak {
        repr.push_str("W/");
    }
    repr.push('"');
    match URL_SAFE_NO_PAD.encode_slice(digest, &mut encoded) {
        Ok(n) => repr.push_str(std::str::from_utf8(&encoded[..n]).unwrap_or_default()),
        // Digests are at most 32 bytes, 43 characters: unreachable, and still a valid tag.
        Err(_) => repr.push_str("0"),
    }
    repr.push('"');
    ETag { repr }
}

/// Appends `%XX`.
fn push_percent(out: &mut TagBuf, b: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push('%');
    out.push(char::from(HEX[usize::from(b >> 4)]));
    out.push(char::from(HEX[usize::from(b & 0xF)]));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc9110_8_8_3_2_comparison_table() {
        // The four rows of the example table in RFC 9110 section 8.8.3.2.
        let w1: ETag = "W/\"1\"".parse().unwrap();
        let w2: ETag = "W/\"2\"".parse().unwrap();
        let s1: ETag = "\"1\"".parse().unwrap();
        assert!(!w1.strong_eq(&w1) && w1.weak_eq(&w1));
        assert!(!w1.strong_eq(&w2) && !w1.weak_eq(&w2));
        assert!(!w1.strong_eq(&s1) && w1.weak_eq(&s1));
        assert!(s1.strong_eq(&s1) && s1.weak_eq(&s1));
    }

    #[test]
    fn rfc9110_8_8_3_opaque_tag_grammar() {
        for bad in ["a b", "a\"b", "a\x7fb", "a\tb", "a\nb"] {
            assert!(ETag::strong(bad).is_err(), "{bad:?}");
        }
        for good in ["", "!", "#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", "é"] {
            assert!(ETag::strong(good).is_ok(), "{good:?}");
        }
        for bad in ["abc", "\"abc", "abc\"", "w/\"a\"", " \"a\"", "W/ \"a\""] {
            assert!(bad.parse::<ETag>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn hashed_tags_are_compact_and_header_safe() {
        let tag = ETag::digest(&[0u8; 1024]);
        assert_eq!(tag.opaque().len(), 24);
        assert!(
            tag.opaque()
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert!(HeaderValue::from_str(tag.as_str()).is_ok());
    }

    #[test]
    fn long_tags_move_to_the_heap_intact() {
        for n in [0, 1, 43, 44, 45, 46, 47, 100, 10_000] {
            let opaque = "x".repeat(n);
            let tag = ETag::strong(&opaque).unwrap();
            assert_eq!(tag.opaque(), opaque);
            assert_eq!(
                tag.clone().into_header_value(),
                format!("\"{opaque}\"").as_str()
            );
            let weak = tag.into_weak();
            assert_eq!(weak.to_string(), format!("W/\"{opaque}\""));
        }
        let mut buf = TagBuf::new();
        for _ in 0..30 {
            buf.push('é');
        }
        assert_eq!(buf.as_str(), "é".repeat(30));
    }

    #[test]
    fn obs_text_is_accepted_as_utf8_only() {
        assert_eq!(ETag::parse_bytes("\"é\"".as_bytes()).unwrap().opaque(), "é");
        // Two different byte strings must never become one tag.
        assert!(ETag::parse_bytes(b"\"\xff\"").is_err());
        assert!(ETag::parse_bytes(b"\"\xfe\"").is_err());
        assert!(ETag::parse_bytes(b"\"\x00\"").is_err());
    }
}

//! The validators of a collection: one fingerprint of its members' validators.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::groups::CacheGroups;
use crate::{ETag, Versioned};

/// A collection's tag: the [`Fingerprint`] of its count and of its members' validators in
/// order, weak if any member's tag is weak. No `Last-Modified`: see [`Versioned`].
impl<T: Versioned> Versioned for [T] {
    const HAS_LAST_MODIFIED: bool = false;

    fn etag(&self) -> ETag {
        let mut out = Fingerprint::new(self.len());
        for item in self {
            item.fingerprint(&mut out);
        }
        out.finish()
    }

    /// The collection's group, then each member's when there are at most
    /// [`CacheGroups::MAX_MEMBERS`].
    fn cache_groups(&self, out: &mut CacheGroups) {
        out.add_collection::<T>();
        if self.len() <= CacheGroups::MAX_MEMBERS {
            for item in self {
                item.cache_groups(out);
            }
        }
    }
}

impl<T: Versioned> Versioned for Vec<T> {
    const HAS_LAST_MODIFIED: bool = false;

    fn etag(&self) -> ETag {
        self.as_slice().etag()
    }

    fn cache_groups(&self, out: &mut CacheGroups) {
        self.as_slice().cache_groups(out);
    }
}

/// Ends a text in a fingerprint: 0xFF is never part of UTF-8.
const TEXT_END: u8 = 0xFF;

/// Writes text into a fingerprint.
struct TextSink<'a>(&'a mut Fingerprint);

impl fmt::Write for TextSink<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.push(s.as_bytes());
        Ok(())
    }
}

/// The digest a collection's entity tag is made from: each member's validators, in order,
/// fed by each member without building the member's tag. A `#[derive(Versioned)]` member
/// feeds its version alone (an integer its bits, a timestamp its nanoseconds): a version
/// changes on every write, so its time adds nothing, and reading it cost two thirds of a
/// list's tag. A member implemented by hand feeds its tag and its time.
/// Not public API: the derive's hook.
///
/// It is XXH3-128, a fast non-cryptographic hash: right for telling apart states of
/// versions the server assigns, which a client cannot choose. It does not protect against
/// someone who picks versions to collide on purpose; bodies are tagged by SHA-256
/// ([`ETag::digest`](crate::ETag::digest)). The tag of a list depends only on its members'
/// validators, so it is the same from every process and, by a test, across releases.
#[doc(hidden)]
#[derive(Clone)]
pub struct Fingerprint {
    hasher: xxhash_rust::xxh3::Xxh3,
    /// Small writes gather here, so that each member costs a copy, not a hasher call.
    buf: [u8; Self::BUF],
    len: usize,
    weak: bool,
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fingerprint").finish_non_exhaustive()
    }
}

impl Fingerprint {
    const BUF: usize = 512;

    /// A fingerprint of a collection of `count` members.
    pub(crate) fn new(count: usize) -> Self {
        let mut f = Self {
            hasher: xxhash_rust::xxh3::Xxh3::new(),
            buf: [0; Self::BUF],
            len: 0,
            weak: false,
        };
        f.push(&(count as u64).to_le_bytes());
        f
    }

    #[inline]
    pub(crate) fn push(&mut self, bytes: &[u8]) {
        if let Some(slot) = self.buf.get_mut(self.len..self.len + bytes.len()) {
            slot.copy_from_slice(bytes);
            self.len += bytes.len();
        } else {
            self.spill(bytes);
        }
    }

    /// The buffer is full: hash it, and start again with `bytes`.
    #[cold]
    fn spill(&mut self, bytes: &[u8]) {
        self.hasher.update(&self.buf[..self.len]);
        self.len = 0;
        if bytes.len() > Self::BUF {
            self.hasher.update(bytes);
        } else {
            self.buf[..bytes.len()].copy_from_slice(bytes);
            self.len = bytes.len();
        }
    }

    /// Feeds a member's entity tag (its opaque tag and whether it is weak: a collection
    /// with a weak member has a weak tag): what a member that is not derived feeds.
    pub fn tag(&mut self, tag: &crate::ETag) {
        self.weak |= tag.is_weak();
        self.push(&[u8::from(tag.is_weak())]);
        self.push(tag.opaque().as_bytes());
        self.push(&[TEXT_END]);
    }

    /// Feeds a member's last-modification time, if any, to the nanosecond.
    pub fn time(&mut self, time: Option<SystemTime>) {
        // Marker, then whole seconds and nanoseconds from the epoch (before it: the
        // seconds and nanoseconds back from it, under another marker).
        let mut bytes = [0; 13];
        if let Some(t) = time {
            let (marker, d) = match t.duration_since(UNIX_EPOCH) {
                Ok(d) => (1, d),
                Err(e) => (2, e.duration()),
            };
            bytes[0] = marker;
            bytes[1..9].copy_from_slice(&d.as_secs().to_le_bytes());
            bytes[9..].copy_from_slice(&d.subsec_nanos().to_le_bytes());
        }
        self.push(&bytes);
    }

    /// Feeds a text, self-delimited.
    pub(crate) fn text(&mut self, write: impl FnOnce(&mut dyn fmt::Write) -> fmt::Result) {
        let _ = write(&mut TextSink(self));
        self.push(&[TEXT_END]);
    }

    /// The collection's tag: 128 bits, base64url; weak if a member's tag was weak.
    pub(crate) fn finish(mut self) -> crate::ETag {
        self.hasher.update(&self.buf[..self.len]);
        let digest = self.hasher.digest128().to_le_bytes();
        crate::etag::tag_of_digest(&digest, self.weak)
    }
}

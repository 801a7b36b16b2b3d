//! Model types that carry their own validators.

use std::sync::Arc;
use std::time::SystemTime;

use crate::{ETag, ETagHasher, Validators};

/// A value that knows its validators: an entity tag and, optionally, a last-modification time.
///
/// Derive it with `#[derive(Versioned)]` on a struct that has a `#[version]` field (and
/// optionally a `#[last_modified]` one), or implement it by hand. Slices and `Vec`s of
/// versioned items are versioned too: their tag is a digest of the members' tags, in order,
/// and their last-modified time is the newest member's.
///
/// # Examples
///
/// ```
/// use std::time::SystemTime;
/// use etag_runtime::{ETag, Versioned};
///
/// struct Note { rev: u32, edited: SystemTime }
///
/// impl Versioned for Note {
///     fn etag(&self) -> ETag {
///         ETag::from_version(&self.rev)
///     }
///     fn last_modified(&self) -> Option<SystemTime> {
///         Some(self.edited)
///     }
/// }
///
/// let note = Note { rev: 3, edited: SystemTime::UNIX_EPOCH };
/// assert_eq!(note.etag().to_string(), "\"3\"");
/// assert_eq!(note.validators().last_modified(), Some(SystemTime::UNIX_EPOCH));
/// ```
pub trait Versioned {
    /// The entity tag of the value's current representation.
    fn etag(&self) -> ETag;

    /// When the value last changed, if known.
    fn last_modified(&self) -> Option<SystemTime> {
        None
    }

    /// Both validators.
    fn validators(&self) -> Validators {
        Validators::new()
            .with_etag(self.etag())
            .with_last_modified_opt(self.last_modified())
    }
}

impl<T: Versioned + ?Sized> Versioned for &T {
    fn etag(&self) -> ETag {
        (**self).etag()
    }
    fn last_modified(&self) -> Option<SystemTime> {
        (**self).last_modified()
    }
}

impl<T: Versioned + ?Sized> Versioned for Box<T> {
    fn etag(&self) -> ETag {
        (**self).etag()
    }
    fn last_modified(&self) -> Option<SystemTime> {
        (**self).last_modified()
    }
}

impl<T: Versioned + ?Sized> Versioned for Arc<T> {
    fn etag(&self) -> ETag {
        (**self).etag()
    }
    fn last_modified(&self) -> Option<SystemTime> {
        (**self).last_modified()
    }
}

impl<T: Versioned> Versioned for axum::Json<T> {
    fn etag(&self) -> ETag {
        self.0.etag()
    }
    fn last_modified(&self) -> Option<SystemTime> {
        self.0.last_modified()
    }
}

/// A collection's tag: the digest of its members' tags in order, weak if any is weak.
impl<T: Versioned> Versioned for [T] {
    fn etag(&self) -> ETag {
        let mut hasher = ETagHasher::new();
        let mut weak = false;
        hasher.update(&(self.len() as u64).to_be_bytes());
        for item in self {
            let tag = item.etag();
            weak |= tag.is_weak();
            // '\n' is not an etagc character, so the joined form is unambiguous.
            hasher.update(tag.opaque().as_bytes());
            hasher.update(b"\n");
        }
        let tag = hasher.finish();
        if weak { tag.into_weak() } else { tag }
    }

    fn last_modified(&self) -> Option<SystemTime> {
        self.iter().filter_map(Versioned::last_modified).max()
    }
}

impl<T: Versioned> Versioned for Vec<T> {
    fn etag(&self) -> ETag {
        self.as_slice().etag()
    }
    fn last_modified(&self) -> Option<SystemTime> {
        self.as_slice().last_modified()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    struct Item(u32, Option<SystemTime>, bool);

    impl Versioned for Item {
        fn etag(&self) -> ETag {
            let t = ETag::from_version(&self.0);
            if self.2 { t.into_weak() } else { t }
        }
        fn last_modified(&self) -> Option<SystemTime> {
            self.1
        }
    }

    #[test]
    fn collection_tag_follows_members_and_order() {
        let t = |s| Some(SystemTime::UNIX_EPOCH + Duration::from_secs(s));
        let a = vec![Item(1, t(5), false), Item(2, t(9), false)];
        let b = vec![Item(2, t(9), false), Item(1, t(5), false)];
        let c = vec![Item(1, t(5), false), Item(3, t(9), false)];
        assert_ne!(a.etag(), b.etag());
        assert_ne!(a.etag(), c.etag());
        assert_eq!(
            a.etag(),
            vec![Item(1, None, false), Item(2, None, false)].etag()
        );
        assert_eq!(a.last_modified(), t(9));
        assert!(!a.etag().is_weak());
        assert!(vec![Item(1, None, true)].etag().is_weak());
        assert_ne!(Vec::<Item>::new().etag(), vec![Item(1, None, false)].etag());
        assert_eq!(Vec::<Item>::new().last_modified(), None);
        // Members "1\n2" and "1" + "2" must not collide with one member "12".
        assert_ne!(
            vec![Item(1, None, false), Item(2, None, false)].etag(),
            vec![Item(12, None, false)].etag()
        );
    }
}

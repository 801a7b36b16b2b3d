//! Model types that carry their own validators.

use std::sync::Arc;
use std::time::SystemTime;

use axum::response::{IntoResponse, Response};

use crate::collection::Fingerprint;
use crate::groups::CacheGroups;
use crate::{ETag, Validators};

/// A value that knows its validators: an entity tag and, optionally, a last-modification time.
///
/// Derive it with `#[derive(Versioned)]` on a struct that has a `#[version]` field (and
/// optionally a `#[last_modified]` one), or implement it by hand.
///
/// A version must change on every write and must never repeat for one URL. A counter that
/// starts again at 1 when a resource is deleted and created anew hands out `"1"` a second
/// time, and a client still holding the first `"1"` would then overwrite the new resource
/// with `If-Match: "1"`. Take versions from one store-wide revision (a database sequence,
/// as the example application does), or from a timestamp of sufficient resolution, or
/// put the resource's creation time in the tag.
///
/// Slices and `Vec`s of versioned items are versioned too: their tag is a digest (a
/// [`Fingerprint`]) of the count and of each member's version, in order (a member
/// implemented by hand rather than derived gives its tag and its last-modified time). Two
/// things to know:
///
/// - A list has no `Last-Modified`. The newest member's time does not move when a member
///   is deleted, so `If-Modified-Since` against it would answer 304 with a stale list.
/// - Members are told apart by their versions only. If one member can be replaced by
///   another at the same version (two rows whose counters both start at 1), the list's
///   tag does not change. Take versions from one store-wide revision, which no two rows
///   share, or, better for lists that change, compute the list's validators from a
///   collection revision and attach them with [`Conditions::check`](crate::Conditions::check)
///   (the example app does this).
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
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no validators: it does not implement `Versioned`",
    label = "`#[etag]` needs the ETag of `{Self}` before rendering it",
    note = "add `#[derive(Versioned)]` to the struct, with `#[version]` on the field its version is stored in",
    note = "or write `#[etag(hash)]` on the handler to tag the response by the SHA-256 of its body"
)]
pub trait Versioned {
    /// The entity tag of the value's current representation.
    fn etag(&self) -> ETag;

    /// When the value last changed, if known.
    fn last_modified(&self) -> Option<SystemTime> {
        None
    }

    /// Whether [`last_modified`](Self::last_modified) can return a time at all: `false`
    /// when it always returns `None`.
    ///
    /// A fact of the type, for what is documented of the handlers that return it: with the
    /// `utoipa` feature, an `#[etag]` handler's operation lists `Last-Modified`,
    /// `If-Modified-Since` and `If-Unmodified-Since` only when its return type can carry a
    /// time. `#[derive(Versioned)]` sets it (`true` with a `#[last_modified]` field or a
    /// timestamp `#[version]`), lists have none, and a hand-written impl that never has a
    /// time says so with `const HAS_LAST_MODIFIED: bool = false;`.
    ///
    /// ```
    /// use etag_runtime::Versioned;
    ///
    /// #[derive(Versioned)]
    /// struct Counter {
    ///     #[version]
    ///     n: u64,
    /// }
    ///
    /// #[derive(Versioned)]
    /// struct Dated {
    ///     #[version]
    ///     n: u64,
    ///     #[last_modified]
    ///     at: std::time::SystemTime,
    /// }
    ///
    /// assert!(!Counter::HAS_LAST_MODIFIED);
    /// assert!(Dated::HAS_LAST_MODIFIED);
    /// // A list has no `Last-Modified`, whatever its members have.
    /// assert!(!<Vec<Dated>>::HAS_LAST_MODIFIED);
    /// ```
    const HAS_LAST_MODIFIED: bool = true;

    /// Not public API: feeds the value's validators into a collection's tag, by default
    /// its entity tag and last-modification time. `#[derive(Versioned)]` writes the
    /// version itself instead, without building a tag, which makes a list's tag several
    /// times cheaper.
    #[doc(hidden)]
    fn fingerprint(&self, out: &mut Fingerprint) {
        out.tag(&self.etag());
        out.time(self.last_modified());
    }

    /// Not public API: renders the value's full response once `#[etag]` has decided to send
    /// it. By default its [`IntoResponse`]; `Json` of a versioned model renders the same
    /// bytes and header fields as axum's `Json`, through a buffer that does not grow as it
    /// is written (see `response::json`).
    #[doc(hidden)]
    fn into_representation(self) -> Response
    where
        Self: Sized + IntoResponse,
    {
        self.into_response()
    }

    /// Adds the cache groups (RFC 9875) a response of this value belongs to, and a
    /// successful write of it changes: by default none. `#[derive(Versioned)]` with
    /// `#[versioned(group = "product")]` and a `#[group_key]` field adds `product/<key>`;
    /// a list adds its collection's group and each member's.
    ///
    /// ```
    /// use etag_runtime::Versioned;
    /// use etag_runtime::groups::CacheGroups;
    ///
    /// #[derive(Versioned)]
    /// #[versioned(group = "order")]
    /// struct Order {
    ///     #[group_key]
    ///     id: u64,
    ///     #[version]
    ///     version: u64,
    /// }
    ///
    /// let mut groups = CacheGroups::new();
    /// Order { id: 5, version: 1 }.cache_groups(&mut groups);
    /// assert_eq!(groups.iter().collect::<Vec<_>>(), ["order/5"]);
    /// ```
    fn cache_groups(&self, out: &mut CacheGroups) {
        let _ = out;
    }

    /// The group of the collection values of this type belong to: `product` for
    /// `#[versioned(group = "product")]`; by default none. A list's response belongs to it,
    /// and a create, change or delete of a member invalidates it.
    ///
    /// ```
    /// use etag_runtime::Versioned;
    ///
    /// #[derive(Versioned)]
    /// #[versioned(group = "order")]
    /// struct Order {
    ///     #[group_key]
    ///     id: u64,
    ///     #[version]
    ///     version: u64,
    /// }
    ///
    /// assert_eq!(Order::collection_group(), Some("order"));
    /// assert_eq!(<Vec<Order>>::collection_group(), None);
    /// ```
    fn collection_group() -> Option<&'static str>
    where
        Self: Sized,
    {
        None
    }

    /// Both validators.
    fn validators(&self) -> Validators {
        Validators::new()
            .with_etag(self.etag())
            .with_last_modified(self.last_modified())
    }
}

impl<T: Versioned + ?Sized> Versioned for &T {
    const HAS_LAST_MODIFIED: bool = T::HAS_LAST_MODIFIED;

    fn etag(&self) -> ETag {
        (**self).etag()
    }
    fn last_modified(&self) -> Option<SystemTime> {
        (**self).last_modified()
    }
    fn fingerprint(&self, out: &mut Fingerprint) {
        (**self).fingerprint(out);
    }
    fn cache_groups(&self, out: &mut CacheGroups) {
        (**self).cache_groups(out);
    }
}

impl<T: Versioned + ?Sized> Versioned for Box<T> {
    const HAS_LAST_MODIFIED: bool = T::HAS_LAST_MODIFIED;

    fn etag(&self) -> ETag {
        (**self).etag()
    }
    fn last_modified(&self) -> Option<SystemTime> {
        (**self).last_modified()
    }
    fn fingerprint(&self, out: &mut Fingerprint) {
        (**self).fingerprint(out);
    }
    fn cache_groups(&self, out: &mut CacheGroups) {
        (**self).cache_groups(out);
    }
}

impl<T: Versioned + ?Sized> Versioned for Arc<T> {
    const HAS_LAST_MODIFIED: bool = T::HAS_LAST_MODIFIED;

    fn etag(&self) -> ETag {
        (**self).etag()
    }
    fn last_modified(&self) -> Option<SystemTime> {
        (**self).last_modified()
    }
    fn fingerprint(&self, out: &mut Fingerprint) {
        (**self).fingerprint(out);
    }
    fn cache_groups(&self, out: &mut CacheGroups) {
        (**self).cache_groups(out);
    }
}

impl<T: Versioned + serde::Serialize> Versioned for axum::Json<T> {
    const HAS_LAST_MODIFIED: bool = T::HAS_LAST_MODIFIED;

    fn into_representation(self) -> Response {
        crate::response::json(&self.0)
    }

    fn etag(&self) -> ETag {
        self.0.etag()
    }
    fn last_modified(&self) -> Option<SystemTime> {
        self.0.last_modified()
    }
    fn fingerprint(&self, out: &mut Fingerprint) {
        self.0.fingerprint(out);
    }
    fn cache_groups(&self, out: &mut CacheGroups) {
        self.0.cache_groups(out);
    }
    fn collection_group() -> Option<&'static str> {
        T::collection_group()
    }
}

/// The tag of a `#[version]` field, made by its
/// [`VersionValue::to_etag`](crate::version::VersionValue::to_etag); weak with
/// `#[versioned(weak)]`, the one place a derived tag is made weak. Called by
/// `#[derive(Versioned)]`.
#[doc(hidden)]
#[inline]
pub fn version_etag(tag: ETag, weak: bool) -> ETag {
    if weak { tag.into_weak() } else { tag }
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
            vec![Item(1, t(5), false), Item(2, t(9), false)].etag()
        );
        // One member replaced by another at the same version, created later.
        assert_ne!(
            a.etag(),
            vec![Item(1, t(5), false), Item(2, t(10), false)].etag()
        );
        // A delete of an older member must not leave a Last-Modified that says otherwise.
        assert_eq!(a.last_modified(), None);
        assert!(!a.etag().is_weak());
        assert!(vec![Item(1, None, true)].etag().is_weak());
        assert_ne!(Vec::<Item>::new().etag(), vec![Item(1, None, false)].etag());
        assert_eq!(Vec::<Item>::new().last_modified(), None);
        const { assert!(Item::HAS_LAST_MODIFIED && !<Vec<Item>>::HAS_LAST_MODIFIED) };
        // Members "1\n2" and "1" + "2" must not collide with one member "12".
        assert_ne!(
            vec![Item(1, None, false), Item(2, None, false)].etag(),
            vec![Item(12, None, false)].etag()
        );
    }
}

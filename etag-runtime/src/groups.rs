//! Cache groups (RFC 9875): the groups a response belongs to, so that a shared cache can
//! hold it until a write invalidates one of them.
//!
//! A model names its group with `#[versioned(group = "product")]` and the field that keys
//! it with `#[group_key]`: product 17 belongs to `product/17`, and a list of products to
//! the collection's group `product` (and to each member's, up to
//! [`CacheGroups::MAX_MEMBERS`] of them). A read answers with
//! `Cache-Groups: "product/17"` on its 200 and on its 304 alike; a successful write answers
//! with `Cache-Group-Invalidation: "product/17", "product"`, the groups it changed, which a
//! cache the response passes through acts on, and which
//! [`CacheGroupsLayer`](crate::layer::CacheGroupsLayer) hands to an application's
//! [`Purge`](crate::layer::Purge) for the caches it does not pass through. A per-user
//! (`private`) response carries neither.
//!
//! Both fields are structured-field Lists of Strings (RFC 9651), written by the `sfv`
//! crate.
//!
//! ```
//! use etag_runtime::Versioned;
//! use etag_runtime::groups::CacheGroups;
//!
//! #[derive(Versioned)]
//! #[versioned(group = "product")]
//! struct Product {
//!     #[group_key]
//!     id: i64,
//!     #[version]
//!     version: i64,
//! }
//!
//! let product = Product { id: 17, version: 3 };
//! assert_eq!(CacheGroups::of(&product).iter().collect::<Vec<_>>(), ["product/17"]);
//! let list = vec![product];
//! assert_eq!(CacheGroups::of(&list).iter().collect::<Vec<_>>(), ["product", "product/17"]);
//! // The same group from the key alone, before the product is loaded.
//! let mut by_key = CacheGroups::new();
//! by_key.add_key::<Product>(17);
//! assert_eq!(by_key, CacheGroups::of(&list[0]));
//! ```

use std::fmt::{self, Write as _};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use http::HeaderValue;
use http::header::HeaderName;

use crate::Versioned;

/// `Cache-Groups` (RFC 9875 section 2): the groups a response belongs to.
pub const CACHE_GROUPS: HeaderName = HeaderName::from_static("cache-groups");

/// `Cache-Group-Invalidation` (RFC 9875 section 3): on the response to an unsafe request,
/// the groups it made stale.
pub const CACHE_GROUP_INVALIDATION: HeaderName =
    HeaderName::from_static("cache-group-invalidation");

/// An ordered set of cache-group names, each at most once.
///
/// A name is kept as it is when it is made of visible ASCII other than `%`, `"`, `\` and
/// `,`; any other byte (a space, a non-ASCII letter of a string key) is written `%XX`. So a
/// name is a valid structured-field String, and also a valid token of the vendor headers,
/// which separate names by spaces (`Surrogate-Key`) or commas (`Cache-Tag`).
///
/// # Examples
///
/// ```
/// use etag_runtime::groups::CacheGroups;
///
/// let mut groups = CacheGroups::new();
/// groups.add("product").add("product").add("price list, 2026");
/// assert_eq!(groups.iter().collect::<Vec<_>>(), ["product", "price%20list%2C%202026"]);
/// assert_eq!(
///     groups.field_value().unwrap(),
///     r#""product", "price%20list%2C%202026""#
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CacheGroups {
    names: Vec<String>,
}

impl CacheGroups {
    /// The most members whose groups a list names besides its collection's. A longer
    /// list names its collection's group alone, which every create, change and delete of
    /// a member invalidates anyway: a page of 1,000 products would otherwise carry some
    /// 12 KB of groups, more than a proxy's default header buffer (nginx's is 4 or 8 KB)
    /// and close to a CDN's limit.
    ///
    /// # Examples
    ///
    /// ```
    /// use etag_runtime::Versioned;
    /// use etag_runtime::groups::CacheGroups;
    ///
    /// #[derive(Versioned)]
    /// #[versioned(group = "item")]
    /// struct Item {
    ///     #[group_key]
    ///     id: usize,
    ///     #[version]
    ///     version: u32,
    /// }
    ///
    /// let list = |n: usize| (1..=n).map(|id| Item { id, version: 1 }).collect::<Vec<_>>();
    /// assert_eq!(CacheGroups::of(&list(CacheGroups::MAX_MEMBERS)).len(), 1 + CacheGroups::MAX_MEMBERS);
    /// assert_eq!(CacheGroups::of(&list(CacheGroups::MAX_MEMBERS + 1)).iter().collect::<Vec<_>>(), ["item"]);
    /// ```
    pub const MAX_MEMBERS: usize = 32;

    /// No groups.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(etag_runtime::groups::CacheGroups::new().is_empty());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// The groups `value` belongs to ([`Versioned::cache_groups`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use etag_runtime::Versioned;
    /// use etag_runtime::groups::CacheGroups;
    ///
    /// #[derive(Versioned)]
    /// struct Note {
    ///     #[version]
    ///     rev: u32,
    /// }
    ///
    /// // A model without `#[versioned(group = ...)]` belongs to none.
    /// assert!(CacheGroups::of(&Note { rev: 1 }).is_empty());
    /// ```
    pub fn of<T: Versioned + ?Sized>(value: &T) -> Self {
        let mut groups = Self::new();
        value.cache_groups(&mut groups);
        groups
    }

    /// Adds a group by its name (see the type's docs for how it is written); a group
    /// already there is not added again.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut groups = etag_runtime::groups::CacheGroups::new();
    /// groups.add("catalog").add(2026);
    /// assert_eq!(groups.len(), 2);
    /// ```
    pub fn add(&mut self, name: impl fmt::Display) -> &mut Self {
        let mut out = String::new();
        let _ = write!(Encoder(&mut out), "{name}");
        self.push(out)
    }

    /// Adds the group of the member of `T`'s collection keyed `key`: `product/17` for
    /// `T` with `#[versioned(group = "product")]` and `key` 17. Nothing when `T` names no
    /// group.
    ///
    /// # Examples
    ///
    /// ```
    /// use etag_runtime::Versioned;
    /// use etag_runtime::groups::CacheGroups;
    ///
    /// #[derive(Versioned)]
    /// #[versioned(group = "note")]
    /// struct Note {
    ///     #[group_key]
    ///     slug: String,
    ///     #[version]
    ///     rev: u32,
    /// }
    ///
    /// let mut groups = CacheGroups::new();
    /// groups.add_key::<Note>("café");
    /// assert_eq!(groups.iter().collect::<Vec<_>>(), ["note/caf%C3%A9"]);
    /// ```
    pub fn add_key<T: Versioned>(&mut self, key: impl fmt::Display) -> &mut Self {
        match T::collection_group() {
            Some(group) => self.add(format_args!("{group}/{key}")),
            None => self,
        }
    }

    /// Adds the group of `T`'s collection: `product` for `T` with
    /// `#[versioned(group = "product")]`. Nothing when `T` names no group.
    ///
    /// # Examples
    ///
    /// ```
    /// use etag_runtime::Versioned;
    /// use etag_runtime::groups::CacheGroups;
    ///
    /// #[derive(Versioned)]
    /// #[versioned(group = "note")]
    /// struct Note {
    ///     #[group_key]
    ///     id: u32,
    ///     #[version]
    ///     rev: u32,
    /// }
    ///
    /// let mut groups = CacheGroups::new();
    /// groups.add_collection::<Note>();
    /// assert_eq!(groups.iter().collect::<Vec<_>>(), ["note"]);
    /// ```
    pub fn add_collection<T: Versioned>(&mut self) -> &mut Self {
        match T::collection_group() {
            Some(group) => self.add(group),
            None => self,
        }
    }

    /// Adds every group of `other`, in its order.
    ///
    /// # Examples
    ///
    /// ```
    /// use etag_runtime::groups::CacheGroups;
    ///
    /// let mut a = CacheGroups::new();
    /// a.add("x");
    /// let mut b = CacheGroups::new();
    /// b.add("y").add("x");
    /// a.add_all(&b);
    /// assert_eq!(a.iter().collect::<Vec<_>>(), ["x", "y"]);
    /// ```
    pub fn add_all(&mut self, other: &CacheGroups) -> &mut Self {
        for name in &other.names {
            self.push(name.clone());
        }
        self
    }

    fn push(&mut self, name: String) -> &mut Self {
        if !name.is_empty() && !self.names.contains(&name) {
            self.names.push(name);
        }
        self
    }

    /// Whether there are none.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut groups = etag_runtime::groups::CacheGroups::new();
    /// assert!(groups.is_empty());
    /// groups.add("x");
    /// assert!(!groups.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// How many there are.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut groups = etag_runtime::groups::CacheGroups::new();
    /// groups.add("x").add("y").add("x");
    /// assert_eq!(groups.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// The names, in the order they were added.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut groups = etag_runtime::groups::CacheGroups::new();
    /// groups.add("b").add("a");
    /// assert_eq!(groups.iter().collect::<Vec<_>>(), ["b", "a"]);
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map(String::as_str)
    }

    /// The groups as the value of `Cache-Groups` or `Cache-Group-Invalidation`: a
    /// structured-field List of Strings (RFC 9875 sections 2 and 3); `None` when empty.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut groups = etag_runtime::groups::CacheGroups::new();
    /// assert!(groups.field_value().is_none());
    /// groups.add("product/17").add("product");
    /// assert_eq!(groups.field_value().unwrap(), r#""product/17", "product""#);
    /// ```
    pub fn field_value(&self) -> Option<HeaderValue> {
        let mut list = sfv::ListSerializer::new();
        for name in &self.names {
            // Every name is visible ASCII (see `Encoder`): always a valid String.
            if let Ok(string) = sfv::StringRef::from_str(name) {
                let _ = list.bare_item(string);
            }
        }
        HeaderValue::from_str(&list.finish()?).ok()
    }

    /// As much of the groups as fits `header`'s limits, in order, for its separator: what
    /// [`CacheGroupsLayer`](crate::layer::CacheGroupsLayer) sends under a vendor header.
    pub(crate) fn vendor_value(&self, header: &VendorHeader) -> Option<HeaderValue> {
        let mut out = String::new();
        for (count, name) in self.names.iter().enumerate() {
            if header.max_groups.is_some_and(|max| count >= max) {
                break;
            }
            let extra = if out.is_empty() { 0 } else { 1 };
            if header
                .max_bytes
                .is_some_and(|max| out.len() + extra + name.len() > max)
            {
                break;
            }
            if extra == 1 {
                out.push(header.separator.as_char());
            }
            out.push_str(name);
        }
        if out.is_empty() {
            return None;
        }
        HeaderValue::from_str(&out).ok()
    }
}

/// Writes a group name: visible ASCII but `%`, `"`, `\` and `,` as is, other bytes `%XX`.
struct Encoder<'a>(&'a mut String);

impl fmt::Write for Encoder<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for byte in s.bytes() {
            if byte.is_ascii_graphic() && !matches!(byte, b'%' | b'"' | b'\\' | b',') {
                self.0.push(char::from(byte));
            } else {
                write!(self.0, "%{byte:02X}")?;
            }
        }
        Ok(())
    }
}

/// How a vendor header separates group names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Separator {
    /// A space: Fastly's and Varnish xkey's `Surrogate-Key`.
    Space,
    /// A comma: Cloudflare's `Cache-Tag`, Akamai's `Edge-Cache-Tag`.
    Comma,
}

impl Separator {
    fn as_char(self) -> char {
        match self {
            Self::Space => ' ',
            Self::Comma => ',',
        }
    }
}

/// A CDN's own header for the groups of a response, sent next to `Cache-Groups` by
/// [`CacheGroupsLayer`](crate::layer::CacheGroupsLayer): the field's name, separator and
/// limits.
///
/// Over a limit, the first groups that fit are sent. They are the ones that keep the
/// response correct: an item's own group comes first, and a list's collection group,
/// which every create, change and delete of a member invalidates, before its members'.
///
/// # Examples
///
/// ```
/// use etag_runtime::groups::{Separator, VendorHeader};
///
/// let fastly = VendorHeader::surrogate_key();
/// assert_eq!(fastly.name(), "surrogate-key");
/// let cloudflare = VendorHeader::cache_tag();
/// assert_eq!(cloudflare.name(), "cache-tag");
/// // CloudFront takes at most 50 tags, under the header its distribution names.
/// let cloudfront = VendorHeader::new(http::HeaderName::from_static("edge-cache-tag"), Separator::Comma)
///     .max_groups(50);
/// assert_eq!(cloudfront.name(), "edge-cache-tag");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendorHeader {
    name: HeaderName,
    separator: Separator,
    max_bytes: Option<usize>,
    max_groups: Option<usize>,
}

impl VendorHeader {
    /// A header of this name and separator, without limits.
    ///
    /// # Examples
    ///
    /// ```
    /// use etag_runtime::groups::{Separator, VendorHeader};
    /// let xkey = VendorHeader::new(http::HeaderName::from_static("xkey"), Separator::Space);
    /// assert_eq!(xkey.name(), "xkey");
    /// ```
    pub fn new(name: HeaderName, separator: Separator) -> Self {
        Self {
            name,
            separator,
            max_bytes: None,
            max_groups: None,
        }
    }

    /// `Surrogate-Key`, space-separated, at most 16,384 bytes: Fastly, and Varnish with
    /// the xkey vmod.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(etag_runtime::groups::VendorHeader::surrogate_key().name(), "surrogate-key");
    /// ```
    pub fn surrogate_key() -> Self {
        Self::new(HeaderName::from_static("surrogate-key"), Separator::Space).max_bytes(16_384)
    }

    /// `Cache-Tag`, comma-separated, at most 16 KB in all: Cloudflare.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(etag_runtime::groups::VendorHeader::cache_tag().name(), "cache-tag");
    /// ```
    pub fn cache_tag() -> Self {
        Self::new(HeaderName::from_static("cache-tag"), Separator::Comma).max_bytes(16 * 1024)
    }

    /// At most `max` bytes in the field's value.
    ///
    /// # Examples
    ///
    /// ```
    /// let header = etag_runtime::groups::VendorHeader::cache_tag().max_bytes(100);
    /// assert_eq!(header.name(), "cache-tag");
    /// ```
    #[must_use]
    pub fn max_bytes(mut self, max: usize) -> Self {
        self.max_bytes = Some(max);
        self
    }

    /// At most `max` groups.
    ///
    /// # Examples
    ///
    /// ```
    /// let header = etag_runtime::groups::VendorHeader::surrogate_key().max_groups(50);
    /// assert_eq!(header.name(), "surrogate-key");
    /// ```
    #[must_use]
    pub fn max_groups(mut self, max: usize) -> Self {
        self.max_groups = Some(max);
        self
    }

    /// The field's name.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(etag_runtime::groups::VendorHeader::cache_tag().name(), "cache-tag");
    /// ```
    pub fn name(&self) -> &HeaderName {
        &self.name
    }
}

/// The groups of one `#[etag]` handler's response, for a handler argument of this type:
/// on a read, the groups its 200 and its 304 belong to; on a write, the groups a success
/// changed. Add to it before deciding anything, so that an early 304 carries them too.
///
/// `#[etag]` hands the handler the one its response is finished with (as it hands over
/// `Conditions`), so this type is only useful as an argument of an `#[etag]` handler.
///
/// # Examples
///
/// ```
/// use axum::Json;
/// use axum::extract::Path;
/// use etag_runtime::groups::ResponseGroups;
/// use etag_runtime::{Conditions, Precondition, Versioned, WithValidators, etag};
///
/// #[derive(serde::Serialize, Versioned)]
/// #[versioned(group = "product")]
/// struct Product {
///     #[group_key]
///     id: i64,
///     #[version]
///     version: i64,
/// }
///
/// #[etag]
/// async fn get_product(
///     Path(id): Path<i64>,
///     conditions: Conditions,
///     groups: ResponseGroups,
/// ) -> Result<WithValidators<Json<Product>>, Precondition> {
///     groups.edit().add_key::<Product>(id); // on the 304 below as on the 200
///     let product = Product { id, version: 1 };
///     let checked = conditions.check(product.validators())?;
///     Ok(checked.respond(Json(product)))
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use tower::ServiceExt;
/// let app = axum::Router::new().route("/products/{id}", axum::routing::get(get_product));
/// let req = |tag: &str| {
///     http::Request::get("/products/7").header("if-none-match", tag).body(axum::body::Body::empty()).unwrap()
/// };
/// let full = app.clone().oneshot(req("\"0\"")).await.unwrap();
/// assert_eq!(full.status(), 200);
/// assert_eq!(full.headers()["cache-groups"], r#""product/7""#);
/// let not_modified = app.oneshot(req("\"1\"")).await.unwrap();
/// assert_eq!(not_modified.status(), 304);
/// assert_eq!(not_modified.headers()["cache-groups"], r#""product/7""#);
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct ResponseGroups(Arc<Mutex<CacheGroups>>);

impl ResponseGroups {
    /// The groups, to add to.
    pub fn edit(&self) -> MutexGuard<'_, CacheGroups> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The groups so far.
    pub(crate) fn snapshot(&self) -> CacheGroups {
        self.edit().clone()
    }
}

/// Not public API: a value written by a given `Display::fmt`, the key of a derived cache
/// group, named at its field's type by `#[derive(Versioned)]`.
#[doc(hidden)]
#[allow(missing_debug_implementations)]
pub struct DisplayWith<'a, T: ?Sized>(
    pub &'a T,
    pub fn(&T, &mut core::fmt::Formatter<'_>) -> core::fmt::Result,
);

impl<T: ?Sized> core::fmt::Display for DisplayWith<'_, T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        (self.1)(self.0, f)
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    fn names(groups: &CacheGroups) -> Vec<&str> {
        groups.iter().collect()
    }

    #[test]
    fn names_are_strings_and_vendor_tokens() {
        let mut groups = CacheGroups::new();
        groups
            .add("a b")
            .add("x,y")
            .add("q\"\\")
            .add("100%")
            .add("é")
            .add("");
        assert_eq!(
            names(&groups),
            ["a%20b", "x%2Cy", "q%22%5C", "100%25", "%C3%A9"]
        );
        for name in groups.iter() {
            assert!(sfv::StringRef::from_str(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn vendor_values_keep_the_first_groups_that_fit() {
        let mut groups = CacheGroups::new();
        groups.add("product").add("product/1").add("product/2");
        let space = VendorHeader::new(HeaderName::from_static("xkey"), Separator::Space);
        assert_eq!(
            groups.vendor_value(&space).unwrap(),
            "product product/1 product/2"
        );
        assert_eq!(
            groups.vendor_value(&VendorHeader::cache_tag()).unwrap(),
            "product,product/1,product/2"
        );
        assert_eq!(
            groups.vendor_value(&space.clone().max_groups(2)).unwrap(),
            "product product/1"
        );
        // 19 bytes hold "product product/1" (17), not the third group too.
        assert_eq!(
            groups.vendor_value(&space.clone().max_bytes(19)).unwrap(),
            "product product/1"
        );
        assert_eq!(groups.vendor_value(&space.max_bytes(3)), None);
    }
}

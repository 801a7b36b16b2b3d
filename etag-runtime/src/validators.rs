//! A representation's validators, and a response body that carries them.

use std::time::SystemTime;

use axum::response::{IntoResponse, Response};
use http::HeaderMap;

use crate::ETag;

/// The validators of a resource's current representation: an entity tag, a
/// last-modification time, or both.
///
/// # Examples
///
/// ```
/// use std::time::SystemTime;
/// use etag_runtime::{ETag, Validators};
///
/// let v = Validators::new()
///     .with_etag(ETag::from_version(&3_u64))
///     .with_last_modified(SystemTime::UNIX_EPOCH);
/// assert_eq!(v.etag().unwrap().to_string(), "\"3\"");
/// assert!(v.last_modified().is_some());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    etag: Option<ETag>,
    last_modified: Option<SystemTime>,
}

impl Validators {
    /// No validators yet.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(etag_runtime::Validators::new().etag().is_none());
    /// ```
    #[inline]
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the entity tag.
    ///
    /// # Examples
    ///
    /// ```
    /// let v = etag_runtime::Validators::new().with_etag(etag_runtime::ETag::from_version(&1_u8));
    /// assert!(v.etag().is_some());
    /// ```
    #[must_use]
    #[inline]
    pub fn with_etag(mut self, etag: ETag) -> Self {
        self.etag = Some(etag);
        self
    }

    /// Sets the last-modification time, or clears it with `None` (kept at full precision;
    /// compared and sent at the second).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use etag_runtime::Validators;
    ///
    /// let v = Validators::new().with_last_modified(SystemTime::UNIX_EPOCH);
    /// assert_eq!(v.last_modified(), Some(SystemTime::UNIX_EPOCH));
    /// // A nullable column: no time, no Last-Modified.
    /// let none: Option<SystemTime> = None;
    /// assert_eq!(v.with_last_modified(none).last_modified(), None);
    /// ```
    #[must_use]
    #[inline]
    pub fn with_last_modified(mut self, time: impl Into<Option<SystemTime>>) -> Self {
        self.last_modified = time.into();
        self
    }

    /// The entity tag, if any.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(etag_runtime::Validators::new().etag(), None);
    /// ```
    #[inline]
    pub fn etag(&self) -> Option<&ETag> {
        self.etag.as_ref()
    }

    /// The last-modification time, if any, at full precision.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(etag_runtime::Validators::new().last_modified(), None);
    /// ```
    pub fn last_modified(&self) -> Option<SystemTime> {
        self.last_modified
    }

    /// Writes `ETag` and `Last-Modified` (truncated to the second) into `headers`,
    /// replacing what was there.
    pub(crate) fn write_headers(self, headers: &mut HeaderMap) {
        if let Some(etag) = self.etag {
            headers.insert(http::header::ETAG, etag.into());
        }
        if let Some(time) = self.last_modified {
            headers.insert(
                http::header::LAST_MODIFIED,
                crate::header::format_http_date(time),
            );
        }
    }
}

/// A response body with the validators it goes out with: made by
/// [`Checked::respond`](crate::Checked::respond), so that a 200 carries exactly the
/// validators its preconditions were checked against.
///
/// Under `#[etag]` it is answered like a versioned value (304 or 412 on reads); as a plain
/// [`IntoResponse`] it adds `ETag` and `Last-Modified` to a 2xx response.
///
/// # Examples
///
/// ```
/// use axum::response::IntoResponse;
/// use etag_runtime::{Conditions, ETag, Validators};
/// use http::{HeaderMap, Method};
///
/// let conditions = Conditions::from_headers(&Method::GET, &HeaderMap::new());
/// let checked = conditions.check(Validators::new().with_etag(ETag::from_version(&9_u8))).unwrap();
/// let res = checked.respond("hi").into_response();
/// assert_eq!(res.headers()["etag"], "\"9\"");
/// ```
#[derive(Debug, Clone)]
pub struct WithValidators<T> {
    pub(crate) validators: Validators,
    pub(crate) body: T,
    /// The 304 the layer outside makes of the rendered response.
    pub(crate) deferred: Option<crate::not_modified::Deferred>,
}

impl<T> WithValidators<T> {
    /// The validators.
    ///
    /// # Examples
    ///
    /// ```
    /// use etag_runtime::{Conditions, Validators};
    /// use http::{HeaderMap, Method};
    ///
    /// let c = Conditions::from_headers(&Method::GET, &HeaderMap::new());
    /// let w = c.check(Validators::new()).unwrap().respond(());
    /// assert!(w.validators().etag().is_none());
    /// ```
    pub fn validators(&self) -> &Validators {
        &self.validators
    }
}

impl<T: IntoResponse> IntoResponse for WithValidators<T> {
    fn into_response(self) -> Response {
        let mut res = self.body.into_response();
        if res.status().is_success() {
            self.validators.write_headers(res.headers_mut());
            if let Some(deferred) = self.deferred {
                res.extensions_mut().insert(deferred);
            }
        }
        res
    }
}

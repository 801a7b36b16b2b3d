//! What the checks of [`Conditions`](crate::Conditions) hand back when the preconditions
//! hold: [`Proceed`] and [`Checked`].

use crate::{Validators, WithValidators};

/// The preconditions hold: perform the method. Made by [`Conditions::evaluate`](crate::Conditions::evaluate).
///
/// # Examples
///
/// ```
/// use etag_runtime::{Conditions, ETag, Validators};
/// use http::{HeaderMap, Method};
///
/// let mut h = HeaderMap::new();
/// h.insert("range", "bytes=0-9".parse().unwrap());
/// h.insert("if-range", "\"1\"".parse().unwrap());
/// let c = Conditions::from_headers(&Method::GET, &h);
/// let current = Validators::new().with_etag(ETag::from_version(&2_u8));
/// // The client's partial copy is of another version: send the whole representation.
/// assert!(!c.evaluate(Some(&current)).unwrap().honor_range());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proceed {
    pub(crate) honor_range: bool,
}

impl Proceed {
    /// Whether the request's `Range` may be served as ranges (RFC 9110 section 13.1.5): a
    /// GET with a `Range` and no `If-Range`, or with an `If-Range` that holds.
    ///
    /// # Examples
    ///
    /// ```
    /// use etag_runtime::{Conditions, Validators};
    /// use http::{HeaderMap, Method};
    ///
    /// let c = Conditions::from_headers(&Method::GET, &HeaderMap::new());
    /// assert!(!c.evaluate(Some(&Validators::new())).unwrap().honor_range());
    /// ```
    pub fn honor_range(self) -> bool {
        self.honor_range
    }
}

/// Proof that a read's preconditions held against validators computed before the
/// expensive work: attach it to the response with [`Checked::respond`], so that the 200
/// carries exactly the validators the check used.
///
/// Made by [`Conditions::check`](crate::Conditions::check).
///
/// # Examples
///
/// ```
/// use etag_runtime::{Conditions, ETag, Validators};
/// use http::{HeaderMap, Method};
///
/// let conditions = Conditions::from_headers(&Method::GET, &HeaderMap::new());
/// let checked = conditions.check(Validators::new().with_etag(ETag::from_version(&1_u8))).unwrap();
/// let response = checked.respond("the expensive body");
/// assert_eq!(response.validators().etag().unwrap().to_string(), "\"1\"");
/// ```
#[derive(Debug, Clone)]
#[must_use = "attach it to the response with `.respond(body)`, so that the 200 carries the validators that were checked"]
pub struct Checked {
    pub(crate) validators: Validators,
}

impl Checked {
    /// The response `body` with the checked validators attached.
    ///
    /// Attach them only to the body they were computed from. A body loaded after the
    /// check may be newer than its validators, and a strong tag on another body than its
    /// own makes caches answer 304 for bytes they never had (RFC 9110 section 8.8.1):
    /// [`Conditions::read`](crate::Conditions::read) checks, loads, and sends the loaded
    /// body's validators, deciding again when they differ.
    ///
    /// # Examples
    ///
    /// ```
    /// use axum::response::IntoResponse;
    /// use etag_runtime::{Conditions, ETag, Validators};
    /// use http::{HeaderMap, Method};
    ///
    /// let conditions = Conditions::from_headers(&Method::GET, &HeaderMap::new());
    /// let checked = conditions.check(Validators::new().with_etag(ETag::from_version(&1_u8))).unwrap();
    /// let res = checked.respond("body").into_response();
    /// assert_eq!(res.headers()["etag"], "\"1\"");
    /// ```
    pub fn respond<T>(self, body: T) -> WithValidators<T> {
        WithValidators {
            validators: self.validators,
            body,
        }
    }

    /// The validators that were checked.
    ///
    /// # Examples
    ///
    /// ```
    /// use etag_runtime::{Conditions, Validators};
    /// use http::{HeaderMap, Method};
    ///
    /// let c = Conditions::from_headers(&Method::GET, &HeaderMap::new());
    /// assert_eq!(c.check(Validators::new()).unwrap().validators(), &Validators::new());
    /// ```
    pub fn validators(&self) -> &Validators {
        &self.validators
    }

    /// The validators that were checked, to send with the response.
    pub(crate) fn into_validators(self) -> Validators {
        self.validators
    }
}

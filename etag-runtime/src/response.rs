//! The responses preconditions end in: 304, 412 and 428.

use std::fmt;

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http::header::{self, HeaderMap, HeaderValue};

use crate::{Conditions, Outcome, Validators, Versioned};

/// A request answered by its preconditions, before (or instead of) the handler's work.
///
/// It is an error type so that `?` can return it from a handler: add a variant for it to
/// your error type, or use [`Response`] as the error type (`Halt` converts into it).
///
/// # Examples
///
/// ```
/// use axum::response::IntoResponse;
/// use etag_runtime::Halt;
///
/// let res = Halt::PreconditionFailed.into_response();
/// assert_eq!(res.status(), 412);
/// assert_eq!(res.headers()["content-type"], "application/problem+json");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Halt {
    /// 304 Not Modified: the client's copy is current. Carries the validators to send.
    NotModified(Validators),
    /// 412 Precondition Failed: the resource changed since the client read it.
    PreconditionFailed,
    /// 428 Precondition Required: the request must be conditional (RFC 6585 section 3).
    PreconditionRequired,
}

impl fmt::Display for Halt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotModified(_) => "not modified",
            Self::PreconditionFailed => "precondition failed",
            Self::PreconditionRequired => "precondition required",
        })
    }
}

impl std::error::Error for Halt {}

/// The `application/problem+json` body (RFC 9457) of a 412 or 428.
fn problem(status: StatusCode, title: &str, detail: &str) -> Response {
    let body = serde_json::json!({
        "type": "about:blank",
        "title": title,
        "status": status.as_u16(),
        "detail": detail,
    });
    let mut res = (status, body.to_string()).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    res
}

/// What a client should do after a 412.
pub(crate) const FAILED_DETAIL: &str = "The resource has changed since you read it, or is not in the state your preconditions name. GET it again, re-apply your change, and retry with If-Match set to the new ETag.";

/// What a client should do after a 428.
pub(crate) const REQUIRED_DETAIL: &str = "This request must be conditional, so that it cannot overwrite a change it has not seen. GET the resource and send its ETag in If-Match (or its Last-Modified in If-Unmodified-Since); to create a resource only if it does not exist yet, send If-None-Match: *.";

impl IntoResponse for Halt {
    fn into_response(self) -> Response {
        match self {
            Self::NotModified(validators) => not_modified(validators),
            Self::PreconditionFailed => problem(
                StatusCode::PRECONDITION_FAILED,
                "Precondition Failed",
                FAILED_DETAIL,
            ),
            Self::PreconditionRequired => problem(
                StatusCode::PRECONDITION_REQUIRED,
                "Precondition Required",
                REQUIRED_DETAIL,
            ),
        }
    }
}

impl From<Halt> for Response {
    fn from(halt: Halt) -> Self {
        halt.into_response()
    }
}

/// A 304 Not Modified carrying the given validators and no body.
///
/// `Last-Modified` is sent only when there is no `ETag`: RFC 9110 section 15.4.5 lets a
/// 304 carry other representation metadata only when it guides cache updates.
///
/// # Examples
///
/// ```
/// use etag_runtime::{ETag, Validators, not_modified};
///
/// let res = not_modified(Validators::new().with_etag(ETag::from_version(&2_u8)));
/// assert_eq!(res.status(), 304);
/// assert_eq!(res.headers()["etag"], "\"2\"");
/// ```
pub fn not_modified(validators: Validators) -> Response {
    let mut res = StatusCode::NOT_MODIFIED.into_response();
    let validators = if validators.etag().is_some() {
        validators.with_last_modified_opt(None)
    } else {
        validators
    };
    validators.write_headers(res.headers_mut());
    res
}

/// Turns the response a request would have got into the 304 that replaces it (RFC 9110
/// section 15.4.5): the body and the `Content-*` fields go (`Content-Location` stays),
/// `Last-Modified` goes when there is an `ETag`, and every other field stays, notably
/// `Cache-Control`, `Date`, `ETag`, `Expires` and `Vary`.
///
/// # Examples
///
/// ```
/// use axum::response::IntoResponse;
/// use etag_runtime::into_not_modified;
///
/// let full = ([("cache-control", "no-cache"), ("etag", "\"1\"")], "hello").into_response();
/// let res = into_not_modified(full);
/// assert_eq!(res.status(), 304);
/// assert_eq!(res.headers()["cache-control"], "no-cache");
/// assert!(res.headers().get("content-type").is_none());
/// ```
pub fn into_not_modified(response: Response) -> Response {
    let (mut parts, _body) = response.into_parts();
    strip_to_304(&mut parts.headers);
    parts.status = StatusCode::NOT_MODIFIED;
    Response::from_parts(parts, axum::body::Body::empty())
}

pub(crate) fn strip_to_304(headers: &mut HeaderMap) {
    let doomed: Vec<header::HeaderName> = headers
        .keys()
        .filter(|name| {
            let n = name.as_str();
            (n.starts_with("content-") && *name != header::CONTENT_LOCATION)
                || *name == header::TRANSFER_ENCODING
        })
        .cloned()
        .collect();
    for name in doomed {
        headers.remove(name);
    }
    if headers.contains_key(header::ETAG) {
        headers.remove(header::LAST_MODIFIED);
    }
}

/// Proof that a read's preconditions held against validators computed before the
/// expensive work: attach it to the response with [`Checked::respond`], so that the 200
/// carries exactly the validators the check used.
///
/// Made by [`Conditions::check`].
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
    validators: Validators,
}

impl Checked {
    /// The response `body` with the checked validators attached.
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

    pub(crate) fn into_validators(self) -> Validators {
        self.validators
    }
}

/// A response body with the validators it goes out with; see [`Checked::respond`].
///
/// As a plain [`IntoResponse`] it adds `ETag` and `Last-Modified` to a 2xx response.
///
/// # Examples
///
/// ```
/// use axum::response::IntoResponse;
/// use etag_runtime::{ETag, Validators, WithValidators};
///
/// let res = WithValidators::new(Validators::new().with_etag(ETag::from_version(&9_u8)), "hi").into_response();
/// assert_eq!(res.headers()["etag"], "\"9\"");
/// ```
#[derive(Debug, Clone)]
pub struct WithValidators<T> {
    validators: Validators,
    body: T,
}

impl<T> WithValidators<T> {
    /// Pairs a body with validators computed elsewhere.
    ///
    /// # Examples
    ///
    /// ```
    /// let w = etag_runtime::WithValidators::new(etag_runtime::Validators::new(), ());
    /// assert!(w.validators().etag().is_none());
    /// ```
    pub fn new(validators: Validators, body: T) -> Self {
        Self { validators, body }
    }

    /// The validators.
    ///
    /// # Examples
    ///
    /// ```
    /// let w = etag_runtime::WithValidators::new(etag_runtime::Validators::new(), ());
    /// assert!(w.validators().last_modified().is_none());
    /// ```
    pub fn validators(&self) -> &Validators {
        &self.validators
    }

    pub(crate) fn into_parts(self) -> (Validators, T) {
        (self.validators, self.body)
    }
}

impl<T: IntoResponse> IntoResponse for WithValidators<T> {
    fn into_response(self) -> Response {
        let mut res = self.body.into_response();
        if res.status().is_success() {
            self.validators.write_headers(res.headers_mut());
        }
        res
    }
}

/// The state a write found, once its preconditions held. Do the write atomically
/// against it: never check, then write.
///
/// Made by [`Conditions::check_write`].
///
/// # Examples
///
/// ```
/// use etag_runtime::{Conditions, ETag, Versioned, Write};
/// use http::{HeaderMap, Method};
///
/// struct Doc { version: i64 }
/// impl Versioned for Doc {
///     fn etag(&self) -> ETag { ETag::from_version(&self.version) }
/// }
///
/// let mut h = HeaderMap::new();
/// h.insert("if-match", "\"4\"".parse().unwrap());
/// let conditions = Conditions::from_headers(&Method::PUT, &h);
/// let current = Doc { version: 4 };
/// match conditions.check_write(Some(&current)).unwrap() {
///     // UPDATE docs SET ..., version = version + 1 WHERE id = ? AND version = 4;
///     // zero rows changed means another writer won: answer 412.
///     Write::Update(doc) => assert_eq!(doc.version, 4),
///     // INSERT ... that fails if the row exists (ON CONFLICT DO NOTHING): zero rows is 412.
///     Write::Create => unreachable!(),
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "make the write conditional on this state (UPDATE ... WHERE version = <its version>); a separate check-then-write loses updates"]
pub enum Write<T> {
    /// The resource exists: update it only if it is still at this state's version.
    Update(T),
    /// The resource does not exist: create it only if it still does not.
    Create,
}

impl Conditions {
    /// Evaluates the preconditions of a read against validators computed before the
    /// expensive work (say, from `SELECT version, updated_at ...`). `Err` is the 304 or 412
    /// to answer right away; `Ok` is the proof to attach to the full response.
    ///
    /// # Errors
    ///
    /// [`Halt::NotModified`] or [`Halt::PreconditionFailed`], ready to return with `?`.
    ///
    /// # Examples
    ///
    /// ```
    /// use etag_runtime::{Conditions, ETag, Halt, Validators};
    /// use http::{HeaderMap, Method};
    ///
    /// let mut h = HeaderMap::new();
    /// h.insert("if-none-match", "\"5\"".parse().unwrap());
    /// let c = Conditions::from_headers(&Method::GET, &h);
    /// let v = Validators::new().with_etag(ETag::from_version(&5_u8));
    /// assert!(matches!(c.check(v), Err(Halt::NotModified(_))));
    /// ```
    pub fn check(&self, current: Validators) -> Result<Checked, Halt> {
        match self.evaluate(Some(&current)) {
            Outcome::Proceed { .. } => Ok(Checked {
                validators: current,
            }),
            Outcome::NotModified => Err(Halt::NotModified(current)),
            Outcome::PreconditionFailed => Err(Halt::PreconditionFailed),
        }
    }

    /// Evaluates the preconditions of a write against the state it found (`None`: the
    /// resource does not exist).
    ///
    /// # Errors
    ///
    /// [`Halt::PreconditionFailed`] when they fail (or [`Halt::NotModified`] if called
    /// for a GET whose `If-None-Match` matches).
    ///
    /// # Examples
    ///
    /// ```
    /// use etag_runtime::{Conditions, ETag, Halt, Versioned, Write};
    /// use http::{HeaderMap, Method};
    ///
    /// #[derive(Debug, PartialEq)]
    /// struct Doc;
    /// impl Versioned for Doc {
    ///     fn etag(&self) -> ETag { ETag::from_version(&1_u8) }
    /// }
    ///
    /// let mut h = HeaderMap::new();
    /// h.insert("if-none-match", "*".parse().unwrap());
    /// let c = Conditions::from_headers(&Method::PUT, &h);
    /// assert_eq!(c.check_write::<Doc>(None), Ok(Write::Create));
    /// assert_eq!(c.check_write(Some(&Doc)).unwrap_err(), Halt::PreconditionFailed);
    /// ```
    pub fn check_write<'a, T: Versioned + ?Sized>(
        &self,
        current: Option<&'a T>,
    ) -> Result<Write<&'a T>, Halt> {
        match current {
            Some(state) => self.check_update(state).map(Write::Update),
            None => match self.evaluate(None) {
                Outcome::Proceed { .. } => Ok(Write::Create),
                Outcome::NotModified => Err(Halt::NotModified(Validators::default())),
                Outcome::PreconditionFailed => Err(Halt::PreconditionFailed),
            },
        }
    }

    /// [`check_write`](Self::check_write) for a resource known to exist (a PATCH or a
    /// DELETE, which have nothing to create): `Ok` is the state to make the write
    /// conditional on, with no `Write::Create` case to rule out.
    ///
    /// # Errors
    ///
    /// As [`check_write`](Self::check_write).
    ///
    /// # Examples
    ///
    /// ```
    /// use etag_runtime::{Conditions, ETag, Halt, Versioned};
    /// use http::{HeaderMap, Method};
    ///
    /// struct Doc { version: i64 }
    /// impl Versioned for Doc {
    ///     fn etag(&self) -> ETag { ETag::from_version(&self.version) }
    /// }
    ///
    /// let mut h = HeaderMap::new();
    /// h.insert("if-match", "\"4\"".parse().unwrap());
    /// let c = Conditions::from_headers(&Method::DELETE, &h);
    /// // DELETE ... WHERE id = ? AND version = 4
    /// assert_eq!(c.check_update(&Doc { version: 4 }).unwrap().version, 4);
    /// assert_eq!(c.check_update(&Doc { version: 5 }).err(), Some(Halt::PreconditionFailed));
    /// ```
    pub fn check_update<'a, T: Versioned + ?Sized>(&self, current: &'a T) -> Result<&'a T, Halt> {
        let validators = current.validators();
        match self.evaluate(Some(&validators)) {
            Outcome::Proceed { .. } => Ok(current),
            Outcome::NotModified => Err(Halt::NotModified(validators)),
            Outcome::PreconditionFailed => Err(Halt::PreconditionFailed),
        }
    }

    /// Answers 428 unless the request carries a precondition that protects a write
    /// (see [`Conditions::protects_write`]). Safe methods always pass.
    ///
    /// # Errors
    ///
    /// [`Halt::PreconditionRequired`].
    ///
    /// # Examples
    ///
    /// ```
    /// use etag_runtime::{Conditions, Halt};
    /// use http::{HeaderMap, Method};
    ///
    /// let c = Conditions::from_headers(&Method::DELETE, &HeaderMap::new());
    /// assert_eq!(c.require_precondition(), Err(Halt::PreconditionRequired));
    /// let c = Conditions::from_headers(&Method::GET, &HeaderMap::new());
    /// assert_eq!(c.require_precondition(), Ok(()));
    /// ```
    pub fn require_precondition(&self) -> Result<(), Halt> {
        if self.method().is_safe() || self.protects_write() {
            Ok(())
        } else {
            Err(Halt::PreconditionRequired)
        }
    }
}

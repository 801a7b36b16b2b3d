//! The one outcome of a request its preconditions answer: 304, 412 or 428.

use std::fmt;

use axum::response::{IntoResponse, Response};
use http::header::{self, HeaderValue};
use http::{Method, StatusCode};

use crate::{ETag, Validators};

/// A request answered by its preconditions, before (or instead of) the handler's work:
/// `304 Not Modified`, `412 Precondition Failed` or `428 Precondition Required`; or, from
/// [`Conditions::write`](crate::Conditions::write), `503 Service Unavailable` when other
/// writers changed the resource every time the write was about to land.
///
/// Every check of [`Conditions`](crate::Conditions) returns it as its error, so that `?`
/// returns it from a handler. As an [`IntoResponse`] it is the 304 with the validators it
/// carries, or an `application/problem+json` body (RFC 9457) whose text fits the request:
/// a stale read is told to read again, a stale write to re-apply its change.
///
/// An application with its own error format keeps the status and headers right and brings
/// its own body with [`respond_with`](Self::respond_with); `#[etag(error = MyError)]` sends
/// the refusals the macro makes itself through `MyError: From<Precondition>` too.
///
/// # Examples
///
/// ```
/// use axum::response::IntoResponse;
/// use etag_runtime::{Conditions, ETag, Validators};
/// use http::{HeaderMap, Method};
///
/// let mut h = HeaderMap::new();
/// h.insert("if-match", "\"1\"".parse().unwrap());
/// let c = Conditions::from_headers(&Method::PUT, &h);
/// let refused = c.check(Validators::new().with_etag(ETag::from_version(&2_u8))).unwrap_err();
/// assert_eq!(refused.status(), 412);
/// let res = refused.into_response();
/// assert_eq!(res.headers()["content-type"], "application/problem+json");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Precondition(Outcome);

/// The outcomes, each with only what it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    /// 304, with the validators it sends.
    NotModified(Validators),
    /// 412.
    Failed {
        /// The request's method is safe (GET, HEAD, ...): a read, not a write.
        read: bool,
        /// The field that decided, for the text.
        field: Field,
        /// The current entity tag the field was evaluated against, when it is known and
        /// may be shown (not for per-user responses, whose tags are sealed).
        current: Option<ETag>,
    },
    /// 428.
    Required,
    /// 503: the write lost the race to other writers every time it was tried.
    Contended,
}

/// The conditional field whose evaluation answered the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    IfMatch,
    IfUnmodifiedSince,
    IfNoneMatch,
    IfModifiedSince,
    /// None: the request had no precondition (428).
    None,
}

impl Field {
    /// What decided, as the log says it: the header field's name.
    fn reason(self) -> &'static str {
        match self {
            Self::IfMatch => "If-Match",
            Self::IfUnmodifiedSince => "If-Unmodified-Since",
            Self::IfNoneMatch => "If-None-Match",
            Self::IfModifiedSince => "If-Modified-Since",
            Self::None => "no If-Match, If-Unmodified-Since or If-None-Match: *",
        }
    }
}

/// The debug event of every 304, 412 and 428 the crate decides: the method, the status,
/// the field that decided and the current tag it was compared with (if one was known).
#[inline]
pub(crate) fn trace(method: &Method, status: StatusCode, field: Field, etag: Option<&ETag>) {
    tracing::debug!(
        method = %method,
        status = status.as_u16(),
        decided_by = field.reason(),
        etag = etag.map(ETag::as_str),
        "precondition answered the request"
    );
}

impl Precondition {
    pub(crate) fn not_modified(method: &Method, validators: Validators, field: Field) -> Self {
        trace(method, StatusCode::NOT_MODIFIED, field, validators.etag());
        Self(Outcome::NotModified(validators))
    }

    /// `current` is the tag the request's field was evaluated against, when known; `shown`
    /// says whether the answer may name it.
    pub(crate) fn failed(
        method: &Method,
        field: Field,
        current: Option<&ETag>,
        shown: bool,
    ) -> Self {
        trace(method, StatusCode::PRECONDITION_FAILED, field, current);
        Self(Outcome::Failed {
            read: method.is_safe(),
            field,
            current: current.filter(|_| shown).cloned(),
        })
    }

    pub(crate) fn contended(method: &Method) -> Self {
        tracing::debug!(
            method = %method,
            status = 503,
            "the write lost the race to other writers every time it was tried"
        );
        Self(Outcome::Contended)
    }

    pub(crate) fn required(method: &Method) -> Self {
        trace(method, StatusCode::PRECONDITION_REQUIRED, Field::None, None);
        Self(Outcome::Required)
    }

    /// `304 Not Modified`, `412 Precondition Failed` or `428 Precondition Required`.
    ///
    /// # Examples
    ///
    /// ```
    /// use etag_runtime::Conditions;
    /// use http::{HeaderMap, Method};
    ///
    /// let c = Conditions::from_headers(&Method::DELETE, &HeaderMap::new());
    /// assert_eq!(c.require_precondition().unwrap_err().status(), 428);
    /// ```
    pub fn status(&self) -> StatusCode {
        match self.0 {
            Outcome::NotModified(_) => StatusCode::NOT_MODIFIED,
            Outcome::Failed { .. } => StatusCode::PRECONDITION_FAILED,
            Outcome::Required => StatusCode::PRECONDITION_REQUIRED,
            Outcome::Contended => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The current entity tag a 412 was decided against, so that a client can tell "it
    /// changed since you read it" (here is what it is now) from a tag that matched nothing.
    /// The problem details of the 412 carry it as the extension member `current_etag`.
    /// `None` when it is not known (a conditional statement that changed no row), for
    /// per-user responses (whose tags are sealed for each user), and for other statuses.
    ///
    /// # Examples
    ///
    /// ```
    /// use etag_runtime::{Conditions, ETag, Validators};
    /// use http::{HeaderMap, Method};
    ///
    /// let mut h = HeaderMap::new();
    /// h.insert("if-match", "\"1\"".parse().unwrap());
    /// let c = Conditions::from_headers(&Method::PUT, &h);
    /// let refused = c.check(Validators::new().with_etag(ETag::from_version(&2_u8))).unwrap_err();
    /// assert_eq!(refused.current_etag().unwrap().to_string(), "\"2\"");
    /// ```
    pub fn current_etag(&self) -> Option<&ETag> {
        match &self.0 {
            Outcome::Failed { current, .. } => current.as_ref(),
            _ => None,
        }
    }

    /// The validators a 304 carries (the current ones, which the client's copy has); `None`
    /// for a 412 or a 428.
    ///
    /// # Examples
    ///
    /// ```
    /// use etag_runtime::{Conditions, ETag, Validators};
    /// use http::{HeaderMap, Method};
    ///
    /// let mut h = HeaderMap::new();
    /// h.insert("if-none-match", "\"5\"".parse().unwrap());
    /// let c = Conditions::from_headers(&Method::GET, &h);
    /// let refused = c.check(Validators::new().with_etag(ETag::from_version(&5_u8))).unwrap_err();
    /// assert_eq!(refused.status(), 304);
    /// assert_eq!(refused.validators().unwrap().etag().unwrap().to_string(), "\"5\"");
    /// ```
    pub fn validators(&self) -> Option<&Validators> {
        match &self.0 {
            Outcome::NotModified(validators) => Some(validators),
            _ => None,
        }
    }

    /// A short title for the status, as in a problem's `title`.
    ///
    /// # Examples
    ///
    /// ```
    /// use etag_runtime::Conditions;
    /// use http::{HeaderMap, Method};
    ///
    /// let c = Conditions::from_headers(&Method::PUT, &HeaderMap::new());
    /// assert_eq!(c.require_precondition().unwrap_err().title(), "Precondition Required");
    /// ```
    pub fn title(&self) -> &'static str {
        match self.0 {
            Outcome::NotModified(_) => "Not Modified",
            Outcome::Failed { .. } => "Precondition Failed",
            Outcome::Required => "Precondition Required",
            Outcome::Contended => "Service Unavailable",
        }
    }

    /// What the client should do next, in a sentence or two that fit the request: a read
    /// and a write that fail their preconditions are told different things.
    ///
    /// # Examples
    ///
    /// ```
    /// use etag_runtime::{Conditions, ETag, Validators};
    /// use http::{HeaderMap, Method};
    ///
    /// let mut h = HeaderMap::new();
    /// h.insert("if-match", "\"1\"".parse().unwrap());
    /// let current = Validators::new().with_etag(ETag::from_version(&2_u8));
    /// let read = Conditions::from_headers(&Method::GET, &h).check(current.clone()).unwrap_err();
    /// let write = Conditions::from_headers(&Method::PUT, &h).check(current).unwrap_err();
    /// assert!(read.detail().contains("GET it again"));
    /// assert!(write.detail().contains("re-apply your change"));
    /// ```
    pub fn detail(&self) -> &'static str {
        match self.0 {
            Outcome::NotModified(_) => {
                "The copy you have is current: the ETag you sent still matches, or the resource has not changed since the date you sent."
            }
            Outcome::Required => REQUIRED_DETAIL,
            Outcome::Contended => {
                "Other writers changed the resource each time this request was about to be applied, so it was not applied. Retry it after the time in Retry-After."
            }
            Outcome::Failed { read: true, .. } => {
                "The resource no longer matches the If-Match or If-Unmodified-Since of this request: it has changed since the version you name. GET it again without those fields to read the current version."
            }
            Outcome::Failed {
                read: false,
                field: Field::IfNoneMatch,
                ..
            } => {
                "The resource exists, and this request asked to act only if it did not (If-None-Match: *) or only if it no longer matched a tag you sent. GET it to see the current version; send its ETag in If-Match to change it."
            }
            Outcome::Failed { read: false, .. } => {
                "The resource has changed since you read it. GET it again, re-apply your change to what you get, and retry with If-Match set to the new ETag."
            }
        }
    }

    /// The response with the right status and headers and the application's own `body`: an
    /// error format of the application's, in place of the default problem details. A 304
    /// has no body, so `body` is dropped there and the 304 goes out with its validators.
    ///
    /// # Examples
    ///
    /// ```
    /// use axum::Json;
    /// use etag_runtime::Conditions;
    /// use http::{HeaderMap, Method};
    ///
    /// let refused = Conditions::from_headers(&Method::PUT, &HeaderMap::new())
    ///     .require_precondition()
    ///     .unwrap_err();
    /// let code = refused.status().as_u16();
    /// let res = refused.respond_with(Json(serde_json::json!({ "error": code })));
    /// assert_eq!(res.status(), 428);
    /// assert_eq!(res.headers()["content-type"], "application/json");
    /// ```
    pub fn respond_with(self, body: impl IntoResponse) -> Response {
        if let Outcome::NotModified(validators) = self.0 {
            return crate::not_modified::from_validators(validators);
        }
        let mut res = body.into_response();
        *res.status_mut() = self.status();
        self.add_retry_after(&mut res);
        res
    }

    /// A 503 says when to try again.
    fn add_retry_after(&self, res: &mut Response) {
        if let Outcome::Contended = self.0 {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER));
        }
    }
}

impl fmt::Display for Precondition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            Outcome::NotModified(_) => "not modified",
            Outcome::Failed { .. } => "precondition failed",
            Outcome::Required => "precondition required",
            Outcome::Contended => "contended",
        })
    }
}

impl std::error::Error for Precondition {}

/// The 304 with its validators, or the problem details of a 412 or 428.
impl IntoResponse for Precondition {
    fn into_response(self) -> Response {
        if let Outcome::NotModified(validators) = self.0 {
            return crate::not_modified::from_validators(validators);
        }
        let mut res = problem_with(
            self.status(),
            self.title(),
            self.detail(),
            self.current_etag(),
        );
        self.add_retry_after(&mut res);
        res
    }
}

/// The seconds a contended write is told to wait: a second is long past the few
/// milliseconds a write transaction holds a row.
const RETRY_AFTER: &str = "1";

/// For handlers whose error type is axum's `Response`.
impl From<Precondition> for Response {
    fn from(refused: Precondition) -> Self {
        refused.into_response()
    }
}

/// What a client should do after a 428.
const REQUIRED_DETAIL: &str = "This request must be conditional, so that it cannot overwrite a change it has not seen. GET the resource and send its ETag in If-Match (or its Last-Modified in If-Unmodified-Since); to create a resource only if it does not exist yet, send If-None-Match: *.";

/// An `application/problem+json` response (RFC 9457).
pub(crate) fn problem(status: StatusCode, title: &str, detail: &str) -> Response {
    problem_with(status, title, detail, None)
}

/// An `application/problem+json` response (RFC 9457), with the current entity tag as the
/// extension member `current_etag` when there is one to name.
fn problem_with(status: StatusCode, title: &str, detail: &str, current: Option<&ETag>) -> Response {
    let mut body = serde_json::json!({
        "type": "about:blank",
        "title": title,
        "status": status.as_u16(),
        "detail": detail,
    });
    if let Some(tag) = current {
        body["current_etag"] = tag.as_str().into();
    }
    let mut res = (status, body.to_string()).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    res
}

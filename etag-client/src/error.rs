//! What can go wrong: [`Error`], and [`UpdateError`], which adds the attempt and the step.

use std::fmt;

use http::StatusCode;

/// Why a request did not give what it was for.
///
/// # Examples
///
/// ```
/// use etag_client::Error;
///
/// let error = Error::NoStrongEtag;
/// assert!(error.to_string().contains("If-Match"));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The request could not be built or sent, or its answer could not be read (a bad URL,
    /// a refused connection, the HTTP client's timeout). After a write was sent, the write
    /// may or may not have been applied.
    Http(reqwest::Error),
    /// `404 Not Found` or `410 Gone`: there is no resource at the URL (any more).
    NotFound {
        /// 404 or 410.
        status: StatusCode,
        /// The server's explanation: the `detail` of a problem body, or the start of the body.
        detail: String,
    },
    /// `412 Precondition Failed`: the resource changed since it was read. An update read it
    /// again and re-applied its change as many times as it was allowed to.
    PreconditionFailed {
        /// The server's explanation.
        detail: String,
        /// The current entity tag, when the server names it (the `current_etag` member of
        /// its problem details): the resource did change since it was read. `None` when it
        /// does not say, which may also mean that the tag sent matched nothing.
        current: Option<String>,
    },
    /// The answer to a write never arrived, the same write sent again (same `If-Match`,
    /// same `Idempotency-Key`) was refused with 412, and so nothing tells whether the first
    /// one was applied. The change was not re-applied, which could apply it twice. A
    /// server that recognizes its own writes by `Idempotency-Key` answers the second send
    /// with 2xx instead.
    Unconfirmed {
        /// The refusal's explanation.
        detail: String,
    },
    /// `428 Precondition Required`: the server refused the write as unconditional, although
    /// it carried `sent`. The server wants a precondition that this request did not have;
    /// `detail` is what it says it wants.
    PreconditionRequired {
        /// The precondition the request carried, as sent: `If-Match: "7"` or
        /// `If-None-Match: *`.
        sent: String,
        /// The server's explanation.
        detail: String,
    },
    /// The representation has no strong entity tag (no `ETag`, or a weak `W/` one), so a
    /// write cannot name the version it was made to in `If-Match` (a weak tag never matches
    /// there, RFC 9110 section 13.1.1), and a write without it could overwrite a change it
    /// has not seen. Nothing was written.
    NoStrongEtag,
    /// Any other status that the request did not expect.
    Status {
        /// The status.
        status: StatusCode,
        /// The server's explanation.
        detail: String,
    },
    /// A body is not JSON of the expected type, or a value could not be serialized.
    Json(serde_json::Error),
    /// An update's deadline passed during an attempt.
    TimedOut,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Http(e) => write!(f, "HTTP request failed: {e}"),
            Self::NotFound { status, detail } => write!(f, "{status}: {detail}"),
            Self::PreconditionFailed {
                detail,
                current: Some(current),
            } => write!(
                f,
                "412 Precondition Failed: the resource changed since it was read (it is now \
                 {current}): {detail}"
            ),
            Self::PreconditionFailed {
                detail,
                current: None,
            } => write!(
                f,
                "412 Precondition Failed: the resource changed since it was read: {detail}"
            ),
            Self::Unconfirmed { detail } => write!(
                f,
                "the write's answer was lost, and sending it again was refused, so it may or \
                 may not have been applied: {detail}"
            ),
            Self::PreconditionRequired { sent, detail } => write!(
                f,
                "428 Precondition Required: the server did not take `{sent}` as the \
                 precondition it requires: {detail}"
            ),
            Self::NoStrongEtag => f.write_str(
                "the representation has no strong ETag, so a write cannot send If-Match \
                 and could overwrite a change it has not seen; nothing was written",
            ),
            Self::Status { status, detail } => write!(f, "unexpected {status}: {detail}"),
            Self::Json(e) => write!(f, "JSON: {e}"),
            Self::TimedOut => f.write_str("the update's deadline passed"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Http(e) => Some(e),
            Self::Json(e) => Some(e),
            _ => None,
        }
    }
}

/// The step of an update attempt that failed.
///
/// # Examples
///
/// ```
/// use etag_client::Step;
///
/// assert_ne!(Step::Read, Step::Write);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Step {
    /// Reading the current representation, decoding it or encoding the changed one:
    /// nothing was written in this attempt.
    Read,
    /// Sending the conditional write. After [`Error::Http`] or [`Error::TimedOut`] here the
    /// write may or may not have been applied.
    Write,
}

/// Why an [`update`](crate::Client::update) stopped: which attempt failed, at which step, and
/// why. Attempts are counted from 1.
///
/// # Examples
///
/// An update of a product that was deleted stops on its first attempt, reading:
///
/// ```
/// # #[allow(dead_code)] mod common { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/common/mod.rs")); }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let server = common::Products::start().await;
/// # let base = &server.base;
/// use etag_client::{Client, Error, Step};
/// use serde_json::Value;
///
/// let client = Client::new(etag_client::reqwest::Client::new());
/// let error = client
///     .update(format!("{base}/products/404"), |product: Value| product)
///     .send()
///     .await
///     .unwrap_err();
/// assert_eq!(error.attempt(), 1);
/// assert_eq!(error.step(), Step::Read);
/// assert!(matches!(error.reason(), Error::NotFound { .. }));
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct UpdateError {
    pub(crate) attempt: u32,
    pub(crate) step: Step,
    pub(crate) reason: Error,
}

impl UpdateError {
    /// The attempt that failed, from 1.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[allow(dead_code)] mod common { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/common/mod.rs")); }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = common::Products::start().await;
    /// # let base = &server.base;
    /// use serde_json::Value;
    ///
    /// let client = etag_client::Client::builder(etag_client::reqwest::Client::new())
    ///     .update_attempts(2)
    ///     .build();
    /// // Someone else writes /restless after every read of it: every write meets a 412.
    /// let error = client
    ///     .update(format!("{base}/restless"), |value: Value| value)
    ///     .send()
    ///     .await
    ///     .unwrap_err();
    /// assert_eq!(error.attempt(), 2);
    /// # Ok(())
    /// # }
    /// ```
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The step of that attempt that failed.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[allow(dead_code)] mod common { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/common/mod.rs")); }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = common::Products::start().await;
    /// # let base = &server.base;
    /// use etag_client::Step;
    /// use serde_json::Value;
    ///
    /// let client = etag_client::Client::new(etag_client::reqwest::Client::new());
    /// // There is no product 404: the read fails, and nothing is sent.
    /// let error = client
    ///     .update(format!("{base}/products/404"), |value: Value| value)
    ///     .send()
    ///     .await
    ///     .unwrap_err();
    /// assert_eq!(error.step(), Step::Read);
    /// # Ok(())
    /// # }
    /// ```
    pub fn step(&self) -> Step {
        self.step
    }

    /// Why it failed. [`Error::PreconditionFailed`] here means that every attempt the
    /// client allows met a 412 (or that the deadline left no time for another).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[allow(dead_code)] mod common { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/common/mod.rs")); }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let server = common::Products::start().await;
    /// # let base = &server.base;
    /// use etag_client::Error;
    /// use serde_json::Value;
    ///
    /// let client = etag_client::Client::builder(etag_client::reqwest::Client::new())
    ///     .update_attempts(2)
    ///     .build();
    /// let error = client
    ///     .update(format!("{base}/restless"), |value: Value| value)
    ///     .send()
    ///     .await
    ///     .unwrap_err();
    /// assert!(matches!(error.reason(), Error::PreconditionFailed { .. }));
    /// assert!(error.to_string().starts_with("update failed on attempt 2, writing: 412"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn reason(&self) -> &Error {
        &self.reason
    }
}

impl fmt::Display for UpdateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let step = match self.step {
            Step::Read => "reading",
            Step::Write => "writing",
        };
        write!(
            f,
            "update failed on attempt {}, {step}: {}",
            self.attempt, self.reason
        )
    }
}

impl std::error::Error for UpdateError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.reason)
    }
}

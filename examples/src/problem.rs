//! Error responses as `application/problem+json` (RFC 9457).

use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderName, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use etag_runtime::Precondition;
use serde::Serialize;
use tower_http::timeout::TimeoutError;
use utoipa::ToSchema;

use crate::slow_bodies::SlowBody;
use crate::store::StoreError;

/// `text` with its first letter upper-case, as a sentence begins.
fn capitalized(text: impl std::fmt::Display) -> String {
    let text = text.to_string();
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => text,
    }
}

/// An RFC 9457 problem: `{"type", "title", "status", "detail"}`.
#[derive(Debug, Clone)]
pub struct Problem {
    /// The HTTP status.
    pub status: StatusCode,
    /// What went wrong, for the client to act on.
    pub detail: String,
    /// Header fields to send with it.
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl Problem {
    /// A problem with this status and detail.
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            status,
            detail: detail.into(),
            headers: Vec::new(),
        }
    }

    /// The same problem with one more header field.
    #[must_use]
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// 404: no product with this id.
    pub fn no_product(id: impl std::fmt::Display) -> Self {
        Self::new(StatusCode::NOT_FOUND, format!("There is no product {id}."))
    }

    /// 422: the request body is well-formed JSON but not a valid product.
    pub fn invalid(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, detail)
    }
}

/// The JSON body of a [`Problem`], and its schema in the OpenAPI document.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemBody {
    /// `about:blank`: the status says what happened.
    #[serde(rename = "type")]
    #[schema(example = "about:blank")]
    pub kind: &'static str,
    /// The status's reason phrase.
    #[schema(example = "Not Found")]
    pub title: &'static str,
    /// The HTTP status.
    #[schema(example = 404)]
    pub status: u16,
    /// What went wrong, for the client to act on.
    #[schema(example = "There is no product 7.")]
    pub detail: String,
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = serde_json::json!(ProblemBody {
            kind: "about:blank",
            title: self.status.canonical_reason().unwrap_or("Error"),
            status: self.status.as_u16(),
            detail: self.detail,
        });
        let mut response = (
            self.status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/problem+json"),
            )],
            body.to_string(),
        )
            .into_response();
        response.headers_mut().extend(self.headers);
        response
    }
}

/// The `Retry-After` of a 503, in seconds: a restarted database or a lost connection is
/// usually back within a second or two, and the client is told no more than it needs.
pub const RETRY_AFTER_SECONDS: &str = "1";

/// Everything a handler can answer instead of its success.
#[derive(Debug)]
pub enum ApiError {
    /// A client error.
    Problem(Problem),
    /// 304, 412 or 428, decided by the request's preconditions.
    Precondition(Precondition),
    /// The database failed: 503 with `Retry-After` when it is unavailable
    /// ([`StoreError::is_unavailable`]), else 500; logged, with no details for the client.
    Store(StoreError),
}

impl From<Problem> for ApiError {
    fn from(p: Problem) -> Self {
        Self::Problem(p)
    }
}

impl From<Precondition> for ApiError {
    fn from(refused: Precondition) -> Self {
        Self::Precondition(refused)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

/// axum's JSON rejections keep their status (400 for bad syntax, 415 for another content
/// type, 422 for a wrong field, 413 for too large a body) and get a problem body; a body
/// that stopped arriving is a 408.
impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        Self::Problem(Problem::rejected_body(
            rejection.status(),
            rejection.body_text(),
            &rejection,
        ))
    }
}

impl Problem {
    /// The problem for a request body axum could not take: 408 and `Connection: close` when
    /// the request-body timeout or deadline ended it, or it was cut off to make room for
    /// another client ([`SlowBody`]), else `status` and `detail` as axum gives them.
    pub fn rejected_body(
        status: StatusCode,
        detail: String,
        error: &(dyn std::error::Error + 'static),
    ) -> Self {
        let mut next = Some(error);
        while let Some(e) = next {
            if let Some(slow) = e.downcast_ref::<SlowBody>() {
                return Self::new(
                    StatusCode::REQUEST_TIMEOUT,
                    format!("{}.", capitalized(slow)),
                )
                .with_header(header::CONNECTION, HeaderValue::from_static("close"));
            }
            if e.is::<TimeoutError>() {
                return Self::new(
                    StatusCode::REQUEST_TIMEOUT,
                    "The request body stopped arriving: the server waits at most the \
                     request-body timeout for each piece of it.",
                )
                .with_header(header::CONNECTION, HeaderValue::from_static("close"));
            }
            next = e.source();
        }
        Self::new(status, detail)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            Self::Problem(p) => p.into_response(),
            Self::Precondition(refused) => refused.into_response(),
            Self::Store(StoreError::IdsExhausted) => Problem::new(
                StatusCode::INSUFFICIENT_STORAGE,
                "Every product id is taken: no product can be created.",
            )
            .into_response(),
            Self::Store(e) if e.is_unavailable() => {
                tracing::warn!(error = %e, "database unavailable");
                Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "The database is unavailable; try again after the time in Retry-After. \
                     A write may or may not have been applied: one sent again with the same \
                     If-Match cannot be applied twice (it gets 412 if the first one was).",
                )
                .with_header(
                    header::RETRY_AFTER,
                    HeaderValue::from_static(RETRY_AFTER_SECONDS),
                )
                .into_response()
            }
            Self::Store(e) => {
                tracing::error!(error = %e, "database error");
                Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "The database failed; try again later.",
                )
                .into_response()
            }
        }
    }
}

/// 404 for a path that no route serves.
pub(crate) async fn no_route(uri: Uri) -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        format!("There is nothing at {}.", uri.path()),
    )
}

/// axum's 405 has an empty body: give it a problem body, keeping its `Allow`.
pub(crate) async fn problem_for_405(response: Response) -> Response {
    if response.status() != StatusCode::METHOD_NOT_ALLOWED
        || response.headers().contains_key(header::CONTENT_TYPE)
    {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    let problem = Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "This resource does not support that method; see Allow.",
    )
    .into_response();
    let (problem_parts, body) = problem.into_parts();
    parts.headers.extend(problem_parts.headers);
    Response::from_parts(parts, body)
}

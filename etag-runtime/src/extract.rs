//! The axum extractor for [`Conditions`].

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use http::request::Parts;

use crate::Conditions;

/// Never rejects: a request without conditional headers has empty conditions, and malformed
/// ones are read as RFC 9110 says (ignored dates, tags that match nothing).
impl<S: Send + Sync> FromRequestParts<S> for Conditions {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::from_parts(parts))
    }
}

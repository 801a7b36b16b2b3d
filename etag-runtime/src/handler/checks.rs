//! Traits the code `#[etag]` generates calls at the user's own tokens, so that a mistake
//! is reported there, in the application's words, with its fix. Each has one blanket
//! impl marked `do_not_recommend`: the compiler then names the trait the user knows
//! (`IntoResponse`, `FromRef`) in the message instead of pointing into this crate.

use axum::extract::FromRef;
use axum::response::{IntoResponse, Response};

use crate::principal::TagKey;

/// The `E` of a handler's `Result<T, E>`: `#[etag]` answers an `Err` as axum would.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not `IntoResponse`, so `#[etag]` cannot answer an `Err` of it",
    label = "the error type of the handler's `Result` must implement `IntoResponse`",
    note = "map it to an error type that does, such as `Result<_, ApiError>` with `impl IntoResponse for ApiError` and `impl From<{Self}> for ApiError` (then `?` converts it)"
)]
pub trait ErrorResponse {
    /// The error as axum renders it.
    fn into_error_response(self) -> Response;
}

#[diagnostic::do_not_recommend]
impl<E: IntoResponse> ErrorResponse for E {
    #[inline]
    fn into_error_response(self) -> Response {
        self.into_response()
    }
}

/// A router state that gives the key per-user tags are sealed with.
#[diagnostic::on_unimplemented(
    message = "`per_user` seals tags with the `TagKey` of the router's state, and `{Self}` gives none",
    label = "no `TagKey` from this state",
    note = "add `impl FromRef<{Self}> for TagKey` (axum's `FromRef`) that returns the key kept in `{Self}`"
)]
pub trait StateTagKey {
    /// The key of the state.
    fn tag_key(&self) -> TagKey;
}

#[diagnostic::do_not_recommend]
impl<S> StateTagKey for S
where
    TagKey: FromRef<S>,
{
    #[inline]
    fn tag_key(&self) -> TagKey {
        TagKey::from_ref(self)
    }
}

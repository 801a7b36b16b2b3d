//! The request side of a handler's response: the conditions it answers, and how it
//! renders a refusal.

use axum::response::{IntoResponse, Response};
use http::StatusCode;

use crate::{Conditions, Precondition, Validators};

/// The request side of [`IntoConditionalResponse`](crate::response::IntoConditionalResponse). Public in a private module: its
/// name cannot be written outside the crate, so no other crate can implement the trait
/// (it is sealed), while the code `#[etag]` generates still calls it.
#[derive(Debug, Clone, Copy)]
pub struct Responder<'a> {
    pub(crate) conditions: &'a Conditions,
    /// How a 412 is rendered: the handler's `error = ...` type, or the problem details.
    pub(crate) refuse: fn(Precondition) -> Response,
    /// Render only: no evaluation, no validators (a value under a non-2xx status).
    pub(crate) plain: bool,
}

impl Responder<'_> {
    /// On GET and HEAD, evaluates the preconditions against `validators` and answers 304
    /// or 412 without calling `render`; otherwise renders, and adds the validators to a 2xx.
    /// A 304 that an encoding-tags layer outside must make (see
    /// [`Conditions::check`](crate::Conditions::check)) is the rendered 2xx, marked for it.
    ///
    /// Other methods are not evaluated here: a write checks its preconditions before it
    /// acts, and its response carries the new state's validators, which the request's
    /// conditions were never about.
    pub(crate) fn respond(
        &self,
        validators: Validators,
        render: impl FnOnce() -> Response,
    ) -> Response {
        if self.plain {
            return render();
        }
        let method = self.conditions.method();
        let (validators, deferred) = if crate::conditions::is_read(method) {
            match self.conditions.check(validators) {
                Ok(checked) => checked.into_parts(),
                Err(refused) => return self.refuse(refused),
            }
        } else {
            (validators, None)
        };
        let mut res = render();
        if res.status().is_success() {
            validators.write_headers(res.headers_mut());
            if let Some(deferred) = deferred {
                res.extensions_mut().insert(deferred);
            }
        }
        res
    }

    /// A 304 has no body to shape: it goes out as made. A 412 goes through the hook.
    pub(crate) fn refuse(&self, refused: Precondition) -> Response {
        if refused.status() == StatusCode::NOT_MODIFIED {
            refused.into_response()
        } else {
            (self.refuse)(refused)
        }
    }
}

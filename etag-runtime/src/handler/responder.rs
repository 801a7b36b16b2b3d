//! The request side of a handler's response: the conditions it answers, and how it
//! renders a refusal.

use axum::response::{IntoResponse, Response};
use http::StatusCode;

use crate::groups::{CacheGroups, ResponseGroups};
use crate::{Conditions, Precondition, Validators, Versioned};

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
    /// The handler's `ResponseGroups`, when it takes one.
    pub(crate) groups: Option<&'a ResponseGroups>,
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
            if let Some(line) = self.conditions.not_modified_line(&validators) {
                return crate::not_modified::with_etag(line.clone());
            }
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

    /// The cache groups of a response of `value`: its own on a read; on a write, its own
    /// and its collection's, which a create, change or delete of a member changes.
    pub(crate) fn groups_of<T: Versioned>(&self, value: &T) -> CacheGroups {
        let mut groups = CacheGroups::of(value);
        if !self.plain && !crate::conditions::is_read(self.conditions.method()) {
            groups.add_collection::<T>();
        }
        groups
    }

    /// Puts `groups` on the response, for the context to send (see `handler::respond`).
    pub(crate) fn add_groups(res: &mut Response, groups: CacheGroups) {
        if !groups.is_empty() {
            res.extensions_mut().insert(groups);
        }
    }

    /// A 304 has no body to shape: it goes out as made. A 412 goes through the hook.
    pub(crate) fn refuse(&self, refused: Precondition) -> Response {
        if refused.status() == StatusCode::NOT_MODIFIED {
            // The client sent the current tag as the whole `If-None-Match`: the 304's `ETag`
            // is that line, shared rather than copied into a new header value.
            let sent = refused
                .validators()
                .and_then(Validators::etag)
                .and_then(|tag| self.conditions.if_none_match()?.line_of(tag));
            match sent {
                Some(line) => crate::not_modified::with_etag(line.clone()),
                None => refused.into_response(),
            }
        } else {
            (self.refuse)(refused)
        }
    }
}

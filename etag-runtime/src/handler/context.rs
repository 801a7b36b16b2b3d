//! The extractors `#[etag]` puts first in a handler's arguments, and what they do with
//! the handler's output.

use std::borrow::Cow;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::OnceLock;

use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http::header::{CACHE_CONTROL, HeaderValue};
use http::request::Parts;

use super::StateTagKey;
use super::{Config, Require, Requirement, Tags};
use crate::Conditions;
use crate::Precondition;
use crate::groups::{CACHE_GROUP_INVALIDATION, CACHE_GROUPS, CacheGroups, ResponseGroups};
use crate::handler::Responder;
use crate::principal::{Personal, Principal, open_request, seal_response};
use crate::range::Prepared;

/// The extractor `#[etag]` puts first in the handler's arguments. Under a requirement
/// (`#[etag(require_precondition)]`) it answers 428 before any other extractor runs, so
/// before the body is read. `E` renders the 412 and 428 (`#[etag(error = E)]`).
pub struct Context<R, E = Precondition> {
    conditions: Conditions,
    /// Made when the handler takes a `ResponseGroups` argument.
    groups: OnceLock<ResponseGroups>,
    marker: PhantomData<fn() -> (R, E)>,
}

/// Gives the request's conditions the handler's requirement, or answers the 428.
fn require<R: Requirement, E: From<Precondition> + IntoResponse>(
    conditions: &mut Conditions,
) -> Result<(), Box<Response>> {
    // Known from the type: a handler that requires nothing pays for nothing here.
    if R::REQUIRE == Require::Nothing {
        return Ok(());
    }
    conditions.set_require(R::REQUIRE);
    conditions
        .require(R::REQUIRE)
        .map_err(|refused| Box::new(E::from(refused).into_response()))
}

impl<S, R, E> FromRequestParts<S> for Context<R, E>
where
    S: Send + Sync,
    R: Requirement,
    E: From<Precondition> + IntoResponse,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let mut conditions = Conditions::from_parts(parts);
        require::<R, E>(&mut conditions).map_err(|refused| *refused)?;
        Ok(Self {
            conditions,
            groups: OnceLock::new(),
            marker: PhantomData,
        })
    }
}

/// What both contexts hand the handler's output to: their conditions, and `E` for refusals.
fn responder<'a, E: From<Precondition> + IntoResponse>(
    conditions: &'a Conditions,
    groups: &'a OnceLock<ResponseGroups>,
) -> Responder<'a> {
    Responder {
        conditions,
        refuse: refuse::<E>,
        plain: false,
        groups: groups.get(),
    }
}

fn refuse<E: From<Precondition> + IntoResponse>(refused: Precondition) -> Response {
    E::from(refused).into_response()
}

impl<R, E: From<Precondition> + IntoResponse> Context<R, E> {
    /// The responder of the handler's output.
    pub fn responder(&self) -> Responder<'_> {
        responder::<E>(&self.conditions, &self.groups)
    }

    /// The request's conditions, for a `Conditions` argument of the handler: the ones
    /// this context read, with the handler's requirement.
    pub fn conditions(&self) -> Conditions {
        self.conditions.clone()
    }

    /// The response's groups, for a `ResponseGroups` argument of the handler.
    pub fn groups(&self) -> ResponseGroups {
        self.groups.get_or_init(ResponseGroups::default).clone()
    }
}

/// The handler's output as the response: its validators (from the value, decided before
/// rendering, or under `hash` from the rendered body), its `Cache-Control`, then the
/// request's `Range`, if it may be served.
///
/// Ready at once unless a body must be read (a range to cut, or `hash`): the handler's
/// future then holds only the box of the future that reads it across its last await, not a
/// response, and is that much smaller to move.
#[inline]
pub fn respond<'a>(
    responder: Responder<'a>,
    response: Response,
    config: &'a Config,
) -> Respond<'a> {
    match config.tags {
        Tags::Value => {
            let mut res = response;
            // Only a 200 may be cut. Any other response with no groups to name (none on
            // it, no `ResponseGroups`) and no `Cache-Control` to add, such as the 304 of a
            // model without groups, goes out as it was made.
            if res.status() != StatusCode::OK
                && res.extensions().is_empty()
                && responder.groups.is_none()
                && config.cache_control.is_none()
                && !config.per_user
            {
                return Respond::Ready(res);
            }
            finish(&mut res, config);
            groups(&mut res, &responder, config);
            if res.status() != StatusCode::OK {
                return Respond::Ready(res);
            }
            match crate::range::prepare(responder.conditions, res) {
                Prepared::Done(res) => Respond::Ready(res),
                Prepared::Cut(res, len) => {
                    Respond::Later(Box::pin(crate::range::cut(responder.conditions, res, len)))
                }
            }
        }
        Tags::Hash { limit } => Respond::Later(Box::pin(async move {
            let mut res = crate::hash::hash_response(&responder, response, limit).await;
            finish(&mut res, config);
            groups(&mut res, &responder, config);
            crate::range::apply(responder.conditions, res).await
        })),
    }
}

/// What [`respond`] returns: the response, or the future that reads a body to make it.
pub enum Respond<'a> {
    /// The response, made without reading its body.
    Ready(Response),
    /// The future that reads the body (to hash it, or to cut a range) and makes it.
    Later(Pin<Box<dyn Future<Output = Response> + Send + 'a>>),
}

/// The response's cache groups (RFC 9875): the value's (put on the response by the
/// responder) and the handler's (`ResponseGroups`), as `Cache-Groups` on the 2xx and the
/// 304 of a read, as `Cache-Group-Invalidation` on the 2xx of a write, and as a
/// [`CacheGroups`] extension for `layer::CacheGroupsLayer`. None on a per-user or
/// otherwise `private` response: no shared cache may store it.
fn groups(res: &mut Response, responder: &Responder<'_>, config: &Config) {
    let mut groups = res.extensions_mut().remove::<CacheGroups>();
    if let Some(handle) = responder.groups {
        let declared = handle.snapshot();
        if !declared.is_empty() {
            groups
                .get_or_insert_with(CacheGroups::new)
                .add_all(&declared);
        }
    }
    let Some(groups) = groups.filter(|g| !g.is_empty()) else {
        return;
    };
    if config.per_user || super::has_cache_directive(res.headers(), b"private") {
        return;
    }
    let status = res.status();
    let name = if crate::conditions::is_read(responder.conditions.method()) {
        if !status.is_success() && status != StatusCode::NOT_MODIFIED {
            return;
        }
        CACHE_GROUPS
    } else {
        if !status.is_success() {
            return;
        }
        CACHE_GROUP_INVALIDATION
    };
    if let Some(value) = groups.field_value() {
        res.headers_mut().insert(name, value);
        res.extensions_mut().insert(groups);
    }
}

fn finish(res: &mut Response, config: &Config) {
    // Most handlers set no `Cache-Control`: they pay for no look-up.
    if config.cache_control.is_none() && !config.per_user {
        return;
    }
    let status = res.status();
    if (status.is_success() || status == http::StatusCode::NOT_MODIFIED)
        && !res.headers().contains_key(CACHE_CONTROL)
    {
        // `cache_control` was checked to be a valid value; with the prefix it still is.
        let value = match config.cache_control() {
            Some(Cow::Borrowed(cc)) => Some(HeaderValue::from_static(cc)),
            Some(Cow::Owned(cc)) => HeaderValue::from_str(&cc).ok(),
            None => None,
        };
        if let Some(value) = value {
            res.headers_mut().insert(CACHE_CONTROL, value);
        }
    }
}

/// The extractor `#[etag(per_user = arg)]` puts first in the handler's arguments, in
/// place of `arg`: it extracts the principal `P` (a rejection is answered as it is, before
/// anything else runs), opens the tags of `If-Match` and `If-None-Match` that were sealed
/// for it (so that every later extractor, `Conditions` included, sees the resource's own
/// tags), then does what [`Context`] does. The handler gets `P` through
/// [`take_principal`](Self::take_principal); [`seal`](Self::seal) seals the response.
pub struct UserContext<R, E, P> {
    conditions: Conditions,
    groups: OnceLock<ResponseGroups>,
    principal: Option<P>,
    personal: Personal,
    marker: PhantomData<fn() -> (R, E)>,
}

impl<S, R, E, P> FromRequestParts<S> for UserContext<R, E, P>
where
    S: Send + Sync,
    R: Requirement,
    E: From<Precondition> + IntoResponse,
    P: Principal + FromRequestParts<S> + Send,
    // `TagKey: FromRef<S>`, said so that a state without the key is not taken for one
    // that is the key (which would infer the router's state as `TagKey`).
    S: StateTagKey,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let principal = P::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let personal = Personal::new(&state.tag_key(), &principal);
        open_request(&mut parts.headers, Some(&personal));
        let mut conditions = Conditions::from_parts(parts);
        conditions.set_personal();
        require::<R, E>(&mut conditions).map_err(|refused| *refused)?;
        Ok(Self {
            conditions,
            groups: OnceLock::new(),
            principal: Some(principal),
            personal,
            marker: PhantomData,
        })
    }
}

impl<R, E: From<Precondition> + IntoResponse, P> UserContext<R, E, P> {
    /// The principal, for the handler's argument. Called once, before the handler's body.
    pub fn take_principal(&mut self) -> P {
        match self.principal.take() {
            Some(principal) => principal,
            // The expansion calls it exactly once.
            None => unreachable!("the principal is taken once"),
        }
    }

    /// The responder of the handler's output.
    pub fn responder(&self) -> Responder<'_> {
        responder::<E>(&self.conditions, &self.groups)
    }

    /// The request's conditions, for a `Conditions` argument of the handler.
    pub fn conditions(&self) -> Conditions {
        self.conditions.clone()
    }

    /// The response's groups, for a `ResponseGroups` argument of the handler: a per-user
    /// response sends none, whatever is added.
    pub fn groups(&self) -> ResponseGroups {
        self.groups.get_or_init(ResponseGroups::default).clone()
    }

    /// The response with its tag sealed for the principal and `Vary` naming its fields.
    pub fn seal(&self, mut response: Response) -> Response {
        seal_response(&mut response, self.personal.vary(), Some(&self.personal));
        response
    }
}

/// Pins the output type of the handler body, so that `?` and `return` inside it
/// convert to the declared return type.
#[inline(always)]
pub fn typed<T, F: Future<Output = T>>(body: F) -> F {
    body
}

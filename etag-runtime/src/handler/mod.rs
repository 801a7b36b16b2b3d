//! What one `#[etag]` handler answers, and the extractors its expansion puts first.
//!
//! The macro turns the handler's `#[etag(...)]` arguments into one [`Config`](crate::handler::Config), emitted
//! once as a constant in the handler's body. The responder, the 428 check, the per-user
//! sealing and the OpenAPI modifier all read that one value. What must be known before any
//! other extractor runs (whether a precondition is required) is also in the type of the
//! context extractor, as a named [`Requirement`](crate::handler::Requirement) marker, so that signatures and compiler
//! messages read as words.

mod checks;
mod context;
mod responder;

use std::borrow::Cow;

// Public but unnameable outside the crate: it seals `IntoConditionalResponse`.
pub use context::{Context, Respond, UserContext, respond, typed};
#[allow(unreachable_pub)]
pub use responder::Responder;
// What the expansion checks at the user's tokens, named so in compiler messages.
pub use checks::{ErrorResponse, StateTagKey};

/// Whether a handler refuses an unconditional write (RFC 6585 section 3, 428).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Require {
    /// No: a write without a precondition is unconditional.
    #[default]
    Nothing,
    /// `#[etag(require_precondition)]`: `If-Match`, a valid `If-Unmodified-Since` or
    /// `If-None-Match: *`.
    Precondition,
    /// `#[etag(require_entity_tag)]`: `If-Match` or `If-None-Match: *` only.
    EntityTag,
}

/// How a handler's validators are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tags {
    /// From the returned value, before it is rendered.
    Value,
    /// `#[etag(hash)]`: from the rendered body, buffered up to `limit` bytes.
    Hash {
        /// The most body bytes hashed.
        limit: usize,
    },
}

/// Which validators a handler's successful responses can carry: a fact of its return type
/// ([`IntoConditionalResponse::CARRIES`](crate::response::IntoConditionalResponse)), for
/// what the OpenAPI document says the handler sends and reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Carries {
    /// An `ETag`.
    pub etag: bool,
    /// A `Last-Modified`.
    pub last_modified: bool,
}

impl Carries {
    /// Both: what a type whose validators are decided at run time may carry.
    pub const BOTH: Self = Self {
        etag: true,
        last_modified: true,
    };
    /// The `ETag` alone: a list, a model without a time, or `#[etag(hash)]`.
    pub const ETAG: Self = Self {
        etag: true,
        last_modified: false,
    };
    /// Neither: a bare status.
    pub const NONE: Self = Self {
        etag: false,
        last_modified: false,
    };
}

/// Everything `#[etag(...)]` says about one handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// `require_precondition` or `require_entity_tag`.
    pub require: Require,
    /// `hash`, `hash(limit = N)`, or the value's own validators.
    pub tags: Tags,
    /// `per_user = ...`: tags sealed for the principal, `Vary`, `Cache-Control: private`.
    pub per_user: bool,
    /// `cache_control = "..."`: checked by the macro to be a valid header value.
    pub cache_control: Option<&'static str>,
    /// The validators its return type can carry: [`Carries::ETAG`] under `hash`, and
    /// [`Carries::BOTH`] when the type cannot be named where this is computed (`impl
    /// Trait`, or a type that names the handler's generics or `Self`).
    pub carries: Carries,
}

impl Config {
    /// Whether the tags come from the rendered body.
    #[cfg(feature = "utoipa")]
    pub(crate) fn is_hash(&self) -> bool {
        matches!(self.tags, Tags::Hash { .. })
    }

    /// The `Cache-Control` this handler puts on its 2xx and 304 responses that have none:
    /// `cache_control`, after `private` for a per-user handler.
    pub(crate) fn cache_control(&self) -> Option<Cow<'static, str>> {
        match (self.per_user, self.cache_control) {
            (false, None) => None,
            (false, Some(cc)) => Some(Cow::Borrowed(cc)),
            (true, None) => Some(Cow::Borrowed("private")),
            (true, Some(cc)) => Some(Cow::Owned(format!("private, {cc}"))),
        }
    }
}

/// Whether a response's `Cache-Control` (on any of its lines) has the directive `name`,
/// with or without an argument (RFC 9111 section 5.2: directive names are tokens,
/// compared without regard to case).
pub(crate) fn has_cache_directive(headers: &http::HeaderMap, name: &[u8]) -> bool {
    headers
        .get_all(http::header::CACHE_CONTROL)
        .iter()
        .any(|line| {
            line.as_bytes().split(|&b| b == b',').any(|directive| {
                let token = directive.split(|&b| b == b'=').next().unwrap_or_default();
                crate::etag::trim_ows(token).eq_ignore_ascii_case(name)
            })
        })
}

/// The requirement of a handler, as a type: the first extractor answers 428 before any
/// other runs, so it must know it from its type alone.
pub trait Requirement {
    /// The requirement this marker stands for.
    const REQUIRE: Require;
}

/// No precondition is required.
#[derive(Debug)]
pub enum Optional {}

/// `#[etag(require_precondition)]`.
#[derive(Debug)]
pub enum RequirePrecondition {}

/// `#[etag(require_entity_tag)]`.
#[derive(Debug)]
pub enum RequireEntityTag {}

impl Requirement for Optional {
    const REQUIRE: Require = Require::Nothing;
}

impl Requirement for RequirePrecondition {
    const REQUIRE: Require = Require::Precondition;
}

impl Requirement for RequireEntityTag {
    const REQUIRE: Require = Require::EntityTag;
}

/// What `#[etag]` emits in every handler's body: with the `utoipa` feature, the handler's
/// [`Config`] goes into the registry that `openapi::ConditionalRequests` reads; without
/// it, nothing. In the body rather than next to the fn, so that it also works for an
/// associated fn (an `impl` block cannot hold the unnamed item the registration is).
#[cfg(feature = "utoipa")]
#[doc(hidden)]
#[macro_export]
macro_rules! __etag_register {
    (name: $name:ident, config: $config:expr $(,)?) => {
        $crate::__private::inventory::submit! {
            $crate::__private::Registered {
                name: ::core::stringify!($name),
                module: ::core::module_path!(),
                config: $config,
            }
        }
    };
}

/// Without the `utoipa` feature, the registration is nothing.
#[cfg(not(feature = "utoipa"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __etag_register {
    ($($tokens:tt)*) => {};
}

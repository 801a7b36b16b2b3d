//! OpenAPI documents that say what each `#[etag]` handler answers, for
//! [utoipa](https://docs.rs/utoipa) (the `utoipa` feature).
//!
//! An API that answers 304, 412 and 428 and reads `If-Match` is usable only by clients
//! that know it. `#[etag]` knows exactly which of them each handler can give, so the
//! document takes them from it instead of from `responses(...)` written by hand on every
//! operation: add [`ConditionalRequests`] to the `modifiers` of your `#[derive(OpenApi)]`.
//!
//! ```
//! use axum::{Json, extract::Path};
//! use etag_runtime::openapi::ConditionalRequests;
//! use etag_runtime::{Versioned, etag};
//! use utoipa::OpenApi;
//!
//! #[derive(serde::Serialize, Versioned, utoipa::ToSchema)]
//! struct Product {
//!     id: i64,
//!     #[version]
//!     version: i64,
//! }
//!
//! /// One product.
//! #[utoipa::path(get, path = "/products/{id}", responses((status = 200, body = Product)))]
//! #[etag(cache_control = "no-cache")]
//! async fn show_product(Path(id): Path<i64>) -> Json<Product> {
//!     Json(Product { id, version: 1 })
//! }
//!
//! /// Whether the server is up: not an `#[etag]` handler, so it gets nothing.
//! #[utoipa::path(get, path = "/health", responses((status = 200)))]
//! async fn health() -> &'static str {
//!     "ok"
//! }
//!
//! #[derive(OpenApi)]
//! #[openapi(paths(show_product, health), modifiers(&ConditionalRequests))]
//! struct ApiDoc;
//!
//! let doc = ApiDoc::openapi();
//! let get = doc.paths.get_path_operation("/products/{id}", utoipa::openapi::HttpMethod::Get).unwrap();
//! assert!(get.responses.responses.contains_key("304"));
//! let headers: Vec<_> = get.parameters.iter().flatten().filter_map(|p| match p {
//!     utoipa::openapi::RefOr::T(p) => Some(p.name.as_str()),
//!     utoipa::openapi::RefOr::Ref(_) => None,
//! }).collect();
//! assert!(headers.contains(&"If-None-Match"));
//! let plain = doc.paths.get_path_operation("/health", utoipa::openapi::HttpMethod::Get).unwrap();
//! assert!(!plain.responses.responses.contains_key("304"));
//! # let _: axum::Router = axum::Router::new()
//! #     .route("/products/{id}", axum::routing::get(show_product))
//! #     .route("/health", axum::routing::get(health));
//! ```
//!
//! # What each operation gets
//!
//! An operation is an `#[etag]` handler's when its `operation_id` is the name of one (see
//! [`ConditionalRequests`] for how they are matched). What it gets depends on its method
//! and on the handler's `#[etag(...)]` arguments; what the operation already documents
//! (a parameter of the same name, a response of the same status, a header of the same
//! name) is kept as it is.
//!
//! | operation | request header parameters | responses |
//! |---|---|---|
//! | GET, HEAD | `If-None-Match`, `If-Modified-Since`\*, `If-Match`, `If-Unmodified-Since`\*; on GET `Range` and `If-Range` | `ETag` and `Last-Modified`\* on the 2xx but a 204; `304`; `412`; on GET `206` and `416` |
//! | `hash`: GET, HEAD | `If-None-Match`, `If-Match`; on GET `Range` and `If-Range` | `ETag` on the 200; `304`; `412`; on GET `206` and `416` |
//! | POST, PUT, PATCH, DELETE | `If-Match`, `If-None-Match`, `If-Unmodified-Since`\* | `ETag` and `Last-Modified`\* (of the new state) on the 2xx but a 204, not with `hash`; `412` |
//! | `require_precondition` | the same, each saying that one of them is required | also `428` |
//! | `per_user` | | `Vary` and `Cache-Control` on the 2xx and the 304 |
//! | `cache_control = "..."` | | `Cache-Control` on the 2xx and the 304 |
//!
//! The validators follow from the handler's return type, a fact the compiler knows: `ETag`
//! where the type carries one (not a bare `StatusCode`), and the fields marked \* only
//! where it can carry a `Last-Modified` ([`Versioned::HAS_LAST_MODIFIED`]: a model with a
//! `#[last_modified]` field or a timestamp version, or [`WithValidators`], whose
//! validators are chosen at run time; not a list, nor a model with a counter alone). A
//! write that returns a bare status (a DELETE's 204) says nothing of the resource's time
//! and keeps `If-Unmodified-Since`. A return type written as `impl Trait`, or naming the
//! handler's generics, is documented as carrying both.
//!
//! [`Versioned::HAS_LAST_MODIFIED`]: crate::Versioned::HAS_LAST_MODIFIED
//! [`WithValidators`]: crate::WithValidators
//!
//! Every description says what the client should send next: the 304 to use its copy, a
//! read's 412 to read again, a write's 412 to read, re-apply its change and send the new
//! `ETag` in `If-Match`, the 428 which header fields count. The 412 and 428 have an
//! `application/problem+json` body (RFC 9457: `type`, `title`, `status`, `detail`), the
//! schema `PreconditionProblem` in the document's components. With `#[etag(error = T)]`
//! whose body is another format, document the 412 and 428 in the operation's
//! `responses(...)`: yours are kept.
//!
//! A route without `#[etag]` gets nothing, nor does an operation of another method
//! (OPTIONS, TRACE).
//!
//! # Attribute order
//!
//! Write `#[utoipa::path(...)]` above `#[etag]`: utoipa then reads the handler as you wrote
//! it (its doc comment, and with utoipa's `axum_extras` its extractors), not as `#[etag]`
//! rewrote it, which has one argument more and renamed the others. The other order
//! compiles too, and the operation gets the same conditional parts.

use utoipa::Modify;
use utoipa::openapi::path::{Operation, Parameter, ParameterBuilder, ParameterIn, PathItem};
use utoipa::openapi::schema::{ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{
    Components, Header, HeaderBuilder, Object, OpenApi, Ref, RefOr, Required, Response,
    ResponseBuilder,
};

use crate::handler::{Config, Require};

/// One `#[etag]` handler as the registry holds it: what [`ConditionalRequests`] needs to
/// document it. Not public API: submitted by the code `#[etag]` generates.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Registered {
    /// The handler fn's name: utoipa's default `operation_id`.
    pub name: &'static str,
    /// The module it is written in, for the message about two handlers of one name.
    pub module: &'static str,
    /// What it answers.
    pub config: Config,
}

inventory::collect!(Registered);

/// The component name of the 412's and 428's body schema.
const PROBLEM_SCHEMA: &str = "PreconditionProblem";

/// A [`utoipa::Modify`] that documents, on the operation of every `#[etag]` handler, the
/// validators it sends, the conditional request header fields it honours and the 304,
/// 412 and 428 it can answer (see the [module documentation](self) for the list).
///
/// ```
/// use etag_runtime::openapi::ConditionalRequests;
/// use utoipa::OpenApi;
///
/// /// Writes without lost updates.
/// #[utoipa::path(put, path = "/notes/{id}", responses((status = 204)))]
/// #[etag_runtime::etag(require_precondition)]
/// async fn replace_note() -> axum::http::StatusCode {
///     axum::http::StatusCode::NO_CONTENT
/// }
///
/// #[derive(OpenApi)]
/// #[openapi(paths(replace_note), modifiers(&ConditionalRequests))]
/// struct ApiDoc;
///
/// let doc = ApiDoc::openapi();
/// let put = doc.paths.get_path_operation("/notes/{id}", utoipa::openapi::HttpMethod::Put).unwrap();
/// let statuses: Vec<_> = put.responses.responses.keys().map(String::as_str).collect();
/// assert_eq!(statuses, ["204", "412", "428"]);
/// let json = doc.to_json().unwrap();
/// assert!(json.contains("application/problem+json"));
/// assert!(json.contains("\"#/components/schemas/PreconditionProblem\""));
/// ```
///
/// # How operations are matched to handlers
///
/// `#[etag]` registers each handler under its fn name, in a registry of every `#[etag]`
/// handler linked into the program (not only those of one document), and an operation is
/// that handler's when its `operation_id` is that name, which is utoipa's default. So:
///
/// - An `#[utoipa::path(operation_id = "...")]` that names the operation otherwise hides it
///   from this modifier: it gets nothing. Keep the default id on `#[etag]` handlers.
/// - Two `#[etag]` handlers of one name in different modules would be documented under
///   one `operation_id`, which OpenAPI forbids (it must be unique among the document's
///   operations). When both answer alike they are documented alike. When they answer
///   differently (one requires a precondition, say), the modifier cannot tell which an
///   operation of that name is: it panics, naming both modules. Rename one of the fns.
///
/// # Panics
///
/// When an operation's `operation_id` is the name of `#[etag]` handlers in different
/// modules that answer differently (see above); handlers that differ only in the
/// validators their return types carry are documented as carrying what either does.
#[cfg_attr(docsrs, doc(cfg(feature = "utoipa")))]
#[derive(Debug, Clone, Copy, Default)]
pub struct ConditionalRequests;

impl Modify for ConditionalRequests {
    fn modify(&self, openapi: &mut OpenApi) {
        let registered: Vec<&Registered> = inventory::iter::<Registered>.into_iter().collect();
        document(openapi, &registered);
    }
}

/// Patches the operations of `openapi` that are the handlers in `registered`.
fn document(openapi: &mut OpenApi, registered: &[&Registered]) {
    // Every operation of a handler gets a 412, whose body is the problem schema.
    let mut refusals = false;
    for item in openapi.paths.paths.values_mut() {
        for (method, operation) in operations(item) {
            let Some(id) = operation.operation_id.as_deref() else {
                continue;
            };
            let Some(config) = config_of(id, registered) else {
                continue;
            };
            patch(operation, method, config);
            refusals = true;
        }
    }
    if refusals {
        let components = openapi.components.get_or_insert_with(Components::new);
        components
            .schemas
            .entry(PROBLEM_SCHEMA.to_owned())
            .or_insert_with(|| problem_schema().into());
    }
}

/// The configuration of the handlers named `name`, if any.
///
/// Handlers that differ only in the validators their return types carry are documented as
/// carrying what either does: that is true of the operation, whichever handler it is.
fn config_of(name: &str, registered: &[&Registered]) -> Option<Config> {
    let mut named = registered.iter().filter(|r| r.name == name);
    let first = named.next()?;
    let mut config = first.config;
    for other in named {
        let carries = other.config.carries;
        let unlike = Config { carries, ..config } != other.config;
        if unlike {
            panic!(
                "the operation `{name}` may be the #[etag] handler `{}::{name}` or `{}::{name}`, which answer differently; \
                 rename one of the fns (OpenAPI operation ids must be unique, and utoipa takes them from the fn names)",
                first.module, other.module
            );
        }
        config.carries.etag |= carries.etag;
        config.carries.last_modified |= carries.last_modified;
    }
    Some(config)
}

/// How the runtime treats a request of the operation's method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Get,
    Head,
    /// POST, PUT, PATCH, DELETE.
    Write,
}

fn operations(item: &mut PathItem) -> impl Iterator<Item = (Method, &mut Operation)> {
    [
        (Method::Get, item.get.as_mut()),
        (Method::Head, item.head.as_mut()),
        (Method::Write, item.post.as_mut()),
        (Method::Write, item.put.as_mut()),
        (Method::Write, item.patch.as_mut()),
        (Method::Write, item.delete.as_mut()),
    ]
    .into_iter()
    .filter_map(|(method, operation)| operation.map(|op| (method, op)))
}

/// Adds what the handler answers to its operation.
fn patch(operation: &mut Operation, method: Method, config: Config) {
    let read = method != Method::Write;
    let params = operation.parameters.get_or_insert_with(Vec::new);
    for param in parameters(method, config) {
        let known = params.iter().any(|p| {
            matches!(p, RefOr::T(p) if p.parameter_in == ParameterIn::Header
                && p.name.eq_ignore_ascii_case(&param.name))
        });
        if !known {
            params.push(RefOr::T(param));
        }
    }

    let validators = validator_headers(method, config);
    let cache = cache_headers(config);
    for (status, response) in &mut operation.responses.responses {
        let RefOr::T(response) = response else {
            continue;
        };
        // A 204 has no representation, so no validators of one.
        let tagged = if config.is_hash() {
            status == "200"
        } else {
            status.starts_with('2') && status != "204"
        };
        if tagged {
            add_headers(response, &validators);
        }
        if status.starts_with('2') {
            add_headers(response, &cache);
        }
    }

    let responses = &mut operation.responses.responses;
    let mut add = |status: &str, response: Response| {
        responses
            .entry(status.to_owned())
            .or_insert_with(|| RefOr::T(response));
    };
    if read {
        let mut not_modified = ResponseBuilder::new().description(NOT_MODIFIED).build();
        add_headers(&mut not_modified, &validators);
        add_headers(&mut not_modified, &cache);
        add("304", not_modified);
        add("412", problem(READ_FAILED));
        if method == Method::Get {
            let mut partial = ResponseBuilder::new().description(PARTIAL).build();
            add_headers(&mut partial, &[("Content-Range", header(CONTENT_RANGE))]);
            add_headers(&mut partial, &validators);
            add("206", partial);
            let mut unsatisfiable = ResponseBuilder::new().description(UNSATISFIABLE).build();
            add_headers(
                &mut unsatisfiable,
                &[("Content-Range", header(UNSATISFIED_RANGE))],
            );
            add("416", unsatisfiable);
        }
    } else {
        add("412", problem(WRITE_FAILED));
        match (config.require, is_dated(method, config)) {
            (Require::Nothing, _) => {}
            (Require::EntityTag, _) => add("428", problem(REQUIRED_TAG_ONLY)),
            (Require::Precondition, true) => add("428", problem(REQUIRED_ANY)),
            (Require::Precondition, false) => add("428", problem(REQUIRED_UNDATED)),
        }
    }
}

/// The request header fields the handler honours for this method.
fn parameters(method: Method, config: Config) -> Vec<Parameter> {
    // The date fields compare with a `Last-Modified`: only where one can be sent.
    let dated = is_dated(method, config);
    let mut params = Vec::new();
    match method {
        Method::Get | Method::Head => {
            params.push(param("If-None-Match", IF_NONE_MATCH_READ));
            if dated {
                params.push(param("If-Modified-Since", IF_MODIFIED_SINCE));
            }
            params.push(param("If-Match", IF_MATCH_READ));
            if dated {
                params.push(param("If-Unmodified-Since", IF_UNMODIFIED_SINCE_READ));
            }
            if method == Method::Get {
                params.push(param("Range", RANGE));
                params.push(param("If-Range", IF_RANGE));
            }
        }
        Method::Write => {
            let required = match (config.require, dated) {
                (Require::Nothing, _) => "",
                (Require::Precondition, true) => REQUIRED_ANY_PARAM,
                (Require::Precondition, false) => REQUIRED_TAG_UNDATED_PARAM,
                (Require::EntityTag, _) => REQUIRED_TAG_PARAM,
            };
            params.push(param("If-Match", &format!("{IF_MATCH_WRITE}{required}")));
            params.push(param(
                "If-None-Match",
                &format!("{IF_NONE_MATCH_WRITE}{required}"),
            ));
            if dated {
                params.push(param(
                    "If-Unmodified-Since",
                    &format!("{IF_UNMODIFIED_SINCE_WRITE}{required}"),
                ));
            }
        }
    }
    params
}

/// Whether the date fields apply: the resource has a `Last-Modified` to compare them with.
/// A read's is on the representation it returns, so its return type says (never under
/// `hash`). A write's return type is the state it leaves, usually the same model; a bare
/// status (a DELETE's 204) says nothing of the resource, which may have a time.
fn is_dated(method: Method, config: Config) -> bool {
    match method {
        _ if config.is_hash() => false,
        Method::Write => config.carries.last_modified || !config.carries.etag,
        Method::Get | Method::Head => config.carries.last_modified,
    }
}

/// The validators on the handler's successful responses to this method.
fn validator_headers(method: Method, config: Config) -> Vec<(&'static str, Header)> {
    match (method, config.is_hash()) {
        (Method::Write, true) => Vec::new(),
        (_, true) => vec![("ETag", header(ETAG_HASH))],
        (method, false) => {
            let write = method == Method::Write;
            let mut headers = Vec::new();
            if config.carries.etag {
                headers.push(("ETag", header(if write { ETAG_WRITE } else { ETAG_READ })));
            }
            if config.carries.last_modified {
                let text = if write {
                    LAST_MODIFIED_WRITE
                } else {
                    LAST_MODIFIED_READ
                };
                headers.push(("Last-Modified", header(text)));
            }
            headers
        }
    }
}

/// `Cache-Control` and `Vary` on the 2xx and the 304.
fn cache_headers(config: Config) -> Vec<(&'static str, Header)> {
    let mut headers = Vec::new();
    if let Some(value) = config.cache_control() {
        headers.push((
            "Cache-Control",
            header(&format!(
                "`{value}`, unless the handler set its own.{}",
                if config.per_user { PRIVATE } else { "" }
            )),
        ));
    }
    if config.per_user {
        headers.push(("Vary", header(VARY)));
    }
    headers
}

fn add_headers(response: &mut Response, headers: &[(&'static str, Header)]) {
    for (name, header) in headers {
        let known = response
            .headers
            .keys()
            .any(|k| k.eq_ignore_ascii_case(name));
        if !known {
            response
                .headers
                .insert((*name).to_owned(), RefOr::T(header.clone()));
        }
    }
}

fn param(name: &str, description: &str) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(Object::with_type(Type::String)))
        .build()
}

fn header(description: &str) -> Header {
    HeaderBuilder::new()
        .schema(Some(Object::with_type(Type::String)))
        .description(Some(description))
        .build()
}

/// A 412 or 428 with the problem details body.
fn problem(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/problem+json",
            utoipa::openapi::Content::new(Some(Ref::from_schema_name(PROBLEM_SCHEMA))),
        )
        .build()
}

/// The body of the 412s and 428s the runtime renders ([`Precondition`](crate::Precondition)).
fn problem_schema() -> ObjectBuilder {
    ObjectBuilder::new()
        .description(Some(
            "Problem details (RFC 9457) of a 412 or 428: why the request's preconditions refused it, and what to send instead.",
        ))
        .property(
            "type",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::Custom("uri-reference".to_owned())))
                .description(Some("`about:blank`: the status says what happened.")),
        )
        .property(
            "title",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some("The status's reason phrase.")),
        )
        .property(
            "status",
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .description(Some("The HTTP status: 412 or 428.")),
        )
        .property(
            "detail",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some("What failed, and what the client should send next.")),
        )
        .required("type")
        .required("title")
        .required("status")
        .required("detail")
        .examples([serde_json::json!({
            "type": "about:blank",
            "title": "Precondition Failed",
            "status": 412,
            "detail": "The resource has changed since the version in If-Match. Read it again, re-apply your change to the current version and send it with the new ETag in If-Match."
        })])
}

const IF_NONE_MATCH_READ: &str = "The ETags of the copies the client holds (or `*`): `304 Not Modified` when one of them is current (weak comparison).";
const IF_MODIFIED_SINCE: &str = "An HTTP date, the `Last-Modified` of the client's copy: `304 Not Modified` when the resource has not changed since. Ignored when `If-None-Match` is sent.";
const IF_MATCH_READ: &str = "ETags (or `*`): `412 Precondition Failed` unless the current representation has one of them (strong comparison).";
const IF_UNMODIFIED_SINCE_READ: &str = "An HTTP date: `412 Precondition Failed` when the resource changed after it. Ignored when `If-Match` is sent.";
const RANGE: &str = "`bytes=` ranges of the representation: `206 Partial Content` with those bytes, `416 Range Not Satisfiable` when none is within it; the whole representation when invalid.";
const IF_RANGE: &str = "The strong ETag of the part the client holds: `Range` is served only while the representation is still that one; otherwise, and for a date (which cannot tell two versions of one second apart), the whole representation, `200`.";
const IF_MATCH_WRITE: &str = "The ETag of the version the change was made to: `412 Precondition Failed` when the resource is at another one, so that no change overwrites one the client has not seen.";
const IF_NONE_MATCH_WRITE: &str =
    "`*`: create the resource only if it does not exist; `412 Precondition Failed` if it does.";
const IF_UNMODIFIED_SINCE_WRITE: &str = "An HTTP date, the `Last-Modified` the change was made to: `412 Precondition Failed` when the resource changed after it. Ignored when `If-Match` is sent; one-second resolution, so prefer `If-Match`.";
const REQUIRED_ANY_PARAM: &str = " One of `If-Match`, `If-Unmodified-Since` or `If-None-Match: *` is required: `428 Precondition Required` without.";
const REQUIRED_TAG_UNDATED_PARAM: &str =
    " One of `If-Match` or `If-None-Match: *` is required: `428 Precondition Required` without.";
const REQUIRED_TAG_PARAM: &str = " One of `If-Match` or `If-None-Match: *` is required: `428 Precondition Required` without (`If-Unmodified-Since` alone does not count).";

const ETAG_READ: &str = "The representation's entity tag: send it in `If-None-Match` to revalidate (`304`), or in `If-Match` to change exactly this version.";
const ETAG_HASH: &str = "A digest of the body: send it in `If-None-Match` to revalidate (`304`).";
const ETAG_WRITE: &str =
    "The entity tag of the state the request left: send it in `If-Match` with the next change.";
const LAST_MODIFIED_READ: &str = "When the representation last changed, an HTTP date, when it is known: send it in `If-Modified-Since` to revalidate.";
const LAST_MODIFIED_WRITE: &str = "When the resource last changed, an HTTP date, when it is known: of the state the request left.";
const PRIVATE: &str = " The response belongs to the caller: shared caches must not store it.";
const VARY: &str = "The request header fields that name the caller: the response, and its ETag, hold for that caller only.";
const CONTENT_RANGE: &str = "The bytes sent, as `bytes FIRST-LAST/LENGTH` (absent for `multipart/byteranges`, where each part has its own).";
const UNSATISFIED_RANGE: &str = "`bytes */LENGTH`: the representation's length.";

const NOT_MODIFIED: &str = "Not Modified: the copy the client holds (named by `If-None-Match`, or not changed since `If-Modified-Since`) is current. Use it, and revalidate it next time the same way. No body.";
const READ_FAILED: &str = "Precondition Failed: the representation no longer matches `If-Match` (or changed after `If-Unmodified-Since`). Send the request again without them to get the current one and its new `ETag`.";
const WRITE_FAILED: &str = "Precondition Failed: the resource changed since the client's copy (`If-Match` names another version, it changed after `If-Unmodified-Since`, or `If-None-Match: *` found it existing). Nothing was changed: GET it again, re-apply the change to what it returns, and send that with its `ETag` in `If-Match`.";
const REQUIRED_ANY: &str = "Precondition Required: the request did not say which version it changes. GET the resource and send the change with its `ETag` in `If-Match` (or `If-Unmodified-Since` with its `Last-Modified`), or send `If-None-Match: *` to create it only if it does not exist.";
const REQUIRED_UNDATED: &str = "Precondition Required: the request did not say which version it changes. GET the resource and send the change with its `ETag` in `If-Match`, or send `If-None-Match: *` to create it only if it does not exist.";
const REQUIRED_TAG_ONLY: &str = "Precondition Required: the request did not say which version it changes. GET the resource and send the change with its `ETag` in `If-Match`, or send `If-None-Match: *` to create it only if it does not exist; `If-Unmodified-Since` alone does not count.";
const PARTIAL: &str = "Partial Content: the ranges `Range` asked for (several as `multipart/byteranges`), of the representation `If-Range` names when it is sent. To resume, ask for the rest with `Range` and this `ETag` in `If-Range`.";
const UNSATISFIABLE: &str = "Range Not Satisfiable: no range in `Range` is within the representation. Ask for a range within the length `Content-Range` gives.";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handler::{Carries, Tags};
    use utoipa::openapi::path::OperationBuilder;
    use utoipa::openapi::{HttpMethod, PathItem, Paths};

    const READ: Config = Config {
        require: Require::Nothing,
        tags: Tags::Value,
        per_user: false,
        cache_control: None,
        carries: Carries::BOTH,
    };

    fn registered(name: &'static str, module: &'static str, config: Config) -> Registered {
        Registered {
            name,
            module,
            config,
        }
    }

    fn doc(ops: &[(&str, HttpMethod, &str)]) -> OpenApi {
        let mut paths = Paths::new();
        for (path, method, id) in ops {
            let op = OperationBuilder::new()
                .operation_id(Some(*id))
                .response("200", Response::new("ok"))
                .response("204", Response::new("gone"))
                .build();
            paths.add_path_operation(*path, vec![method.clone()], op);
        }
        let mut doc = OpenApi::new(utoipa::openapi::Info::new("t", "1"), paths);
        doc.paths.paths.entry("/plain".into()).or_insert_with(|| {
            PathItem::new(
                HttpMethod::Get,
                OperationBuilder::new()
                    .operation_id(Some("plain"))
                    .response("200", Response::new("ok"))
                    .build(),
            )
        });
        doc
    }

    fn op<'a>(doc: &'a OpenApi, path: &str, method: HttpMethod) -> &'a Operation {
        doc.paths.get_path_operation(path, method).unwrap()
    }

    /// The operation's parameters, written inline (as the modifier writes them).
    fn inline(op: &Operation) -> Vec<&Parameter> {
        op.parameters
            .iter()
            .flatten()
            .map(|p| match p {
                RefOr::T(p) => p,
                RefOr::Ref(_) => panic!("a parameter by reference"),
            })
            .collect()
    }

    fn params(op: &Operation) -> Vec<&str> {
        inline(op).into_iter().map(|p| p.name.as_str()).collect()
    }

    fn statuses(op: &Operation) -> Vec<&str> {
        op.responses.responses.keys().map(String::as_str).collect()
    }

    fn headers<'a>(op: &'a Operation, status: &str) -> Vec<&'a str> {
        match &op.responses.responses[status] {
            RefOr::T(r) => r.headers.keys().map(String::as_str).collect(),
            RefOr::Ref(_) => panic!("a reference"),
        }
    }

    #[test]
    fn a_read_gets_validators_304_412_and_ranges() {
        let get = registered("get_item", "app", READ);
        let mut doc = doc(&[
            ("/items/{id}", HttpMethod::Get, "get_item"),
            ("/items/{id}", HttpMethod::Head, "get_item"),
        ]);
        document(&mut doc, &[&get]);
        let op = op(&doc, "/items/{id}", HttpMethod::Get);
        assert_eq!(
            params(op),
            [
                "If-None-Match",
                "If-Modified-Since",
                "If-Match",
                "If-Unmodified-Since",
                "Range",
                "If-Range"
            ]
        );
        assert_eq!(statuses(op), ["200", "204", "206", "304", "412", "416"]);
        assert_eq!(headers(op, "200"), ["ETag", "Last-Modified"]);
        assert_eq!(headers(op, "304"), ["ETag", "Last-Modified"]);
        assert!(
            headers(op, "204").is_empty(),
            "no representation, no validators"
        );
        assert!(!op.responses.responses.contains_key("428"));
        let head = super::tests::op(&doc, "/items/{id}", HttpMethod::Head);
        assert!(!params(head).contains(&"Range"));
        assert!(!head.responses.responses.contains_key("206"));
        // The route without `#[etag]`: untouched.
        let plain = super::tests::op(&doc, "/plain", HttpMethod::Get);
        assert_eq!(params(plain), Vec::<&str>::new());
        assert_eq!(statuses(plain), ["200"]);
        assert!(headers(plain, "200").is_empty());
        let schemas = &doc.components.as_ref().unwrap().schemas;
        assert!(schemas.contains_key(PROBLEM_SCHEMA));
    }

    #[test]
    fn a_write_gets_412_and_with_require_precondition_428() {
        let put = registered(
            "put_item",
            "app",
            Config {
                require: Require::Precondition,
                ..READ
            },
        );
        let post = registered("create_item", "app", READ);
        let mut doc = doc(&[
            ("/items/{id}", HttpMethod::Put, "put_item"),
            ("/items", HttpMethod::Post, "create_item"),
        ]);
        document(&mut doc, &[&put, &post]);
        let op = op(&doc, "/items/{id}", HttpMethod::Put);
        assert_eq!(
            params(op),
            ["If-Match", "If-None-Match", "If-Unmodified-Since"]
        );
        let if_match = inline(op)[0];
        assert!(matches!(if_match.required, Required::False));
        assert!(
            if_match
                .description
                .as_deref()
                .unwrap()
                .contains("is required: `428")
        );
        assert_eq!(statuses(op), ["200", "204", "412", "428"]);
        assert_eq!(headers(op, "200"), ["ETag", "Last-Modified"]);
        let RefOr::T(refused) = &op.responses.responses["428"] else {
            panic!()
        };
        assert!(refused.content.contains_key("application/problem+json"));
        let create = super::tests::op(&doc, "/items", HttpMethod::Post);
        assert_eq!(statuses(create), ["200", "204", "412"]);
    }

    #[test]
    fn what_the_return_type_cannot_carry_is_not_documented() {
        // A list, or a model with a counter alone: an `ETag`, no `Last-Modified`.
        let undated = Config {
            carries: Carries::ETAG,
            ..READ
        };
        let list = registered("list", "app", undated);
        let put = registered(
            "put_item",
            "app",
            Config {
                require: Require::Precondition,
                ..undated
            },
        );
        let gone = registered(
            "delete_item",
            "app",
            Config {
                carries: Carries::NONE,
                ..READ
            },
        );
        let mut doc = doc(&[
            ("/items", HttpMethod::Get, "list"),
            ("/items/{id}", HttpMethod::Put, "put_item"),
            ("/items/{id}", HttpMethod::Delete, "delete_item"),
        ]);
        document(&mut doc, &[&list, &put, &gone]);
        let get = op(&doc, "/items", HttpMethod::Get);
        assert_eq!(
            params(get),
            ["If-None-Match", "If-Match", "Range", "If-Range"]
        );
        assert_eq!(headers(get, "200"), ["ETag"]);
        assert_eq!(headers(get, "304"), ["ETag"]);
        let write = op(&doc, "/items/{id}", HttpMethod::Put);
        assert_eq!(params(write), ["If-Match", "If-None-Match"]);
        assert_eq!(headers(write, "200"), ["ETag"]);
        let RefOr::T(required) = &write.responses.responses["428"] else {
            panic!()
        };
        assert!(!required.description.contains("If-Unmodified-Since"));
        assert!(
            inline(write)
                .iter()
                .all(|p| !p.description.as_deref().unwrap().contains("Unmodified"))
        );
        // A bare status carries nothing, and says nothing of the resource's time: its date
        // condition stays.
        let delete = op(&doc, "/items/{id}", HttpMethod::Delete);
        assert!(headers(delete, "200").is_empty(), "a bare status");
        assert_eq!(statuses(delete), ["200", "204", "412"]);
        assert_eq!(
            params(delete),
            ["If-Match", "If-None-Match", "If-Unmodified-Since"]
        );
    }

    #[test]
    fn hash_per_user_and_cache_control() {
        let page = registered(
            "page",
            "app",
            Config {
                tags: Tags::Hash { limit: 1 },
                per_user: true,
                cache_control: Some("no-cache"),
                ..READ
            },
        );
        let mut doc = doc(&[("/page", HttpMethod::Get, "page")]);
        document(&mut doc, &[&page]);
        let op = op(&doc, "/page", HttpMethod::Get);
        assert_eq!(
            params(op),
            ["If-None-Match", "If-Match", "Range", "If-Range"]
        );
        assert_eq!(headers(op, "200"), ["Cache-Control", "ETag", "Vary"]);
        assert_eq!(headers(op, "204"), ["Cache-Control", "Vary"]);
        assert_eq!(headers(op, "304"), ["Cache-Control", "ETag", "Vary"]);
        let RefOr::T(ok) = &op.responses.responses["200"] else {
            panic!()
        };
        let RefOr::T(cc) = &ok.headers["Cache-Control"] else {
            panic!()
        };
        let cc = cc.description.as_deref().unwrap();
        assert!(cc.starts_with("`private, no-cache`"), "{cc}");
    }

    #[test]
    fn what_the_operation_documents_is_kept() {
        let get = registered("get_item", "app", READ);
        let mut doc = doc(&[("/items/{id}", HttpMethod::Get, "get_item")]);
        let op = doc.paths.paths.get_mut("/items/{id}").unwrap();
        let op = op.get.as_mut().unwrap();
        op.parameters = Some(vec![RefOr::T(param("if-none-match", "mine"))]);
        op.responses
            .responses
            .insert("304".into(), RefOr::T(Response::new("my 304")));
        document(&mut doc, &[&get]);
        let op = super::tests::op(&doc, "/items/{id}", HttpMethod::Get);
        let inm: Vec<_> = inline(op)
            .into_iter()
            .filter(|p| p.name.eq_ignore_ascii_case("if-none-match"))
            .collect();
        assert_eq!(inm.len(), 1);
        assert_eq!(inm[0].description.as_deref(), Some("mine"));
        let RefOr::T(not_modified) = &op.responses.responses["304"] else {
            panic!()
        };
        assert_eq!(not_modified.description, "my 304");
    }

    #[test]
    fn handlers_of_one_name_that_answer_alike_are_one() {
        let a = registered("get", "app::a", READ);
        let b = registered("get", "app::b", READ);
        assert_eq!(config_of("get", &[&a, &b]), Some(READ));
        assert_eq!(config_of("other", &[&a, &b]), None);
        // Told apart only by what their return types carry: either may be sent.
        let tag = registered(
            "put",
            "app::a",
            Config {
                carries: Carries::ETAG,
                ..READ
            },
        );
        let status = registered(
            "put",
            "app::b",
            Config {
                carries: Carries::NONE,
                ..READ
            },
        );
        assert_eq!(
            config_of("put", &[&status, &tag]).map(|c| c.carries),
            Some(Carries::ETAG)
        );
    }

    #[test]
    #[should_panic(expected = "`app::a::get` or `app::b::get`, which answer differently")]
    fn handlers_of_one_name_that_answer_differently_are_refused() {
        let a = registered("get", "app::a", READ);
        let b = registered(
            "get",
            "app::b",
            Config {
                tags: Tags::Hash { limit: 1 },
                ..READ
            },
        );
        let _ = config_of("get", &[&a, &b]);
    }
}

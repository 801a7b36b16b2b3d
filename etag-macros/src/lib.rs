//! Implementation detail of the `etag-runtime` crate: depend on `etag-runtime`, which
//! re-exports these macros with their documentation.
#![doc(test(attr(deny(warnings))))]

mod errors;
mod etag;
mod runtime_path;
mod versioned;

use proc_macro::TokenStream;

/// Makes an axum handler answer conditional requests (RFC 9110 section 13): `ETag` and
/// `Last-Modified` on its 2xx responses, `304 Not Modified` and `412 Precondition Failed`
/// on GET and HEAD, decided before the returned value is serialized.
///
/// ```
/// use axum::{Json, Router, extract::Path, routing::get};
/// use etag_runtime::{Versioned, etag};
/// use serde::Serialize;
///
/// #[derive(Serialize, Versioned)]
/// struct Product {
///     id: i64,
///     name: String,
///     #[version]
///     version: i64,
/// }
///
/// #[etag]
/// async fn get_product(Path(id): Path<i64>) -> Json<Product> {
///     Json(Product { id, name: "Wireless Mouse".into(), version: 3 })
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// # use tower::ServiceExt as _;
/// let app: Router = Router::new().route("/products/{id}", get(get_product));
/// # let req = |inm: Option<&str>| {
/// #     let mut r = axum::http::Request::get("/products/1");
/// #     if let Some(v) = inm { r = r.header("if-none-match", v); }
/// #     r.body(axum::body::Body::empty()).unwrap()
/// # };
/// // GET /products/1                      -> 200, ETag: "3"
/// // GET /products/1, If-None-Match: "3"  -> 304, no body, nothing serialized
/// # let res = app.clone().oneshot(req(None)).await.unwrap();
/// # assert_eq!(res.status(), 200);
/// # assert_eq!(res.headers()["etag"], "\"3\"");
/// # let res = app.oneshot(req(Some("\"3\""))).await.unwrap();
/// # assert_eq!(res.status(), 304);
/// # }
/// ```
///
/// # What it does
///
/// - The validators come from the returned value: `Json<T>` or any `T: Versioned +
///   IntoResponse` (see [`derive(Versioned)`](derive.Versioned.html)), a
///   [`WithValidators`](struct.WithValidators.html), and those inside `Result<_, E>`,
///   `Option<_>` (`None` is a 404 with problem details), `(StatusCode, _)` and
///   `(headers, _)` tuples (the runtime's
///   [`IntoConditionalResponse`](response/trait.IntoConditionalResponse.html)).
/// - On GET and HEAD the request's preconditions are evaluated in the order of RFC 9110
///   section 13.2.2 against those validators *before* the value is rendered: a 304 costs
///   no serialization. The 304 carries the `ETag` (or `Last-Modified` when there is no
///   tag), the fields of `(headers, _)` tuples around the value and the `cache_control`
///   option, and no body or `Content-*` fields (section 15.4.5). Fields that only the
///   value's own rendering would set cannot be known without rendering it: put `Vary`,
///   `Expires` or `Cache-Control` in a tuple or the option, not inside the body type. A 304
///   returned early with `Conditions::check(..)?` carries the tag and the option only.
/// - Errors and other non-2xx responses pass through untouched: an `Err`, a `None`, a
///   `(StatusCode::NOT_FOUND, _)` never get a validator and are never replaced by a 304.
/// - Other methods (PUT, PATCH, DELETE, POST) are not evaluated here: a write checks its
///   preconditions against the state it loads, before it writes (see "Writes" below).
///   Their 2xx responses carry the validators of the value they return, which is the
///   *new* state.
/// - The handler it leaves takes a context extractor as its first argument and is a `fn`
///   returning `impl Future<Output = Response>` (an `async fn`'s future would hold each
///   argument twice); under `#[axum::debug_handler]`, which takes only an `async fn`, it
///   stays one. Either way axum routes it as written.
///
/// # Arguments
///
/// | argument | effect |
/// |---|---|
/// | `hash` | A strong ETag from the SHA-256 of the rendered body instead, for any `IntoResponse`. The body is buffered up to 4 MiB; a larger body goes out unchanged, without an ETag. Only a `200 OK` to a GET or HEAD without `Cache-Control: no-store` is tagged. |
/// | `hash(limit = <bytes>)` | The same with another limit, an integer literal. |
/// | `require_precondition` | A PUT, PATCH, DELETE or POST without `If-Match`, `If-Unmodified-Since` or `If-None-Match: *` gets `428 Precondition Required` with a problem+json body (RFC 6585 section 3), before any of the handler's extractors runs, the body extractor included. An `If-Unmodified-Since` later than the server's clock does not count (it proves nothing), and neither does one alone on a resource that does not exist (RFC 9110 section 13.1.4 ignores it there), which `Conditions::write` answers with 428. It makes the header mandatory; the handler still checks it against the state it loads (see "Writes"). |
/// | `require_entity_tag` | The same, but only an entity tag counts (`If-Match` or `If-None-Match: *`): an HTTP date has one-second resolution, so only a tag makes the no-lost-update promise. |
/// | `cache_control = "..."` | `Cache-Control` for 2xx and 304 responses that do not set one, for example `"no-cache"` (store, but revalidate every time). |
/// | `error = Type` | The 412s and 428s the macro answers itself go through `Type: From<Precondition> + IntoResponse`, the application's own error format (see "Your own error format"). A 304 has no body and goes out as it is. |
/// | `per_user = <argument>` | The response belongs to the principal the named argument extracts (its type implements [`principal::Principal`](principal/trait.Principal.html)): see "Per-user responses". |
/// | `crate = "..."` | The path the runtime is reachable at, when it is renamed or re-exported (default: `::etag_runtime`). |
///
/// A tag is made weak where it is made, not here: `#[versioned(weak)]` on the model, or
/// `ETag::into_weak` on a tag you build.
///
/// The handler stays an `async fn` with its name, visibility, generics, doc comments and
/// other attributes, so it routes as before with `Router::route`, and it can be an
/// associated fn in an `impl` block. The macro adds one extractor, first in the handler's
/// arguments, that reads the request's conditional headers: it runs before the handler's
/// own extractors and takes one of axum's 16 extractor slots, leaving 15.
///
/// # Writes
///
/// A write takes [`Conditions`](struct.Conditions.html) (an extractor that never rejects)
/// and runs through [`Conditions::write`](struct.Conditions.html#method.write): it reads the
/// current state, decides the preconditions against it, and hands the write a
/// [`Guard`](write/enum.Guard.html) saying what its statement must still find (nothing
/// there, the row whatever its version, or the row at the version read). When the
/// statement finds the row changed, another writer won: the step reads and decides again,
/// so a stale tag gets 412 and `If-Match: *` never does.
///
/// A version must never repeat for one URL: a client still holding the tag of a deleted
/// resource must not match the resource created in its place. Here every write takes the
/// next value of one store-wide revision counter (a database sequence), so a re-created
/// product starts at a version no earlier product had.
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::{Arc, Mutex};
///
/// use axum::extract::{Path, State};
/// use axum::http::StatusCode;
/// use axum::routing::put;
/// use axum::{Json, Router};
/// use etag_runtime::write::Guard;
/// use etag_runtime::{Conditions, Precondition, Versioned, etag};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Clone, Serialize, Versioned)]
/// struct Product {
///     id: u32,
///     name: String,
///     #[version]
///     version: i64,
/// }
///
/// #[derive(Deserialize)]
/// struct Input {
///     name: String,
/// }
///
/// #[derive(Default)]
/// struct Rows {
///     products: HashMap<u32, Product>,
///     /// The store-wide revision: `nextval('revision')` in SQL.
///     revision: i64,
/// }
///
/// type Db = Arc<Mutex<Rows>>;
///
/// #[etag(require_precondition)]
/// async fn put_product(
///     State(db): State<Db>,
///     conditions: Conditions,
///     Path(id): Path<u32>,
///     Json(input): Json<Input>,
/// ) -> Result<(StatusCode, Json<Product>), Precondition> {
///     let (db, name) = (&db, &input.name);
///     let (status, product) = conditions
///         .write(
///             // SELECT ... WHERE id = $1
///             || async { Ok(db.lock().unwrap().products.get(&id).cloned()) },
///             |guard| async move {
///                 let mut db = db.lock().unwrap();
///                 // INSERT ... ON CONFLICT DO NOTHING, or UPDATE ... WHERE id = $1
///                 // AND ($2 IS NULL OR version = $2): nothing written means "read again".
///                 let found = db.products.get(&id).map(|row| row.version);
///                 let status = match (&guard, found) {
///                     (Guard::Absent, None) => StatusCode::CREATED,
///                     (Guard::Exists(_), Some(_)) => StatusCode::OK,
///                     (Guard::Unchanged(read), Some(v)) if v == read.version => StatusCode::OK,
///                     _ => return Ok(None),
///                 };
///                 db.revision += 1;
///                 let row = Product { id, name: name.clone(), version: db.revision };
///                 db.products.insert(id, row.clone());
///                 Ok(Some((status, row)))
///             },
///         )
///         .await?;
///     Ok((status, Json(product)))
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// # use tower::ServiceExt as _;
/// let db = Db::default();
/// let app = Router::new().route("/products/{id}", put(put_product)).with_state(db);
/// # let req = |h: Option<(&str, &str)>, body: &str| {
/// #     let mut r = axum::http::Request::put("/products/1").header("content-type", "application/json");
/// #     if let Some((k, v)) = h { r = r.header(k, v); }
/// #     r.body(axum::body::Body::from(body.to_owned())).unwrap()
/// # };
/// // PUT, If-None-Match: *  -> 201, ETag: "1"      (create only if absent)
/// // PUT, If-Match: "1"     -> 200, ETag: "2"      (the response carries the new tag)
/// // PUT, If-Match: "1"     -> 412                 (stale: someone wrote "2")
/// // PUT, If-Match: *       -> 200, ETag: "3"      (it exists: whatever its version)
/// // PUT, no precondition   -> 428
/// # let res = app.clone().oneshot(req(Some(("if-none-match", "*")), r#"{"name":"a"}"#)).await.unwrap();
/// # assert_eq!(res.status(), 201);
/// # assert_eq!(res.headers()["etag"], "\"1\"");
/// # let res = app.clone().oneshot(req(Some(("if-match", "\"1\"")), r#"{"name":"b"}"#)).await.unwrap();
/// # assert_eq!(res.status(), 200);
/// # assert_eq!(res.headers()["etag"], "\"2\"");
/// # let res = app.clone().oneshot(req(Some(("if-match", "\"1\"")), r#"{"name":"c"}"#)).await.unwrap();
/// # assert_eq!(res.status(), 412);
/// # let res = app.clone().oneshot(req(Some(("if-match", "*")), r#"{"name":"d"}"#)).await.unwrap();
/// # assert_eq!(res.headers()["etag"], "\"3\"");
/// # let res = app.oneshot(req(None, "{not json")).await.unwrap();
/// # assert_eq!(res.status(), 428);
/// # }
/// ```
///
/// The README's notes service does the same on PostgreSQL, SQLite and MySQL, with every
/// statement.
///
/// # Validators first, then the expensive work
///
/// When building the response is expensive (a large query, a report), check the
/// preconditions against the cheap validators first with
/// [`Conditions::check`](struct.Conditions.html#method.check): `?` answers the 304 or 412
/// right away, and [`Checked::respond`](struct.Checked.html#method.respond) attaches exactly
/// the validators that were checked to the 200, so the two can never disagree.
///
/// ```
/// use std::time::SystemTime;
///
/// use axum::Json;
/// use axum::extract::Path;
/// use etag_runtime::{Conditions, ETag, Precondition, Validators, WithValidators, etag};
///
/// #[etag]
/// async fn list_orders(
///     conditions: Conditions,
///     Path(customer): Path<u32>,
/// ) -> Result<WithValidators<Json<Vec<String>>>, Precondition> {
///     // SELECT revision, updated_at FROM customers WHERE id = $1
///     let validators = Validators::new()
///         .with_etag(ETag::from_version(&41_u64))
///         .with_last_modified(SystemTime::UNIX_EPOCH);
///     let checked = conditions.check(validators)?; // 304 or 412 here
///     // SELECT * FROM orders WHERE customer = $1   -- only for a stale client
///     let list = vec![format!("order of {customer}")];
///     Ok(checked.respond(Json(list)))
/// }
/// # let _: axum::Router = axum::Router::new().route("/{id}", axum::routing::get(list_orders));
/// ```
///
/// # Your own error format
///
/// [`Precondition`](struct.Precondition.html) answers with problem details (RFC 9457). An
/// application with its own error type converts it with `From`, keeps the status and the
/// headers with [`Precondition::respond_with`](struct.Precondition.html#method.respond_with),
/// and names the type in `error = ...` so that the 428s and 412s the macro answers itself
/// look the same:
///
/// ```
/// use axum::Json;
/// use axum::response::{IntoResponse, Response};
/// use etag_runtime::{Precondition, etag};
///
/// struct ApiError(Precondition);
///
/// impl From<Precondition> for ApiError {
///     fn from(refused: Precondition) -> Self {
///         Self(refused)
///     }
/// }
///
/// impl IntoResponse for ApiError {
///     fn into_response(self) -> Response {
///         let body = Json(serde_json::json!({ "error": self.0.title(), "hint": self.0.detail() }));
///         self.0.respond_with(body)
///     }
/// }
///
/// #[etag(require_precondition, error = ApiError)]
/// async fn delete_note() -> Result<axum::http::StatusCode, ApiError> {
///     Ok(axum::http::StatusCode::NO_CONTENT)
/// }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// # use tower::ServiceExt as _;
/// # let app: axum::Router = axum::Router::new().route("/", axum::routing::delete(delete_note));
/// # let res = app.oneshot(axum::http::Request::delete("/").body(axum::body::Body::empty()).unwrap()).await.unwrap();
/// # assert_eq!(res.status(), 428);
/// # assert_eq!(res.headers()["content-type"], "application/json");
/// # }
/// ```
///
/// # Hashing the body
///
/// `hash` works for any `IntoResponse`, `impl IntoResponse` included, when the value has
/// no version to make a tag from:
///
/// ```
/// use axum::response::{Html, IntoResponse};
/// use etag_runtime::etag;
///
/// #[etag(hash(limit = 1_048_576), cache_control = "no-cache")]
/// async fn home() -> impl IntoResponse {
///     Html("<h1>Welcome</h1>")
/// }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// # use tower::ServiceExt as _;
/// # let app = axum::Router::new().route("/", axum::routing::get(home));
/// # let res = app.oneshot(axum::http::Request::get("/").body(axum::body::Body::empty()).unwrap()).await.unwrap();
/// # assert_eq!(res.headers()["etag"], etag_runtime::ETag::digest(b"<h1>Welcome</h1>").to_string());
/// # assert_eq!(res.headers()["cache-control"], "no-cache");
/// # }
/// ```
///
/// # Per-user responses
///
/// A response that depends on who asks must not revalidate for anyone else. With
/// `per_user = caller`, where `caller` is the handler's argument that extracts the
/// principal:
///
/// - the principal's extractor runs first, before every other extractor, and its
///   rejection (a 401) is answered before any validator is computed;
/// - the tag goes out sealed for the principal with a keyed MAC (`"<tag>.<mac>"`, the key
///   being the [`principal::TagKey`](principal/struct.TagKey.html) in the router's state,
///   through `impl FromRef<AppState> for TagKey`; a handler that takes `State<S>` needs
///   `TagKey: FromRef<S>` for that `S`), so that it matches for that principal only and does not tell who
///   it is; the tags of `If-Match` and `If-None-Match` sealed for the principal are opened
///   before the handler's extractors run, and every other tag is dropped. Handlers and
///   their [`Conditions`](struct.Conditions.html) see the tags they made: user B sending
///   user A's tag gets a 200 on GET and a 412 on PUT;
/// - `Vary` names the principal's request fields, and `Cache-Control` starts with
///   `private` unless the handler set one (`cache_control = "no-cache"` gives
///   `private, no-cache`).
///
/// ```
/// use axum::extract::{FromRef, FromRequestParts, State};
/// use axum::http::{HeaderName, StatusCode, header, request::Parts};
/// use axum::{Json, Router, routing::get};
/// use etag_runtime::principal::{Principal, TagKey};
/// use etag_runtime::{Versioned, etag};
///
/// /// `Authorization: Bearer <name>` (a toy scheme).
/// struct Caller(String);
///
/// impl<S: Send + Sync> FromRequestParts<S> for Caller {
///     type Rejection = StatusCode;
///     async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, StatusCode> {
///         let value = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
///         let name = value.and_then(|v| v.strip_prefix("Bearer ")).ok_or(StatusCode::UNAUTHORIZED)?;
///         Ok(Caller(name.to_owned()))
///     }
/// }
///
/// impl Principal for Caller {
///     const VARY: &'static [HeaderName] = &[header::AUTHORIZATION];
///     fn id(&self) -> impl AsRef<[u8]> { self.0.clone() }
/// }
///
/// #[derive(serde::Serialize, Versioned)]
/// struct Inbox { unread: u32, #[version] version: i64 }
///
/// #[derive(Clone)]
/// struct App { key: TagKey }
///
/// impl FromRef<App> for TagKey {
///     fn from_ref(app: &App) -> TagKey { app.key.clone() }
/// }
///
/// #[etag(per_user = caller)]
/// async fn inbox(State(_app): State<App>, caller: Caller) -> Json<Inbox> {
///     Json(Inbox { unread: caller.0.len() as u32, version: 1 })
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// # use tower::ServiceExt as _;
/// let app = Router::new()
///     .route("/inbox", get(inbox))
///     .with_state(App { key: TagKey::new(b"a secret from the configuration") });
/// # let req = |who: &str, tag: Option<&str>| {
/// #     let mut r = axum::http::Request::get("/inbox").header("authorization", format!("Bearer {who}"));
/// #     if let Some(t) = tag { r = r.header("if-none-match", t); }
/// #     r.body(axum::body::Body::empty()).unwrap()
/// # };
/// // GET as ada                          -> 200, ETag: "1.<mac for ada>", private, Vary
/// // GET as ada with her tag             -> 304
/// // GET as bob with ada's tag           -> 200, his own tag
/// # let res = app.clone().oneshot(req("ada", None)).await.unwrap();
/// # let tag = res.headers()["etag"].to_str().unwrap().to_owned();
/// # assert!(tag.starts_with("\"1."));
/// # assert_eq!(res.headers()["cache-control"], "private");
/// # assert_eq!(res.headers()["vary"], "authorization");
/// # assert_eq!(app.clone().oneshot(req("ada", Some(&tag))).await.unwrap().status(), 304);
/// # assert_eq!(app.oneshot(req("bob", Some(&tag))).await.unwrap().status(), 200);
/// # }
/// ```
///
/// For routes without `#[etag]`, [`ETagLayer::per_user`](layer/struct.ETagLayer.html#method.per_user)
/// does the same in a layer.
///
/// # With `#[axum::debug_handler]`
///
/// Put `#[etag]` first (outermost): it hands `#[debug_handler]` the rewritten handler,
/// which is what the router calls, so its checks apply to every handler shape. The other
/// order does not compile: `#[debug_handler]` would check the handler as written, which
/// has one argument fewer than the one the router gets.
///
/// ```
/// # use axum::{Json, extract::Path};
/// # use etag_runtime::{Versioned, etag};
/// # #[derive(serde::Serialize, Versioned)]
/// # struct Product { #[version] version: i64 }
/// #[etag]
/// #[axum::debug_handler]
/// async fn get_product(Path(version): Path<i64>) -> Option<Json<Product>> {
///     Some(Json(Product { version }))
/// }
/// # let _: axum::Router = axum::Router::new().route("/{v}", axum::routing::get(get_product));
/// ```
///
/// # Equivalent code without the macro
///
/// ```
/// use axum::{Json, extract::Path};
/// use etag_runtime::{Conditions, Precondition, Versioned, WithValidators};
///
/// #[derive(serde::Serialize, Versioned)]
/// struct Product {
///     id: i64,
///     #[version]
///     version: i64,
/// }
///
/// // #[etag]
/// // async fn get_product(Path(id): Path<i64>) -> Json<Product> { ... }
/// async fn get_product(
///     conditions: Conditions,
///     Path(id): Path<i64>,
/// ) -> Result<WithValidators<Json<Product>>, Precondition> {
///     let product = Product { id, version: 3 };
///     let checked = conditions.check(product.validators())?;
///     Ok(checked.respond(Json(product)))
/// }
/// # let _: axum::Router = axum::Router::new().route("/{id}", axum::routing::get(get_product));
/// ```
///
/// The macro does the same before the value is serialized, and only for GET and HEAD; a
/// write's response carries the new state's validators. `require_precondition` is
/// `conditions.require_precondition()?` before any other extractor runs; `cache_control`
/// inserts the header into 2xx and 304 responses that lack it.
///
/// # Mistakes caught at compile time
///
/// A return type that cannot tell its validators before it is rendered is reported at the
/// return type, with a hint to derive `Versioned` or to use `#[etag(hash)]`:
///
/// ```compile_fail
/// # #![allow(dead_code)]
/// #[etag_runtime::etag]
/// async fn greeting() -> String {
///     "hello".to_owned()
/// }
/// ```
///
/// The handler must be an `async fn`, without a `self` receiver:
///
/// ```compile_fail
/// # #![allow(dead_code)]
/// # use axum::Json;
/// # #[derive(serde::Serialize, etag_runtime::Versioned)]
/// # struct Product { #[version] version: i64 }
/// #[etag_runtime::etag]
/// fn get_product() -> Json<Product> {
///     Json(Product { version: 1 })
/// }
/// ```
///
/// An extractor that reads the body (`Json`, `Form`, `String`, `Bytes`, ...) must be the
/// last argument:
///
/// ```compile_fail
/// # #![allow(dead_code)]
/// # use axum::{Json, extract::Path};
/// #[etag_runtime::etag]
/// async fn rename(Json(name): Json<String>, Path(id): Path<u64>) {}
/// ```
///
/// `per_user` names the argument that extracts the principal, bound to a plain name, and
/// its type must implement [`Principal`](principal/trait.Principal.html), which none of
/// axum's extractors do:
///
/// ```compile_fail
/// # #![allow(dead_code)]
/// # use axum::{Json, extract::State};
/// # #[derive(serde::Serialize, etag_runtime::Versioned)]
/// # struct Inbox { #[version] version: i64 }
/// #[etag_runtime::etag(per_user = user)]
/// async fn inbox(user: State<()>) -> Json<Inbox> {
///     Json(Inbox { version: 1 })
/// }
/// ```
///
/// The error type of a `Result` must be a response (`IntoResponse`), as in any axum
/// handler; the message is at the error type and names the fix, an error type of the
/// application's with `impl IntoResponse` and `From`:
///
/// ```compile_fail
/// # #![allow(dead_code)]
/// # use axum::Json;
/// # #[derive(serde::Serialize, etag_runtime::Versioned)]
/// # struct Note { #[version] version: i64 }
/// struct DbError;
///
/// #[etag_runtime::etag]
/// async fn note() -> Result<Json<Note>, DbError> {
///     Err(DbError)
/// }
/// ```
///
/// Unknown and repeated arguments are errors that list the valid ones:
///
/// ```compile_fail
/// # #![allow(dead_code)]
/// # use axum::Json;
/// # #[derive(serde::Serialize, etag_runtime::Versioned)]
/// # struct Product { #[version] version: i64 }
/// #[etag_runtime::etag(strong)]
/// async fn get_product() -> Json<Product> {
///     Json(Product { version: 1 })
/// }
/// ```
///
/// On a mistake the macro reports itself (all of the above but the types), a handler of the
/// same name is still emitted, one that axum accepts, so only the mistake is reported, not
/// the route that names the handler.
///
/// # Errors you may see that rustc words
///
/// Some mistakes are found by the compiler after the macro has run, where the macro cannot
/// choose the words; this is each message as rustc prints it, what it means, and the fix:
///
/// - **`error[E0061]: this function takes 2 arguments but 1 argument was supplied`**, at the
///   handler's name, with ``argument #2 of type `axum::extract::Path<u32>` is missing`` at
///   `#[debug_handler]` and a `help: provide the argument` that names
///   `etag_runtime::handler::Context<etag_runtime::handler::Optional>` (the numbers are the
///   handler's argument count plus one, and that count): `#[axum::debug_handler]` is above
///   `#[etag]`. It expands first and checks the handler as written, calling it with the
///   arguments it was written with, while `#[etag]` then gives it its context as a first
///   argument; the macro cannot see an attribute that has already run. Put `#[etag]` above
///   `#[debug_handler]` (see "With `#[axum::debug_handler]`").
/// - **``error[E0277]: the trait bound `fn(UserContext<Optional, ..., ...>) -> ... {inbox}:
///   Handler<_, _>` is not satisfied``** (the types in it vary with the handler's
///   arguments and the router's state, such as ``fn(UserContext<..., ..., ...>, ...) -> ...
///   {inbox}: Handler<..., ...>``; rustc shortens them, and the full ones name
///   `etag_runtime::handler::UserContext`), at the route (`get(inbox)`) of a `per_user`
///   handler, with ``= note: Consider using `#[axum::debug_handler]` to improve the error
///   message``: the handler's first extractor cannot run, and the macro's own message comes
///   first, at the handler, saying why:
///   - `` `Caller` does not say which principal a request is from ``: implement
///     [`Principal`](principal/trait.Principal.html) for the argument's type;
///   - `` `per_user` seals tags with the `TagKey` of the router's state, and `AppState` gives none ``:
///     add `impl FromRef<AppState> for TagKey` (axum's `FromRef`), returning the key kept
///     in the state. A handler without a `State<_>` argument gets the `Handler` error
///     alone for this: the router's state is not known where the handler is written.
///
///   The route's error goes away with the fix of the first one.
#[proc_macro_attribute]
pub fn etag(args: TokenStream, item: TokenStream) -> TokenStream {
    etag::expand(args.into(), item.into()).into()
}

/// Implements [`Versioned`](trait.Versioned.html) for a struct from the field its version
/// is stored in, so that `#[etag]` handlers returning it (in `Json`, in a `Vec`, ...) get
/// their `ETag` and `Last-Modified`.
///
/// ```
/// use std::time::SystemTime;
///
/// use etag_runtime::Versioned;
///
/// #[derive(serde::Serialize, Versioned)]
/// struct Product {
///     id: i64,
///     name: String,
///     #[version]
///     version: i64,
///     #[last_modified]
///     updated_at: SystemTime,
/// }
///
/// let product = Product {
///     id: 1,
///     name: "Wireless Mouse".into(),
///     version: 3,
///     updated_at: SystemTime::UNIX_EPOCH,
/// };
/// assert_eq!(product.etag().to_string(), "\"3\"");
/// assert_eq!(product.last_modified(), Some(SystemTime::UNIX_EPOCH));
/// ```
///
/// # Attributes
///
/// - `#[version]`, on exactly one field: the ETag is made from it. Its type is an integer,
///   a `String`, a `SystemTime`, or with a feature of the runtime a `uuid::Uuid` (`uuid`),
///   `chrono::DateTime<Utc>` or `chrono::NaiveDateTime` (`chrono`), `time::OffsetDateTime`
///   or `time::PrimitiveDateTime` (`time`) or `jiff::Timestamp` (`jiff`): anything that
///   implements [`VersionValue`](version/trait.VersionValue.html). It must change on every
///   write and never repeat for one URL (see [`Versioned`](trait.Versioned.html)). A
///   timestamp version also gives `Last-Modified`, unless a `#[last_modified]` field does.
/// - `#[last_modified]`, on at most one field: `Last-Modified` comes from it. Its type is
///   a timestamp type as above (naive ones are read as UTC), or an `Option` of one for a
///   nullable column, `None` giving no `Last-Modified` (see
///   [`TimestampValue`](version/trait.TimestampValue.html)).
/// - `#[versioned(weak)]` on the struct: the ETag is weak (`W/"3"`), for representations
///   that are equivalent rather than byte-identical across versions of the encoding.
/// - `#[versioned(crate = "path")]` on the struct: the path the runtime is reachable at,
///   when it is renamed or re-exported (default: `::etag_runtime`).
/// - `#[versioned(group = "product")]` on the struct and `#[group_key]` on the field that
///   keys it (any `Display` type): the value's cache group (RFC 9875) is `product/<key>`,
///   and a list of them belongs to `product` too (see the runtime's `groups` module).
///
/// ```
/// use etag_runtime::Versioned;
/// use etag_runtime::groups::CacheGroups;
///
/// #[derive(Versioned)]
/// #[versioned(group = "product")]
/// struct Product {
///     #[group_key]
///     id: i64,
///     #[version]
///     version: i64,
/// }
///
/// let groups = CacheGroups::of(&Product { id: 17, version: 2 });
/// assert_eq!(groups.iter().collect::<Vec<_>>(), ["product/17"]);
/// ```
///
/// Tuple structs and generics work the same way. No bounds are added to the generated
/// impl: a generic field type carries its own bound, as in the `where` clause here.
///
/// ```
/// use etag_runtime::Versioned;
/// use etag_runtime::version::VersionValue;
///
/// #[derive(Versioned)]
/// #[versioned(weak)]
/// struct Revision<T, V>(T, #[version] V)
/// where
///     V: VersionValue;
///
/// assert_eq!(Revision("body", 7_u32).etag().to_string(), "W/\"7\"");
/// ```
///
/// # Equivalent code without the macro
///
/// ```
/// use std::time::SystemTime;
///
/// use etag_runtime::version::TimestampValue;
/// use etag_runtime::{ETag, Versioned};
///
/// struct Product {
///     version: i64,
///     updated_at: SystemTime,
/// }
///
/// impl Versioned for Product {
///     fn etag(&self) -> ETag {
///         ETag::from_version(&self.version) // `.into_weak()` with `#[versioned(weak)]`
///     }
///     fn last_modified(&self) -> Option<SystemTime> {
///         self.updated_at.timestamp()
///     }
/// }
/// # let p = Product { version: 1, updated_at: SystemTime::UNIX_EPOCH };
/// # assert_eq!(p.last_modified(), Some(SystemTime::UNIX_EPOCH));
/// ```
///
/// # Mistakes caught at compile time
///
/// A struct without a `#[version]` field:
///
/// ```compile_fail
/// # #![allow(dead_code)]
/// #[derive(etag_runtime::Versioned)]
/// struct Product {
///     id: i64,
/// }
/// ```
///
/// Two `#[version]` fields (likewise two `#[last_modified]` fields):
///
/// ```compile_fail
/// # #![allow(dead_code)]
/// #[derive(etag_runtime::Versioned)]
/// struct Product {
///     #[version]
///     version: i64,
///     #[version]
///     revision: i64,
/// }
/// ```
///
/// A version type the runtime does not accept, reported at the field's type:
///
/// ```compile_fail
/// # #![allow(dead_code)]
/// #[derive(etag_runtime::Versioned)]
/// struct Reading {
///     #[version]
///     value: f64,
/// }
/// ```
///
/// An enum or a union: implement [`Versioned`](trait.Versioned.html) by hand.
///
/// ```compile_fail
/// # #![allow(dead_code)]
/// #[derive(etag_runtime::Versioned)]
/// enum Status {
///     Draft,
///     Published,
/// }
/// ```
///
/// On any of these, a placeholder impl is still emitted next to the error, so that code
/// using the type as `Versioned` is not reported too.
#[proc_macro_derive(Versioned, attributes(version, last_modified, versioned, group_key))]
pub fn derive_versioned(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    versioned::derive(&input).into()
}

//! Correct ETags and conditional requests for axum: RFC 9110 section 13, one line per handler.
//!
//! - A client that revalidates gets `304 Not Modified` and no body, decided before the
//!   response is serialized (or, with [`Conditions::check`], before the database is read).
//! - A write sent with a stale ETag never overwrites a newer one, and one whose
//!   preconditions hold is never refused because another writer got in between:
//!   [`Conditions::write`] decides against the state it writes over, with the guard its
//!   statement must check, and [`Conditions::read`] sends a body with its own validators.
//!
//! # Quick start
//!
//! ```
//! use axum::{Json, Router, extract::Path, routing::get};
//! use etag_runtime::{Versioned, etag};
//! use serde::Serialize;
//!
//! #[derive(Serialize, Versioned)]
//! struct Product {
//!     id: i64,
//!     name: String,
//!     #[version]
//!     version: i64,
//! }
//!
//! #[etag]
//! async fn get_product(Path(id): Path<i64>) -> Json<Product> {
//!     Json(Product { id, name: "Wireless Mouse".into(), version: 3 })
//! }
//!
//! let app: Router = Router::new().route("/products/{id}", get(get_product));
//! # let _ = app;
//! ```
//!
//! `GET /products/1` answers 200 with `ETag: "3"`; with `If-None-Match: "3"` it answers 304
//! without serializing the product. See [`macro@etag`] for writes, `428`, body hashing and
//! the other options, and [`derive@Versioned`] for the model side.
//!
//! # Without the macros
//!
//! The engine is usable on its own: take [`Conditions`] as an extractor (it never rejects),
//! compute the resource's [`Validators`], and let [`Conditions::check`] answer 304 or 412
//! before doing the expensive work.
//!
//! ```
//! use axum::{Router, extract::Path, response::Response, routing::get};
//! use etag_runtime::{Conditions, ETag, Validators, WithValidators};
//! use std::time::SystemTime;
//!
//! async fn report(Path(id): Path<u64>, conditions: Conditions) -> Result<WithValidators<String>, Response> {
//!     // Cheap: the version and the modification time only.
//!     let current = Validators::new()
//!         .with_etag(ETag::from_version(&id))
//!         .with_last_modified(SystemTime::UNIX_EPOCH);
//!     let checked = conditions.check(current)?; // 304 or 412 right here
//!     // Expensive: only when the client's copy is stale.
//!     Ok(checked.respond(format!("report {id}")))
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use tower::ServiceExt;
//! let app = Router::new().route("/reports/{id}", get(report));
//! let req = http::Request::get("/reports/7").header("if-none-match", "\"7\"").body(axum::body::Body::empty()).unwrap();
//! assert_eq!(app.oneshot(req).await.unwrap().status(), 304);
//! # }
//! ```
//!
//! # What is where
//!
//! The crate root holds what an application names: the two macros, [`ETag`],
//! [`Versioned`], [`Validators`], [`Conditions`] and what its checks return ([`Checked`],
//! [`Proceed`], [`Precondition`]), and [`WithValidators`]. The modules hold the
//! rest: [`header`] (entity-tag lists and HTTP dates), [`version`] (the field types a
//! version or a timestamp can have), [`response`] (the return types `#[etag]` knows),
//! [`layer`] (tower layers: body-hash tags for routes without a model, a tag per
//! content-coding behind a compressor, and cache groups for CDNs and purge hooks),
//! [`groups`] (the cache groups of RFC 9875), [`cors`] (the header fields a page on
//! another origin must be allowed to read and send), [`principal`] (tags of per-user
//! responses) and,
//! with the `utoipa` feature, `openapi` (what each handler answers, in an OpenAPI document),
//! with the `wait` feature, `wait` (a conditional GET held until its resource changes).
//!
//! Every 304, 412 and 428 the crate decides is logged as a `tracing` event at debug level,
//! with the method, the status, the header field that decided and the tag it was compared
//! with: `RUST_LOG=etag_runtime=debug` shows them, once the application installs a
//! subscriber that reads it (for example `tracing_subscriber::fmt().with_env_filter(
//! tracing_subscriber::EnvFilter::from_default_env()).init()`; without one, `tracing`
//! events go nowhere).
//!
//! # Features
//!
//! `uuid`, `chrono`, `time` and `jiff` add their types as version and timestamp field
//! types: `uuid::Uuid`; `chrono::DateTime<Utc>` and `chrono::NaiveDateTime`;
//! `time::OffsetDateTime` and `time::PrimitiveDateTime`; `jiff::Timestamp`. `utoipa` adds
//! `openapi::ConditionalRequests`, which documents every `#[etag]` handler's validators,
//! conditional request headers and 304, 412 and 428 in a utoipa OpenAPI document.
//! `compression` adds `layer::Compression`: tower-http's `CompressionLayer` (gzip and br)
//! with the layer that gives each coding its own tag, as one layer. `wait` adds `wait` and
//! `layer::WaitLayer`: a GET with a matching `If-None-Match` and `Prefer: wait=N` held
//! until its resource changes (it brings tokio's `sync` and `time`). `fs` adds
//! `response::File`. None is on by default.
#![doc(test(attr(deny(warnings))))]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod collection;
mod conditions;
mod date;
mod etag;
#[cfg(feature = "fs")]
mod file;
mod hash;
mod list;
mod not_modified;
mod outcome;
mod precondition;
mod range;
mod read;
mod validators;
mod vary;
mod versioned;

pub mod cors;
pub mod groups;
pub mod layer;
#[cfg(feature = "utoipa")]
#[cfg_attr(docsrs, doc(cfg(feature = "utoipa")))]
pub mod openapi;
pub mod principal;
pub mod response;
pub mod version;
#[cfg(feature = "wait")]
#[cfg_attr(docsrs, doc(cfg(feature = "wait")))]
pub mod wait;
pub mod write;

/// The conditional header fields as values: entity-tag lists and HTTP dates.
pub mod header {
    pub use crate::date::{format_http_date, parse_http_date};
    pub use crate::etag::InvalidETag;
    pub use crate::list::TagList;
}

/// Not public API: the extractors and configuration of the code `#[etag]` generates,
/// under a name compiler messages can show.
#[doc(hidden)]
pub mod handler;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use conditions::Conditions;
pub use etag::ETag;
pub use outcome::{Checked, Proceed};
pub use precondition::Precondition;
pub use validators::{Validators, WithValidators};
pub use versioned::Versioned;

#[doc(inline)]
pub use etag_macros::{Versioned, etag};

/// The README's examples, compiled as doc tests so that they cannot rot (they use the
/// `chrono` feature, as the README's install section does, and its OpenAPI section the
/// `utoipa` feature, its compression section the `compression` feature).
#[cfg(all(
    doctest,
    feature = "chrono",
    feature = "utoipa",
    feature = "compression"
))]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;

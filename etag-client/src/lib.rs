//! A [`reqwest`] client that keeps the promises of HTTP validators (RFC 9110 section 13,
//! RFC 9111) for its caller.
//!
//! - **Revalidation.** [`Client::get`] stores responses that carry an `ETag` or a
//!   `Last-Modified` (bounded in entries and in bytes, least recently used out), sends
//!   `If-None-Match`/`If-Modified-Since` with the next request, and on `304 Not Modified`
//!   returns the stored body with the 304's updated header fields. What may be stored and
//!   reused (`no-store`, `private`, `max-age`, `Vary`) is decided by
//!   [`http-cache-semantics`](https://docs.rs/http-cache-semantics), as a private cache.
//! - **Writes without lost updates.** [`Client::update`] reads, applies a change and writes
//!   with `If-Match`; on `412 Precondition Failed` it reads again and re-applies the change,
//!   a bounded number of times, with random exponential pauses, within a deadline.
//!   [`Client::create`] writes with `If-None-Match: *` and says whether the resource already
//!   existed. A write's answer, with its new `ETag`, becomes the stored copy.
//! - **Waiting for a change.** [`Client::watch`] is a stream of a resource's versions: the
//!   current one, then each new one as soon as the server has it. Each request names the
//!   version last seen in `If-None-Match` and asks the server to hold it until the
//!   resource changes (`Prefer: wait=60`, RFC 7240); a server that does not wait is polled,
//!   and lost connections and 5xx are asked again after random, growing pauses.
//! - **Typed errors.** A resource deleted in the meantime, a 428, a representation without
//!   a strong `ETag`: each is an [`Error`] variant, and an [`UpdateError`] also says which
//!   attempt failed and at which [`Step`].
//!
//! Bodies are JSON through `serde` ([`Response::json`], the values of `update` and
//! `create`) or bytes ([`Response::bytes`]).
//!
//! # Example
//!
//! Against a server like the workspace's example application (`/products/{id}` with
//! `ETag`, `Cache-Control: no-cache`, and `PUT` that requires `If-Match`):
//!
//! ```
//! # #[allow(dead_code)] mod common { include!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/common/mod.rs")); }
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let server = common::Products::start().await;
//! # let base = &server.base;
//! use etag_client::{Client, CreateOutcome, Source};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize)]
//! struct Product {
//!     name: String,
//!     price: f64,
//! }
//!
//! let client = Client::new(etag_client::reqwest::Client::new());
//! let url = format!("{base}/products/42");
//!
//! // Create it, unless it exists (If-None-Match: *).
//! let lamp = Product { name: "Desk Lamp".into(), price: 12.5 };
//! let outcome = client.create(&url, &lamp).send().await?;
//! assert!(matches!(outcome, CreateOutcome::Created(_)));
//!
//! // Read it: the create's answer is the stored copy, and the server confirms it (304).
//! let read = client.get(&url).send().await?;
//! assert_eq!(read.source(), Source::Revalidated);
//! assert_eq!(read.json::<Product>()?.name, "Desk Lamp");
//!
//! // Change it with If-Match; a concurrent change would be read and this one re-applied.
//! let written = client
//!     .update(&url, |mut lamp: Product| {
//!         lamp.price += 1.0;
//!         lamp
//!     })
//!     .send()
//!     .await?;
//! assert_eq!(written.json::<Product>()?.price, 13.5);
//! # Ok(())
//! # }
//! ```
//!
//! `examples/products.rs` in this crate's repository does the same against the example
//! application itself (`cargo run -p etag-client --example products`).
//!
//! # What it does not do
//!
//! - It stores one copy per URL: a request whose header fields named in the copy's `Vary`
//!   differ is sent without validators, and its answer replaces the copy.
//! - It does not retry a write whose answer did not arrive ([`Error::Http`] or
//!   [`Error::TimedOut`] at [`Step::Write`]): the write may have been applied, and the
//!   change would be applied twice.
//! - Requests it does not make itself (`POST`, `DELETE`, through your `reqwest::Client`) do
//!   not touch its store.
//! - A watch does not tell its caller that the server is unreachable: it asks again for
//!   as long as it is polled (wrap its `next` in a timeout to notice). It does not honour
//!   `Retry-After`.
//!
//! `reqwest` is re-exported, so that the client a [`Client`] is built on has the version it
//! needs; TLS is whatever `reqwest` features your crate turns on.

#![doc(test(attr(deny(warnings))))]

mod answer;
mod backoff;
mod builder;
mod client;
mod create;
mod error;
mod get;
mod response;
mod store;
mod update;
mod watch;

pub use builder::ClientBuilder;
pub use client::Client;
pub use create::{Create, CreateOutcome};
pub use error::{Error, Step, UpdateError};
pub use get::Get;
pub use response::{Response, Source};
pub use update::Update;
pub use watch::{Watch, WatchStream};

/// The HTTP client underneath, re-exported at the version this crate is built on.
///
/// ```
/// let http = etag_client::reqwest::Client::builder().no_proxy().build();
/// assert!(http.is_ok());
/// ```
pub use reqwest;

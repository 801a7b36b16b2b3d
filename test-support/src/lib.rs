//! What the workspace's tests and its benchmark command share, once: a [`Reply`] read to the
//! end, requests through an axum `Router` ([`router`], feature `router`) or over loopback
//! with reqwest ([`client`], feature `client`), the `products` example binary as a process
//! ([`products`]), and one blocking HTTP/1.1 exchange for callers without a runtime
//! ([`wire`]).
//!
//! Not published: a dev-dependency of the workspace's test crates (and a dependency of the
//! benchmark command).
//!
//! ```
//! use etag_test_support::Reply;
//!
//! let reply = Reply::new(304, http::HeaderMap::new(), String::new());
//! assert_eq!(reply.status, 304);
//! assert!(reply.header("etag").is_none());
//! ```

#[cfg(feature = "client")]
pub mod client;
pub mod products;
#[cfg(feature = "client")]
pub mod races;
mod reply;
#[cfg(feature = "router")]
pub mod router;
pub mod wire;

pub use reply::Reply;

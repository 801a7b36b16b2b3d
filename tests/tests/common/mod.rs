//! What the behaviour tests share: sending one request through a router (from
//! etag-test-support).

#![allow(dead_code, unreachable_pub, unused_imports)]

pub mod principal;

pub use etag_test_support::router::{fetch, send};

/// A response through a router, read to the end.
pub type Reply = etag_test_support::Reply<axum::body::Bytes>;

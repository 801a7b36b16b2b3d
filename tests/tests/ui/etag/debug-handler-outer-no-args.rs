// `#[debug_handler]` above `#[etag]` checks the handler by calling it with its original
// arguments. `#[etag]` keeps their number by wrapping the first one, but a handler without
// arguments has nothing to wrap and gains one: put `#[etag]` above `#[debug_handler]`.
use axum::Json;
use axum::debug_handler;
use etag_runtime::{Versioned, etag};

#[derive(serde::Serialize, Versioned)]
struct Config {
    #[version]
    version: i64,
}

#[debug_handler]
#[etag]
async fn config() -> Json<Config> {
    Json(Config { version: 1 })
}

fn main() {
    let _ = config;
}

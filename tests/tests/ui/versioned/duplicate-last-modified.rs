use std::time::SystemTime;

use etag_runtime::Versioned;

#[derive(Versioned)]
struct Product {
    #[version]
    version: i64,
    #[last_modified]
    created_at: SystemTime,
    #[last_modified]
    updated_at: SystemTime,
}

fn main() {}

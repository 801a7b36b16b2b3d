use etag_runtime::Versioned;

#[derive(Versioned)]
struct Product {
    #[version]
    version: i64,
    #[last_modified]
    updated_at: i64,
}

fn main() {}

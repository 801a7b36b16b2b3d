use etag_runtime::Versioned;

#[derive(Versioned)]
struct Product {
    #[version = "rev"]
    version: i64,
}

fn main() {}

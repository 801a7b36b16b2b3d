use etag_runtime::Versioned;

#[derive(Versioned)]
struct Product {
    #[version]
    version: i64,
    #[version]
    revision: i64,
}

fn main() {}

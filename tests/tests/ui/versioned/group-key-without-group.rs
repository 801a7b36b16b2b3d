use etag_runtime::Versioned;

#[derive(Versioned)]
struct Product {
    #[group_key]
    id: i64,
    #[version]
    version: i64,
}

fn main() {}

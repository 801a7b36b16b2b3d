use etag_runtime::Versioned;

#[derive(Versioned)]
#[versioned(group = "product")]
struct Product {
    id: i64,
    #[version]
    version: i64,
}

fn main() {}

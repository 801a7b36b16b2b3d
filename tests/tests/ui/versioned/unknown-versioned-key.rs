use etag_runtime::Versioned;

#[derive(Versioned)]
#[versioned(strong)]
struct Product {
    #[version]
    version: i64,
}

fn main() {}

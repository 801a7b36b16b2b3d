use etag_runtime::Versioned;

#[derive(Versioned)]
#[versioned(group = "shop/product")]
struct Product {
    #[group_key]
    id: i64,
    #[version]
    version: i64,
}

fn main() {}

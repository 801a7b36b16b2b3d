use etag_runtime::Versioned;

#[derive(Versioned)]
#[versioned(group = "product")]
struct Product {
    #[group_key]
    id: Vec<i64>,
    #[version]
    version: i64,
}

fn main() {}

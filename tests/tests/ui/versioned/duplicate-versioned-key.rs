use etag_runtime::Versioned;

#[derive(Versioned)]
#[versioned(weak)]
#[versioned(weak)]
struct Product {
    #[version]
    version: i64,
}

fn main() {}

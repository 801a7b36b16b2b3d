use etag_runtime::Versioned;

#[derive(Versioned)]
struct Product {
    #[version(weak)]
    version: i64,
}

fn main() {}

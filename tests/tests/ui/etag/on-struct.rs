use etag_runtime::etag;

#[etag]
struct Product {
    version: i64,
}

fn main() {
    let _ = Product { version: 1 };
}

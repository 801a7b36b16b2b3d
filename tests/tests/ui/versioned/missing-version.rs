use etag_runtime::Versioned;

#[derive(Versioned)]
struct Product {
    id: i64,
    name: String,
}

fn tag(product: &Product) -> etag_runtime::ETag {
    product.etag()
}

fn main() {
    let _ = tag;
}

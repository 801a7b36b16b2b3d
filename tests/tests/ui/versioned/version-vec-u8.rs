use etag_runtime::Versioned;

#[derive(Versioned)]
struct Blob {
    #[version]
    digest: Vec<u8>,
}

fn main() {}

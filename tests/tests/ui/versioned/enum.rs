use etag_runtime::Versioned;

#[derive(Versioned)]
enum Status {
    Draft,
    Published,
}

// The stub impl keeps this from failing too: one mistake, one error.
fn tag(status: &Status) -> etag_runtime::ETag {
    status.etag()
}

fn main() {
    let _ = tag;
}

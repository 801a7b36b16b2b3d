// A version type whose support is behind a feature of etag-runtime that is off: the note
// names the feature.
use etag_runtime::Versioned;

#[derive(Versioned)]
struct Upload {
    #[version]
    id: uuid::Uuid,
}

fn main() {}

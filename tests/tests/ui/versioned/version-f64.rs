use etag_runtime::Versioned;

#[derive(Versioned)]
struct Reading {
    #[version]
    value: f64,
}

fn main() {}

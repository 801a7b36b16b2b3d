use etag_runtime::Versioned;

#[derive(Versioned)]
union Bits {
    version: u64,
    raw: [u8; 8],
}

fn main() {}

use etag_runtime::etag;

#[etag]
async fn greeting() -> String {
    "hello".to_owned()
}

fn main() {
    let _ = greeting;
}

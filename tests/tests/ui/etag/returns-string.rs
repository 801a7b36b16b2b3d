use axum::Router;
use axum::routing::get;
use etag_runtime::etag;

#[etag]
async fn greeting() -> String {
    "hello".to_owned()
}

fn main() {
    let _: Router = Router::new().route("/", get(greeting));
}

// A list whose members are not `Versioned`: the message names the member type.
use axum::Json;
use axum::Router;
use axum::routing::get;
use etag_runtime::etag;

#[derive(serde::Serialize)]
struct Plain {
    name: String,
}

#[etag]
async fn plains() -> Json<Vec<Plain>> {
    Json(vec![])
}

fn main() {
    let _: Router = Router::new().route("/", get(plains));
}

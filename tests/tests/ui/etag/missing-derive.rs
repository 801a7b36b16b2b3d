// A model without `#[derive(Versioned)]`: the message names the type and the fix.
use axum::Json;
use axum::Router;
use axum::routing::get;
use etag_runtime::etag;

#[derive(serde::Serialize)]
struct Plain {
    name: String,
}

#[etag]
async fn plain() -> Json<Plain> {
    Json(Plain { name: "x".into() })
}

fn main() {
    let _: Router = Router::new().route("/", get(plain));
}

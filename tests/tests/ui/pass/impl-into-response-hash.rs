use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use etag_runtime::etag;

#[etag(hash)]
async fn page() -> impl IntoResponse {
    "<h1>hello</h1>"
}

#[etag(hash)]
async fn maybe(axum::extract::Path(id): axum::extract::Path<u8>) -> Result<impl IntoResponse, StatusCode> {
    if id == 0 {
        return Err(StatusCode::NOT_FOUND);
    }
    Ok((StatusCode::OK, format!("item {id}")))
}

fn main() {
    let _: Router = Router::new().route("/", get(page)).route("/{id}", get(maybe));
}

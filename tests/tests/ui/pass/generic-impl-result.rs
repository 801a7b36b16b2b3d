//! `?` in a generic handler, and in an associated fn naming `Self`, that returns
//! `Result<impl IntoResponse, E>`: the error type still guides the conversion.
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use etag_runtime::etag;

fn parse(s: &str) -> Result<u32, StatusCode> {
    s.parse().map_err(|_| StatusCode::BAD_REQUEST)
}

#[etag(hash)]
async fn generic<S: Send + Sync + 'static>(Path(s): Path<String>) -> Result<impl IntoResponse, StatusCode> {
    let n = parse(&s)?;
    Ok(format!("{n}"))
}

struct Pages;

impl Pages {
    #[etag(hash)]
    async fn page(Path(s): Path<String>) -> Result<impl IntoResponse, StatusCode> {
        let n = parse(&s)?;
        Ok(Self::render(n))
    }

    fn render(n: u32) -> String {
        format!("page {n}")
    }
}

fn main() {
    let _: Router = Router::new()
        .route("/{s}", get(generic::<()>))
        .route("/page/{s}", get(Pages::page));
}

// `per_user` names an extractor of the application's that does not implement `Principal`:
// the message is at its type and says what to implement. axum's `Handler` error at the
// route follows (the handler's first extractor needs the `Principal`), as documented in
// "Errors you may see".
use axum::extract::FromRequestParts;
use axum::http::{StatusCode, request::Parts};
use axum::routing::get;
use axum::{Json, Router};
use etag_runtime::{Versioned, etag};

#[derive(serde::Serialize, Versioned)]
struct Inbox {
    #[version]
    version: i64,
}

struct Caller(String);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = StatusCode;
    async fn from_request_parts(_: &mut Parts, _: &S) -> Result<Self, StatusCode> {
        Ok(Caller(String::new()))
    }
}

#[etag(per_user = caller)]
async fn inbox(caller: Caller) -> Json<Inbox> {
    let _ = caller.0;
    Json(Inbox { version: 1 })
}

fn main() {
    let _: Router = Router::new().route("/inbox", get(inbox));
}

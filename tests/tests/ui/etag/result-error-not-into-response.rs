// `Result<_, E>` whose `E` is not a response, as `sqlx::Error` is not: the message names the
// error type, at the error type, and says how to make it one.
use axum::Json;
use axum::routing::get;
use axum::Router;
use etag_runtime::{Versioned, etag};

#[derive(serde::Serialize, Versioned)]
struct Note {
    #[version]
    version: i64,
}

/// A database error, which axum does not know how to answer.
#[derive(Debug)]
struct DbError;

#[etag]
async fn get_note() -> Result<Json<Note>, DbError> {
    Ok(Json(Note { version: 1 }))
}

fn main() {
    let _: Router = Router::new().route("/notes/1", get(get_note));
}

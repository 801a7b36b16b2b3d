use axum::Json;
use axum::extract::State;
use etag_runtime::{Versioned, etag};

#[derive(serde::Serialize, Versioned)]
struct Favorites {
    #[version]
    version: i64,
}

// `State` extracts, but says nothing about who is asking.
#[etag(per_user = user)]
async fn favorites(user: State<()>) -> Json<Favorites> {
    let _ = user;
    Json(Favorites { version: 1 })
}

fn main() {}

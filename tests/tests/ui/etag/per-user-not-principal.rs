// `per_user` names an axum extractor, which says nothing about who is asking: one error,
// at its type; the route that names the handler is not reported.
use axum::Json;
use axum::extract::{Extension, State};
use axum::routing::get;
use axum::Router;
use etag_runtime::{Versioned, etag};

#[derive(serde::Serialize, Versioned)]
struct Favorites {
    #[version]
    version: i64,
}

#[derive(Clone)]
struct User(String);

#[etag(per_user = user)]
async fn favorites(user: State<()>) -> Json<Favorites> {
    let _ = user;
    Json(Favorites { version: 1 })
}

// The user an authentication middleware put in the request's extensions.
#[etag(per_user = user)]
async fn inbox(user: Extension<User>) -> Json<Favorites> {
    let _ = user.0.0;
    Json(Favorites { version: 2 })
}

fn main() {
    let _: Router = Router::new()
        .route("/me/favorites", get(favorites))
        .route("/me/inbox", get(inbox));
}

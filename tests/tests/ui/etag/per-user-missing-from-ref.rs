// `per_user` seals tags with the `TagKey` in the router's state: a state without
// `impl FromRef<AppState> for TagKey` is named at the handler's `State<AppState>`, with the
// impl to add; axum's `Handler` error at the route follows. A handler that takes no
// `State<_>` gets that `Handler` error alone (documented in "Errors you may see").
use axum::extract::{FromRequestParts, State};
use axum::http::{HeaderName, StatusCode, header, request::Parts};
use axum::routing::get;
use axum::{Json, Router};
use etag_runtime::principal::{Principal, TagKey};
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

impl Principal for Caller {
    const VARY: &'static [HeaderName] = &[header::AUTHORIZATION];
    fn id(&self) -> impl AsRef<[u8]> {
        self.0.clone()
    }
}

#[derive(Clone)]
struct AppState {
    key: TagKey,
}

#[etag(per_user = caller)]
async fn inbox(State(app): State<AppState>, caller: Caller) -> Json<Inbox> {
    let _ = (app.key, caller.0);
    Json(Inbox { version: 1 })
}

#[etag(per_user = caller)]
async fn outbox(caller: Caller) -> Json<Inbox> {
    let _ = caller.0;
    Json(Inbox { version: 2 })
}

fn main() {
    let _: Router = Router::new()
        .route("/inbox", get(inbox))
        .route("/outbox", get(outbox))
        .with_state(AppState { key: TagKey::new(b"a key") });
}

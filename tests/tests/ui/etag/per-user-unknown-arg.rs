use axum::extract::FromRequestParts;
use axum::http::{HeaderName, StatusCode, header, request::Parts};
use axum::Json;
use etag_runtime::principal::Principal;
use etag_runtime::{Versioned, etag};

#[derive(serde::Serialize, Versioned)]
struct Favorites {
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

// `per_user` names the argument's binding, not its type.
#[etag(per_user = Caller)]
async fn favorites(caller: Caller) -> Json<Favorites> {
    let _ = caller;
    Json(Favorites { version: 1 })
}

fn main() {}

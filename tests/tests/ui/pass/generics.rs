use std::fmt::Display;
use std::marker::PhantomData;
use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use etag_runtime::version::VersionValue;
use etag_runtime::{Versioned, etag};
use serde::Serialize;

/// A generic model: the version field's type is a parameter, bounded by the user.
#[derive(Serialize, Versioned)]
struct Revision<T, V>
where
    V: VersionValue,
{
    body: T,
    #[version]
    rev: V,
}

/// A lifetime and a const parameter.
#[derive(Versioned)]
struct Borrowed<'a, const N: usize> {
    #[version]
    key: &'a str,
    _digits: [u8; N],
}

/// Generic handler: the state type is a parameter.
#[etag]
async fn current<S>(State(state): State<Arc<S>>) -> Json<Revision<String, u64>>
where
    S: Display + Send + Sync + 'static,
{
    Json(Revision { body: state.to_string(), rev: 1 })
}

struct Phantom<T>(PhantomData<T>);

fn main() {
    let _: Router = Router::new()
        .route("/", get(current::<String>))
        .with_state(Arc::new(String::from("x")));
    assert_eq!(Revision { body: (), rev: 4_u8 }.etag().to_string(), "\"4\"");
    assert_eq!(Borrowed::<2> { key: "k", _digits: [0; 2] }.etag().to_string(), "\"k\"");
    let _ = Phantom::<u8>(PhantomData);
}

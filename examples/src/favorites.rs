//! `GET` and `PUT /me/favorites`: each caller's own list of product ids, with per-user tags.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use etag_runtime::write::Guard;
use etag_runtime::{Conditions, etag};

use crate::auth::Caller;
use crate::model::Favorites;
use crate::problem::{ApiError, Problem, ProblemBody};
use crate::router::AppState;
use crate::store::{MAX_ID, MIN_ID};

/// The body of `PUT /me/favorites`: a JSON array of product ids, each at most once.
fn favorite_ids(ids: Vec<i64>) -> Result<Vec<i64>, Problem> {
    if ids.len() > Favorites::MAX_IDS {
        return Err(Problem::invalid(format!(
            "At most {} favourites.",
            Favorites::MAX_IDS
        )));
    }
    let mut seen = std::collections::HashSet::new();
    for &id in &ids {
        if !(MIN_ID..=MAX_ID).contains(&id) {
            return Err(Problem::invalid(format!(
                "{id} is not a product id: ids are integers from {MIN_ID} to {MAX_ID}."
            )));
        }
        if !seen.insert(id) {
            return Err(Problem::invalid(format!("{id} is listed twice.")));
        }
    }
    Ok(ids)
}

/// `GET /me/favorites`: the caller's favourite product ids. Its `ETag` is sealed for the
/// caller, it is `private` and varies on `Authorization`; the caller is known (or the
/// request refused with 401) before any validator is computed.
#[utoipa::path(
    get,
    path = "/me/favorites",
    tag = "favorites",
    responses(
        (status = 200, description = "The caller's favourite product ids.", body = Vec<i64>),
        (status = 401, description = "No valid `Authorization: Bearer <name>`.", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
#[etag(per_user = caller, cache_control = "no-cache", error = ApiError)]
pub(crate) async fn get_favorites(
    State(app): State<AppState>,
    caller: Caller,
) -> Result<Json<Favorites>, ApiError> {
    Ok(Json(app.store.favorites(&caller.name).await?))
}

/// `PUT /me/favorites` with a JSON array of product ids: replaces the caller's list if
/// `If-Match` names its current version (428 without a precondition; 412 with a stale
/// tag, or with a tag another caller got).
#[utoipa::path(
    put,
    path = "/me/favorites",
    tag = "favorites",
    request_body(content = Vec<i64>, description = "Product ids, each at most once."),
    responses(
        (status = 200, description = "The list as saved.", body = Vec<i64>),
        (status = 401, description = "No valid `Authorization: Bearer <name>`.", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "Not a list of product ids, or one listed twice.", body = ProblemBody, content_type = "application/problem+json"),
    )
)]
#[etag(per_user = caller, require_precondition, error = ApiError)]
pub(crate) async fn put_favorites(
    State(app): State<AppState>,
    caller: Caller,
    conditions: Conditions,
    body: Result<Json<Vec<i64>>, JsonRejection>,
) -> Result<Json<Favorites>, ApiError> {
    let ids = favorite_ids(body?.0)?;
    let (store, user, ids) = (&app.store, caller.name.as_str(), &ids);
    let saved = conditions
        .write(
            || async { Ok::<_, ApiError>(Some(store.favorites(user).await?)) },
            |guard| async move {
                // INSERT, or UPDATE ... WHERE version = $3: a list that does not exist yet
                // has version 0, and is created only if it still does not.
                let (Guard::Exists(current) | Guard::Unchanged(current)) = guard else {
                    return Ok(None);
                };
                Ok(store.set_favorites(user, current.version, ids).await?)
            },
        )
        .await?;
    Ok(Json(saved))
}

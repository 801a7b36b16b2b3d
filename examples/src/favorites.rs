//! `GET` and `PUT /me/favorites`: each caller's own list of product ids, with per-user tags.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use etag_runtime::write::Guard;
use etag_runtime::{Conditions, etag};
use serde_json::Number;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{
    ArrayBuilder, KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type,
};
use utoipa::{PartialSchema, ToSchema};

use crate::auth::Caller;
use crate::model::Favorites;
use crate::openapi::{JsonBodyRefusals, StoreFailures};
use crate::problem::{ApiError, Problem, ProblemBody};
use crate::router::AppState;
use crate::store::{MAX_ID, MIN_ID};

/// The schema of a favourites list, the body of `PUT /me/favorites` and of both answers:
/// at most [`Favorites::MAX_IDS`] product ids, each an integer from [`MIN_ID`] to
/// [`MAX_ID`] and listed once, as [`favorite_ids`] checks.
pub(crate) struct FavoriteIds;

impl PartialSchema for FavoriteIds {
    fn schema() -> RefOr<Schema> {
        let id = ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
            .minimum(Some(MIN_ID))
            .maximum(Some(MAX_ID));
        ArrayBuilder::new()
            .items(id)
            .max_items(Some(Favorites::MAX_IDS))
            .unique_items(true)
            .description(Some("Product ids, each at most once."))
            .into()
    }
}

impl ToSchema for FavoriteIds {}

/// The id a JSON number is, if it is an integer from [`MIN_ID`] to [`MAX_ID`] in any
/// spelling: JSON Schema's `integer` (which the document says) is a number whose fraction is
/// zero, so `3.0` and `3e0` are the id 3, as `3` is. Every id is exact in an `f64`.
fn product_id(number: &Number) -> Option<i64> {
    let id = match number.as_i64() {
        Some(id) => id,
        None => {
            let float = number.as_f64()?;
            let whole = float.fract() == 0.0 && float.abs() <= MAX_ID as f64;
            // Exact: a whole number below 2^53 in magnitude converts without rounding.
            #[allow(clippy::cast_possible_truncation)]
            whole.then_some(float as i64)?
        }
    };
    (MIN_ID..=MAX_ID).contains(&id).then_some(id)
}

/// The body of `PUT /me/favorites`: a JSON array of product ids, each at most once.
fn favorite_ids(numbers: Vec<Number>) -> Result<Vec<i64>, Problem> {
    if numbers.len() > Favorites::MAX_IDS {
        return Err(Problem::invalid(format!(
            "At most {} favourites.",
            Favorites::MAX_IDS
        )));
    }
    let mut seen = std::collections::HashSet::new();
    let mut ids = Vec::with_capacity(numbers.len());
    for number in &numbers {
        let Some(id) = product_id(number) else {
            return Err(Problem::invalid(format!(
                "{number} is not a product id: ids are integers from {MIN_ID} to {MAX_ID}."
            )));
        };
        ids.push(id);
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
        (status = 200, description = "The caller's favourite product ids.", body = FavoriteIds),
        (status = 401, description = "No valid `Authorization: Bearer <name>`.", body = ProblemBody, content_type = "application/problem+json"),
        StoreFailures,
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
    request_body(content = FavoriteIds, description = "Product ids, each at most once."),
    responses(
        (status = 200, description = "The list as saved.", body = FavoriteIds),
        (status = 401, description = "No valid `Authorization: Bearer <name>`.", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "Not a list of product ids, or one listed twice.", body = ProblemBody, content_type = "application/problem+json"),
        JsonBodyRefusals,
        StoreFailures,
    )
)]
#[etag(per_user = caller, require_precondition, error = ApiError)]
pub(crate) async fn put_favorites(
    State(app): State<AppState>,
    caller: Caller,
    conditions: Conditions,
    body: Result<Json<Vec<Number>>, JsonRejection>,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_an_integer_in_any_json_spelling() {
        let ids = |text: &str| favorite_ids(serde_json::from_str(text).unwrap());
        assert_eq!(
            ids("[1, 2.0, 3e0, 9007199254740991.0]").unwrap(),
            [1, 2, 3, MAX_ID]
        );
        for refused in [
            "[0]",
            "[1.5]",
            "[-1.0]",
            "[9007199254740992]",
            "[9007199254740992.0]",
            "[1e300]",
            "[1, 1.0]",
        ] {
            assert_eq!(ids(refused).unwrap_err().status, 422, "{refused}");
        }
    }
}

//! `GET /products.csv`: every product as one CSV body, for range requests and resumed
//! downloads.

use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use etag_runtime::{Conditions, Versioned, WithValidators, etag};

use crate::problem::{ApiError, Problem, ProblemBody};
use crate::router::AppState;

/// How many times the export reads the whole list again when a write lands while it reads.
const EXPORT_ATTEMPTS: usize = 3;

/// `GET /products.csv`: every product as CSV, a larger body for range requests and resumed
/// downloads (`Range`, `If-Range`). Its validators are the collection's, checked before any
/// row is read; the rows are read page by page, and read again if a write landed meanwhile,
/// so that the body is always the one state its validators name.
#[utoipa::path(
    get,
    path = "/products.csv",
    tag = "products",
    responses(
        (status = 200, description = "Every product, one CSV row each.", body = String, content_type = "text/csv"),
        (status = 500, description = "Internal Server Error: the database failed. Try again later.", body = ProblemBody, content_type = "application/problem+json"),
        (status = 503, description = "Service Unavailable: the products changed on every read, or the database is unavailable. Try again after `Retry-After`.", body = ProblemBody, content_type = "application/problem+json",
            headers(("Retry-After" = String, description = "Seconds to wait before trying again."))),
    )
)]
#[etag(cache_control = "no-cache", error = ApiError)]
pub(crate) async fn export_csv(
    State(app): State<AppState>,
    conditions: Conditions,
) -> Result<WithValidators<([(HeaderName, HeaderValue); 1], String)>, ApiError> {
    for _ in 0..EXPORT_ATTEMPTS {
        let state = app.store.collection_state().await?;
        let checked = conditions.check(state.validators())?;
        let mut csv = String::from("id,name,price,version,updated_at\r\n");
        let mut page = crate::model::PageRequest {
            after: 0,
            limit: crate::model::PageRequest::MAX_LIMIT,
        };
        loop {
            let (stamp, products) = app.store.list_page(page).await?;
            for p in &products {
                csv.push_str(&format!(
                    "{},\"{}\",{},{},{}\r\n",
                    p.id,
                    p.name.replace('"', "\"\""),
                    p.price,
                    p.version,
                    p.updated_at
                        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
                ));
            }
            match (stamp.next_after(), products.last()) {
                (Some(_), Some(last)) => page.after = last.id,
                _ => break,
            }
        }
        if app.store.collection_state().await? == state {
            let csv_type = HeaderValue::from_static("text/csv; charset=utf-8");
            return Ok(checked.respond(([(header::CONTENT_TYPE, csv_type)], csv)));
        }
    }
    Err(Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "The products changed on every read of the export; try again.",
    )
    .with_header(header::RETRY_AFTER, HeaderValue::from_static("1"))
    .into())
}

//! The notes service on PostgreSQL: the README's write and list snippet, verbatim below the
//! marker (a test compares the two), run under contention by `notes.rs`.
//!
//! Schema:
//!
//! ```sql
//! CREATE SEQUENCE note_versions;
//! CREATE TABLE notes (id BIGINT PRIMARY KEY, body TEXT NOT NULL, version BIGINT NOT NULL,
//!     request TEXT);
//! ```

#![allow(unreachable_pub)]

// ---- README ----
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use etag_runtime::write::Guard;
use etag_runtime::{Conditions, ETag, Precondition, Validators, Versioned, WithValidators, etag};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

#[derive(Clone, Debug, PartialEq, Serialize, Versioned)]
struct Note {
    id: i64,
    body: String,
    /// From one sequence for every note: a version never repeats, not even for a note
    /// deleted and created again.
    #[version]
    version: i64,
    /// The `Idempotency-Key` of the write that made this version, if it had one.
    #[serde(skip)]
    request: Option<String>,
}

#[derive(Deserialize)]
struct NoteInput {
    body: String,
}

/// The row as read; `version` is the guard's when it asks for one.
const READ: &str = "SELECT id, body, version, request FROM notes WHERE id = $1";
const VERSION: &str = "SELECT version FROM notes WHERE id = $1";
/// `$3`: the version the note must still be at, or NULL when it need only exist.
const UPDATE: &str = "UPDATE notes SET body = $2, request = $4, version = nextval('note_versions')
     WHERE id = $1 AND ($3::BIGINT IS NULL OR version = $3)
     RETURNING id, body, version, request";
/// Create-only: nothing when the note exists.
const CREATE: &str = "INSERT INTO notes (id, body, request, version)
     VALUES ($1, $2, $3, nextval('note_versions'))
     ON CONFLICT (id) DO NOTHING
     RETURNING id, body, version, request";
const DELETE: &str = "DELETE FROM notes WHERE id = $1 AND ($2::BIGINT IS NULL OR version = $2)";
/// The list's validators in one row: the id and version of every note, in order, which
/// name its content. (Not the count and the newest version: a sequence's values are
/// handed out in one order and committed in another, so the list can change while both
/// stay the same.)
const LIST_STAMP: &str =
    "SELECT COALESCE(string_agg(id || '.' || version, ',' ORDER BY id), '') FROM notes";
const LIST: &str = "SELECT id, body, version, request FROM notes ORDER BY id";

type Row = (i64, String, i64, Option<String>);

fn note((id, body, version, request): Row) -> Note {
    Note {
        id,
        body,
        version,
        request,
    }
}

/// The list's validators, from its ids and versions as `LIST_STAMP` writes them.
fn list_validators(stamp: &str) -> Validators {
    Validators::new().with_etag(ETag::digest(stamp.as_bytes()))
}

enum AppError {
    Database(sqlx::Error),
    Refused(Precondition),
    NotFound,
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        Self::Database(e)
    }
}

impl From<Precondition> for AppError {
    fn from(refused: Precondition) -> Self {
        Self::Refused(refused)
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            Self::Refused(refused) => refused.into_response(),
            Self::NotFound => StatusCode::NOT_FOUND.into_response(),
            Self::Database(e) => {
                eprintln!("database: {e}");
                StatusCode::SERVICE_UNAVAILABLE.into_response()
            }
        }
    }
}

/// 304 or 412 from the version alone; the row is read only for a 200, which carries the
/// validators of the row it sends.
#[etag]
async fn get_note(
    State(db): State<PgPool>,
    Path(id): Path<i64>,
    conditions: Conditions,
) -> Result<WithValidators<Json<Note>>, AppError> {
    let db = &db;
    conditions
        .read(
            async {
                let version: Option<i64> = sqlx::query_scalar(VERSION)
                    .bind(id)
                    .fetch_optional(db)
                    .await?;
                let version = version.ok_or(AppError::NotFound)?;
                Ok::<_, AppError>(Validators::new().with_etag(ETag::from_version(&version)))
            },
            || async {
                let row: Option<Row> = sqlx::query_as(READ).bind(id).fetch_optional(db).await?;
                Ok(Json(note(row.ok_or(AppError::NotFound)?)))
            },
        )
        .await
}

/// `If-Match` (a tag, a list, or `*`) or `If-None-Match: *` to create; 428 without.
/// A retry whose first answer was lost, sent with the same `Idempotency-Key`, finds its
/// own write there: 200, not 412. (Not "the body is already what I send": two clients
/// that add one to the same count send the same body, and one increment would be lost.)
#[etag(require_precondition)]
async fn put_note(
    State(db): State<PgPool>,
    Path(id): Path<i64>,
    conditions: Conditions,
    headers: HeaderMap,
    Json(input): Json<NoteInput>,
) -> Result<(StatusCode, Json<Note>), AppError> {
    let key = headers.get("idempotency-key").and_then(|k| k.to_str().ok());
    let (db, body) = (&db, input.body.as_str());
    let (status, saved) = conditions
        .idempotent(|current: Option<Note>| {
            current
                .filter(|n| key.is_some() && n.request.as_deref() == key)
                .map(|n| (StatusCode::OK, n))
        })
        .write(
            || async {
                let row: Option<Row> = sqlx::query_as(READ).bind(id).fetch_optional(db).await?;
                Ok::<_, AppError>(row.map(note))
            },
            |guard| async move {
                let (status, query) = match guard {
                    Guard::Absent => (
                        StatusCode::CREATED,
                        sqlx::query_as(CREATE).bind(id).bind(body).bind(key),
                    ),
                    guard => {
                        let expected = guard.expected().map(|n| n.version);
                        let query = sqlx::query_as(UPDATE).bind(id).bind(body).bind(expected);
                        let query = query.bind(key);
                        (StatusCode::OK, query)
                    }
                };
                let row: Option<Row> = query.fetch_optional(db).await?;
                Ok(row.map(|row| (status, note(row))))
            },
        )
        .await?;
    Ok((status, Json(saved)))
}

/// A missing note is a 404 whatever the preconditions (RFC 9110 section 13.2.1).
#[etag(require_precondition)]
async fn delete_note(
    State(db): State<PgPool>,
    Path(id): Path<i64>,
    conditions: Conditions,
) -> Result<StatusCode, AppError> {
    let db = &db;
    conditions
        .write(
            || async {
                let row: Option<Row> = sqlx::query_as(READ).bind(id).fetch_optional(db).await?;
                Ok::<_, AppError>(Some(note(row.ok_or(AppError::NotFound)?)))
            },
            |guard| async move {
                let expected = guard.expected().map(|n| n.version);
                let done = sqlx::query(DELETE)
                    .bind(id)
                    .bind(expected)
                    .execute(db)
                    .await?;
                Ok((done.rows_affected() == 1).then_some(()))
            },
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The list: 304 from one row of validators; the rows only for a 200, which carries the
/// validators computed from the rows it sends.
#[etag]
async fn list_notes(
    State(db): State<PgPool>,
    conditions: Conditions,
) -> Result<WithValidators<Json<Vec<Note>>>, AppError> {
    let db = &db;
    conditions
        .read(
            async {
                let stamp: String = sqlx::query_scalar(LIST_STAMP).fetch_one(db).await?;
                Ok::<_, AppError>(list_validators(&stamp))
            },
            || async {
                let rows: Vec<Row> = sqlx::query_as(LIST).fetch_all(db).await?;
                let stamp: Vec<String> = rows.iter().map(|r| format!("{}.{}", r.0, r.2)).collect();
                let validators = list_validators(&stamp.join(","));
                Ok((validators, Json(rows.into_iter().map(note).collect())))
            },
        )
        .await
}

pub fn app(db: PgPool) -> Router {
    Router::new()
        .route("/notes", get(list_notes))
        .route(
            "/notes/{id}",
            get(get_note).put(put_note).delete(delete_note),
        )
        .with_state(db)
}

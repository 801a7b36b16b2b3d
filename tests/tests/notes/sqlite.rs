//! The notes service on SQLite: the same handlers as the README's PostgreSQL ones, with
//! SQLite's statements.
//!
//! Schema:
//!
//! ```sql
//! CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL, version INTEGER NOT NULL,
//!     request TEXT);
//! CREATE TABLE note_versions (last INTEGER NOT NULL);
//! INSERT INTO note_versions VALUES (0);
//! CREATE TRIGGER note_created AFTER INSERT ON notes
//!     BEGIN UPDATE note_versions SET last = NEW.version; END;
//! CREATE TRIGGER note_changed AFTER UPDATE ON notes
//!     BEGIN UPDATE note_versions SET last = NEW.version; END;
//! ```

#![allow(unreachable_pub)]

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use etag_runtime::write::Guard;
use etag_runtime::{Conditions, ETag, Precondition, Validators, Versioned, WithValidators, etag};
use serde::{Deserialize, Serialize};
use sqlx::SqlitePool;

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
/// `$3`: the version the note must still be at, or NULL when it need only exist. SQLite
/// has no sequence: the next version is one above the highest ever given, which a trigger
/// keeps in `note_versions` (SQLite runs one write at a time).
const UPDATE: &str =
    "UPDATE notes SET body = $2, request = $4, version = (SELECT last + 1 FROM note_versions)
     WHERE id = $1 AND ($3 IS NULL OR version = $3)
     RETURNING id, body, version, request";
/// Create-only: nothing when the note exists.
const CREATE: &str = "INSERT INTO notes (id, body, request, version)
     VALUES ($1, $2, $3, (SELECT last + 1 FROM note_versions))
     ON CONFLICT (id) DO NOTHING
     RETURNING id, body, version, request";
const DELETE: &str = "DELETE FROM notes WHERE id = $1 AND ($2 IS NULL OR version = $2)";
/// The list's validators in one row: the count and the newest version change whenever a
/// note is created, changed or deleted, because versions come from one counter that each
/// write holds until it commits, so they commit in the order they are given.
const LIST_STAMP: &str = "SELECT COUNT(*), COALESCE(MAX(version), 0) FROM notes";
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

/// The list's validators, from its count and newest version.
fn list_validators(count: i64, newest: i64) -> Validators {
    Validators::new().with_etag(ETag::from_version(&format!("{count}.{newest}")))
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
    State(db): State<SqlitePool>,
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
    State(db): State<SqlitePool>,
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
    State(db): State<SqlitePool>,
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
    State(db): State<SqlitePool>,
    conditions: Conditions,
) -> Result<WithValidators<Json<Vec<Note>>>, AppError> {
    let db = &db;
    conditions
        .read(
            async {
                let (count, newest): (i64, i64) = sqlx::query_as(LIST_STAMP).fetch_one(db).await?;
                Ok::<_, AppError>(list_validators(count, newest))
            },
            || async {
                let rows: Vec<Row> = sqlx::query_as(LIST).fetch_all(db).await?;
                let newest = rows.iter().map(|r| r.2).max().unwrap_or(0);
                let validators = list_validators(rows.len() as i64, newest);
                Ok((validators, Json(rows.into_iter().map(note).collect())))
            },
        )
        .await
}

pub fn app(db: SqlitePool) -> Router {
    Router::new()
        .route("/notes", get(list_notes))
        .route(
            "/notes/{id}",
            get(get_note).put(put_note).delete(delete_note),
        )
        .with_state(db)
}

//! The notes service on MySQL and MariaDB: the same handlers as the README's PostgreSQL
//! ones, with MySQL's statements, which have no `RETURNING` on `UPDATE`.
//!
//! Schema:
//!
//! ```sql
//! CREATE TABLE notes (id BIGINT PRIMARY KEY, body TEXT NOT NULL, version BIGINT NOT NULL,
//!     request TEXT);
//! CREATE TABLE note_versions (last BIGINT NOT NULL);
//! INSERT INTO note_versions VALUES (0);
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
use sqlx::MySqlPool;

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

/// The row as read, also inside the write's transaction (which sees its own write).
const READ: &str = "SELECT id, body, version, request FROM notes WHERE id = ?";
const VERSION: &str = "SELECT version FROM notes WHERE id = ?";
/// The next version, for this connection's `LAST_INSERT_ID()`: MySQL has no sequence
/// (MariaDB has, MySQL not), and the row lock orders writers. Rolled back with the write
/// when the write changes nothing.
const NEXT_VERSION: &str = "UPDATE note_versions SET last = LAST_INSERT_ID(last + 1)";
/// No `UPDATE ... RETURNING` in MySQL or MariaDB: the statement says how many rows it
/// changed (every matched row changes, as its version does), and the row is read back in
/// the same transaction. The expected version is bound twice: NULL when the note need
/// only exist.
const UPDATE: &str = "UPDATE notes SET body = ?, request = ?, version = LAST_INSERT_ID()
     WHERE id = ? AND (? IS NULL OR version = ?)";
/// Create-only: a duplicate id is a unique violation, which the write takes as "exists".
/// (Not `ON DUPLICATE KEY UPDATE id = id`: sqlx connects with `CLIENT_FOUND_ROWS`, under
/// which that counts the existing row as changed; not `INSERT IGNORE`, which ignores
/// other errors too.)
const CREATE: &str =
    "INSERT INTO notes (id, body, request, version) VALUES (?, ?, ?, LAST_INSERT_ID())";
const DELETE: &str = "DELETE FROM notes WHERE id = ? AND (? IS NULL OR version = ?)";
/// The list's validators in one row: the count and the newest version change whenever a
/// note is created, changed or deleted, because versions come from one counter that each
/// write holds until it commits, so they commit in the order they are given.
const LIST_STAMP: &str = "SELECT COUNT(*), CAST(COALESCE(MAX(version), 0) AS SIGNED) FROM notes";
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
    State(db): State<MySqlPool>,
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
    State(db): State<MySqlPool>,
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
                let mut tx = db.begin().await?;
                sqlx::query(NEXT_VERSION).execute(&mut *tx).await?;
                let (status, written) = match guard {
                    Guard::Absent => {
                        let query = sqlx::query(CREATE).bind(id).bind(body).bind(key);
                        let written = match query.execute(&mut *tx).await {
                            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => false,
                            done => done?.rows_affected() == 1,
                        };
                        (StatusCode::CREATED, written)
                    }
                    guard => {
                        let expected = guard.expected().map(|n| n.version);
                        let query = sqlx::query(UPDATE).bind(body).bind(key).bind(id);
                        let query = query.bind(expected).bind(expected);
                        (
                            StatusCode::OK,
                            query.execute(&mut *tx).await?.rows_affected() == 1,
                        )
                    }
                };
                if !written {
                    tx.rollback().await?;
                    return Ok(None);
                }
                let row: Row = sqlx::query_as(READ).bind(id).fetch_one(&mut *tx).await?;
                tx.commit().await?;
                Ok(Some((status, note(row))))
            },
        )
        .await?;
    Ok((status, Json(saved)))
}

/// A missing note is a 404 whatever the preconditions (RFC 9110 section 13.2.1).
#[etag(require_precondition)]
async fn delete_note(
    State(db): State<MySqlPool>,
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
                let query = sqlx::query(DELETE).bind(id).bind(expected).bind(expected);
                let done = query.execute(db).await?;
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
    State(db): State<MySqlPool>,
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

pub fn app(db: MySqlPool) -> Router {
    Router::new()
        .route("/notes", get(list_notes))
        .route(
            "/notes/{id}",
            get(get_note).put(put_note).delete(delete_note),
        )
        .with_state(db)
}

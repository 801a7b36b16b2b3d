//! Why a store call failed, and which failures pass (503) rather than persist (500).

use sqlx::postgres::PgDatabaseError;
use sqlx::sqlite::SqliteError;

use super::{MAX_ID, MIN_ID};

/// Why the store could not do what it was asked.
#[derive(Debug)]
pub enum StoreError {
    /// The database failed.
    Database(sqlx::Error),
    /// Every id from [`MIN_ID`] to [`MAX_ID`] is taken: nothing was created.
    IdsExhausted,
}

impl StoreError {
    /// Whether the failure is one that passes: the database cannot be reached, a connection
    /// was lost or closed by the server, no connection came free within the acquire
    /// timeout, a statement ran into the statement timeout, or the database was busy. The
    /// API answers these with 503 and `Retry-After`; anything else is a 500.
    ///
    /// A write that fails this way may or may not have been applied, if the connection was
    /// lost while its `COMMIT` was on the way: a client that retries with the same
    /// `If-Match` cannot apply it twice (the retry gets 412 if the first one landed).
    pub fn is_unavailable(&self) -> bool {
        let Self::Database(error) = self else {
            return false;
        };
        match error {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => true,
            sqlx::Error::Database(db) => {
                if let Some(pg) = db.try_downcast_ref::<PgDatabaseError>() {
                    postgres_unavailable(pg.code())
                } else if db.try_downcast_ref::<SqliteError>().is_some() {
                    // The primary result code is the low byte of the extended one:
                    // SQLITE_BUSY (5) and SQLITE_LOCKED (6), after the busy timeout.
                    db.code()
                        .and_then(|code| code.parse::<i32>().ok())
                        .is_some_and(|code| matches!(code & 0xff, 5 | 6))
                } else {
                    false
                }
            }
            _ => false,
        }
    }
}

/// The SQLSTATEs after which the same request can succeed later.
fn postgres_unavailable(code: &str) -> bool {
    // Class 08: connection exception.
    code.starts_with("08")
        || matches!(
            code,
            // admin_shutdown (a restart, or pg_terminate_backend), crash_shutdown,
            // cannot_connect_now (starting up or shutting down), database_dropped,
            // idle_session_timeout
            "57P01" | "57P02" | "57P03" | "57P04" | "57P05"
            // query_canceled: statement_timeout
            | "57014"
            // too_many_connections, insufficient_resources, out_of_memory
            | "53300" | "53000" | "53200"
            // serialization_failure, deadlock_detected: neither happens at READ COMMITTED
            // with the statements below, but both mean "run it again"
            | "40001" | "40P01"
            // object_not_in_prerequisite_state: what a database that does not accept
            // connections (ALLOW_CONNECTIONS false) answers a new connection
            | "55000"
        )
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Database(e) => {
                // sqlx prefixes database errors with "error returned from database: ".
                let text = e.to_string();
                f.write_str(
                    text.strip_prefix("error returned from database: ")
                        .unwrap_or(&text),
                )
            }
            Self::IdsExhausted => write!(f, "every product id from {MIN_ID} to {MAX_ID} is taken"),
        }
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Database(e) => Some(e),
            Self::IdsExhausted => None,
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        Self::Database(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn which_failures_are_unavailable() {
        let unavailable = |e: sqlx::Error| StoreError::Database(e).is_unavailable();
        assert!(unavailable(sqlx::Error::PoolTimedOut));
        assert!(unavailable(sqlx::Error::PoolClosed));
        assert!(unavailable(sqlx::Error::Io(std::io::Error::from(
            std::io::ErrorKind::ConnectionRefused
        ))));
        assert!(!unavailable(sqlx::Error::RowNotFound));
        assert!(!unavailable(sqlx::Error::Configuration("bad URL".into())));
        assert!(!StoreError::IdsExhausted.is_unavailable());
        for code in [
            "57P01", "57P03", "57014", "08006", "53300", "40001", "55000",
        ] {
            assert!(postgres_unavailable(code), "{code}");
        }
        // unique_violation, syntax_error, check_violation: the request itself is wrong.
        for code in ["23505", "42601", "23514"] {
            assert!(!postgres_unavailable(code), "{code}");
        }
    }
}

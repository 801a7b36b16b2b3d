//! The store: one handle on a SQLite or PostgreSQL pool, which every query runs on.
//!
//! It keeps the tables behind a small API whose every write is one atomic conditional
//! statement in the database.
//!
//! One [`Store`] serves both: it holds an enum of the two sqlx pools, and each method runs
//! the same SQL text on whichever it holds (`with_pool!`). The SQL is kept to what SQLite
//! and PostgreSQL both accept: `$n` parameters, `BIGINT`, `RETURNING`, `ON CONFLICT`,
//! `CASE` and `COALESCE`; where a backend needs something of its own (opening, the
//! migration lock, which errors mean "try again"), the reason is given there.
//!
//! Why an enum of two typed pools rather than sqlx's `Any` driver or a generic store: `Any`
//! opens connections from a URL alone, so SQLite would lose the options set below (WAL,
//! `synchronous`, the busy timeout, one connection for `:memory:`), and it copies every
//! row into its own value type, which a 1,000-row page pays for; a store generic over
//! `sqlx::Database` needs higher-ranked trait bounds on every method (for the arguments,
//! the executor and each column type) to say what `Any` checks at run time. The enum costs one `match` per call, and each arm is the
//! driver's own typed code.
//!
//! Isolation: both run at their defaults, which suffice. On PostgreSQL that is READ
//! COMMITTED (set on each connection, so a server default cannot change it): every write
//! transaction first updates the one `collection_state` row, which orders all writers, and
//! each later statement of the transaction takes a new snapshot that sees every write
//! committed before it; a conditional `UPDATE ... WHERE version = $2` that finds its row
//! changed by a concurrent committed transaction evaluates its `WHERE` again against the
//! new row version, and matches nothing. (Under REPEATABLE READ or SERIALIZABLE the second
//! writer would instead fail with a serialization error, for the client to retry.)
//!
//! The store's parts: [`error`] says which failures pass, `rows` reads rows of either
//! backend, `migrate` brings the schema up to date, `write` is the one write transaction
//! every write runs in, `products` and `favorites` hold each table's statements, and
//! `changes` tells the processes on one PostgreSQL database of each other's writes.

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

pub use error::StoreError;

/// The smallest id a product may have.
pub const MIN_ID: i64 = 1;

/// The largest id a product may have: the largest integer a JSON client reads exactly.
pub const MAX_ID: i64 = (1 << 53) - 1;

/// The columns a [`Product`] is read from, as a literal for `concat!`.
macro_rules! product_columns {
    () => {
        "id, name, price_cents, version, updated_at"
    };
}

/// Runs `$body` with `$pool` bound to the store's pool, whichever backend it is: the body
/// is written once and compiled for each driver, so both run the same SQL text.
macro_rules! with_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.pool {
            Pool::Sqlite($pool) => $body,
            Pool::Postgres($pool) => $body,
        }
    };
}

mod changes;
pub mod error;
mod favorites;
mod migrate;
mod rows;
#[macro_use]
mod write;
mod products;

/// How the store connects: pool size and timeouts. The defaults are
/// [`DbSettings::default`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DbSettings {
    /// The most connections the pool opens; `None`: 10 on PostgreSQL, 4 on a SQLite file.
    /// An in-memory SQLite database always has exactly one.
    pub pool_size: Option<u32>,
    /// How long a request waits for a connection (including opening one) before the
    /// database counts as unavailable (503).
    pub acquire_timeout: Duration,
    /// How long one statement may run: PostgreSQL's `statement_timeout`, which cancels it
    /// on the server; on SQLite, how long a statement waits for another connection's write
    /// lock (`busy_timeout`). Either way the request then gets 503.
    pub statement_timeout: Duration,
}

impl Default for DbSettings {
    fn default() -> Self {
        Self {
            pool_size: None,
            acquire_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(5),
        }
    }
}

impl DbSettings {
    /// The pool size on PostgreSQL when none is set.
    pub const DEFAULT_POSTGRES_POOL_SIZE: u32 = 10;
    /// The pool size on a SQLite file when none is set.
    pub const DEFAULT_SQLITE_POOL_SIZE: u32 = 4;
}

/// How many times the store did what, since it was opened: for tests that prove a 304
/// skipped the expensive read.
#[derive(Debug, Default)]
struct Counters {
    queries: AtomicU64,
    item_loads: AtomicU64,
    list_loads: AtomicU64,
}

/// A snapshot of the store's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// SQL statements run (not counting `BEGIN` and `COMMIT`).
    pub queries: u64,
    /// Full product rows loaded by [`Store::get`].
    pub item_loads: u64,
    /// Pages of full product rows loaded by [`Store::list_page`].
    pub list_loads: u64,
}

/// Which database a store is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `sqlite:` URLs.
    Sqlite,
    /// `postgres:` and `postgresql:` URLs.
    Postgres,
}

impl Backend {
    /// The backend a database URL names, if it is one this build supports.
    pub fn of_url(url: &str) -> Option<Self> {
        if url.starts_with("sqlite:") {
            Some(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Self::Postgres)
        } else {
            None
        }
    }
}

#[derive(Debug, Clone)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the store's pool, whichever backend it is: the body
/// is written once and compiled for each driver, so both run the same SQL text.
macro_rules! with_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.pool {
            Pool::Sqlite($pool) => $body,
            Pool::Postgres($pool) => $body,
        }
    };
}

/// The products database. Cheap to clone: clones share the pool and the counters.
#[derive(Debug, Clone)]
pub struct Store {
    pool: Pool,
    counters: Arc<Counters>,
    changes: changes::Feed,
    /// The stamps of the pages read lately, each with the collection revision it was read
    /// at (see [`Store::page_stamp`]).
    pages: Arc<products::PageStamps>,
}

/// Whether a database URL names an in-memory database, which lives as long as its one
/// connection.
fn is_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

impl Store {
    /// Opens the database at `url` with the default [`DbSettings`]; see
    /// [`Store::open_with`].
    ///
    /// # Errors
    ///
    /// As [`Store::open_with`].
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        Self::open_with(url, DbSettings::default()).await
    }

    /// Opens the database at `url` (a SQLite file is created if needed) and brings its
    /// schema up to date.
    ///
    /// `sqlite::memory:` gives a private in-memory database, served by a single connection
    /// (each connection to `:memory:` would be a database of its own).
    /// `postgres://USER:PASS@HOST:PORT/DB` uses an existing PostgreSQL database.
    ///
    /// # Errors
    ///
    /// The URL is neither a SQLite nor a PostgreSQL one, the database cannot be opened, or
    /// the schema cannot be created.
    pub async fn open_with(url: &str, settings: DbSettings) -> Result<Self, StoreError> {
        let pool = match Backend::of_url(url) {
            Some(Backend::Sqlite) => Pool::Sqlite(open_sqlite(url, settings).await?),
            Some(Backend::Postgres) => Pool::Postgres(open_postgres(url, settings).await?),
            None => {
                return Err(StoreError::Database(sqlx::Error::Configuration(
                    format!(
                        "unsupported database URL {url:?}: this build supports sqlite: and \
                         postgres:// URLs"
                    )
                    .into(),
                )));
            }
        };
        let store = Self {
            pool,
            counters: Arc::default(),
            changes: changes::Feed::new(),
            pages: Arc::default(),
        };
        store.migrate().await?;
        Ok(store)
    }

    /// Which database the store is on.
    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// Closes the pool, waiting for the connections to finish what they are doing.
    pub async fn close(&self) {
        with_pool!(self, pool => pool.close().await);
    }

    /// The counters so far.
    pub fn stats(&self) -> Stats {
        Stats {
            queries: self.counters.queries.load(Ordering::Relaxed),
            item_loads: self.counters.item_loads.load(Ordering::Relaxed),
            list_loads: self.counters.list_loads.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn count_queries(&self, n: u64) {
        self.counters.queries.fetch_add(n, Ordering::Relaxed);
    }
}

/// The rows a SQLite connection's thread may send ahead of the task reading them: the
/// largest page, the row that says another follows, and the collection's row.
const ROW_CHANNEL: usize = crate::model::PageRequest::MAX_LIMIT as usize + 2;

async fn open_sqlite(url: &str, settings: DbSettings) -> Result<SqlitePool, sqlx::Error> {
    let memory = is_memory(url);
    let mut options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .busy_timeout(settings.statement_timeout)
        // sqlx runs each SQLite connection on a thread of its own, which hands rows to the
        // request's task through a channel of 50 by default: a 1,000-row page made it stop
        // and wake the task some twenty times. The largest page (and its two extra rows)
        // fits, so the thread runs a statement through without waiting.
        .row_buffer_size(ROW_CHANNEL);
    let mut pool = SqlitePoolOptions::new()
        .test_before_acquire(false)
        .acquire_timeout(settings.acquire_timeout);
    if memory {
        pool = pool
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None);
    } else {
        // WAL: readers never wait for the writer, and read transactions see a snapshot.
        options = options
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal);
        pool = pool.max_connections(
            settings
                .pool_size
                .unwrap_or(DbSettings::DEFAULT_SQLITE_POOL_SIZE),
        );
    }
    pool.connect_with(options).await
}

async fn open_postgres(url: &str, settings: DbSettings) -> Result<PgPool, sqlx::Error> {
    let statement_timeout_ms = settings.statement_timeout.as_millis().max(1);
    let options = PgConnectOptions::from_str(url)?
        .application_name("products")
        // Startup parameters of every connection: the isolation the statements are
        // written for (see the module's documentation), whatever the server's default,
        // and the statement timeout, which the server enforces. A space in a value is
        // escaped with a backslash.
        .options([
            (
                "default_transaction_isolation",
                "read\\ committed".to_owned(),
            ),
            ("statement_timeout", format!("{statement_timeout_ms}ms")),
        ]);
    PgPoolOptions::new()
        .max_connections(
            settings
                .pool_size
                .unwrap_or(DbSettings::DEFAULT_POSTGRES_POOL_SIZE),
        )
        .acquire_timeout(settings.acquire_timeout)
        // A connection the server closed while it sat in the pool (a restart,
        // pg_terminate_backend) is found by a ping before it is handed out, and replaced,
        // rather than failing the request that would have used it, however long after
        // the restart that request comes. The ping is a round trip per request: on
        // loopback it cost the one-product 304 path about a quarter of its requests per
        // second.
        .test_before_acquire(true)
        .connect_with(options)
        .await
}

//! The products table, behind a small API whose every write is one atomic conditional
//! statement in the database, on SQLite or PostgreSQL.
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

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgDatabaseError, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteError, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::{ColumnIndex, Decode, Row, Type};

use crate::model::{
    CollectionState, Favorites, NewProduct, PageRequest, PageStamp, Price, Product, ProductStamp,
};

/// The schema, in order. Each entry runs once, in a transaction, and is recorded in
/// `schema_migrations`; each is written so that running it twice does no harm.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/0001_products.sql")),
    (2, include_str!("../migrations/0002_favorites.sql")),
];

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
}

fn now() -> DateTime<Utc> {
    DateTime::from(SystemTime::now())
}

/// Microseconds since the Unix epoch: how times are stored.
fn to_micros(time: DateTime<Utc>) -> i64 {
    time.timestamp_micros()
}

fn from_micros(micros: i64) -> Result<DateTime<Utc>, sqlx::Error> {
    DateTime::from_timestamp_micros(micros)
        .ok_or_else(|| sqlx::Error::Decode(format!("timestamp out of range: {micros}").into()))
}

/// A column of a row of either backend.
fn column<'r, R, T>(row: &'r R, name: &str) -> Result<T, sqlx::Error>
where
    R: Row,
    T: Decode<'r, R::Database> + Type<R::Database>,
    for<'n> &'n str: ColumnIndex<R>,
{
    row.try_get(name)
}

fn product_from_row<R>(row: &R) -> Result<Product, sqlx::Error>
where
    R: Row,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'n> &'n str: ColumnIndex<R>,
{
    let cents: i64 = column(row, "price_cents")?;
    Ok(Product {
        id: column(row, "id")?,
        name: column(row, "name")?,
        price: Price::from_cents(cents).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        version: column(row, "version")?,
        updated_at: from_micros(column(row, "updated_at")?)?,
    })
}

/// A row of the page query: `modified_at`, then the product's columns, `NULL` when the page
/// is empty.
fn page_row<R>(row: &R) -> Result<(i64, Option<Product>), sqlx::Error>
where
    R: Row,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'n> &'n str: ColumnIndex<R>,
{
    let modified_at = column(row, "modified_at")?;
    let id: Option<i64> = column(row, "id")?;
    let product = id.map(|_| product_from_row(row)).transpose()?;
    Ok((modified_at, product))
}

/// Whether a database URL names an in-memory database, which lives as long as its one
/// connection.
fn is_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

/// The key of PostgreSQL's transaction-level advisory lock that serializes migrations.
const MIGRATION_LOCK: i64 = 0x6574_6167_7072_6f64; // "etagprod"

/// `$1`: now, in microseconds; `$2`: the revision the collection must be at, or `NULL`.
/// Takes the collection row's lock until the transaction ends.
const BUMP_COLLECTION: &str = "UPDATE collection_state
     SET revision = revision + 1,
         modified_at = CASE WHEN $1 > modified_at THEN $1 ELSE modified_at + 1 END
     WHERE $2 IS NULL OR revision = $2
     RETURNING revision";

/// Picks the next id for `POST` and moves `next_id` past it; `$1` = [`MIN_ID`], `$2` =
/// [`MAX_ID`]. Runs after [`BUMP_COLLECTION`] in the same transaction, as a statement of
/// its own: on PostgreSQL, a statement that had to wait for the collection row's lock sees
/// the new version of that row but reads other tables (`products` here) from the snapshot
/// it started with, so a product created by the writer it waited for would look free.
/// Once the lock is held, a new statement's snapshot sees every committed product.
const NEXT_ID: &str = "UPDATE collection_state
     SET next_id = 1 + COALESCE(
         -- the next id, unless a client took it
         (SELECT collection_state.next_id
          WHERE collection_state.next_id BETWEEN $1 AND $2
            AND NOT EXISTS
                (SELECT 1 FROM products WHERE id = collection_state.next_id)),
         -- else the first free id above it
         (SELECT p.id + 1 FROM products p
          WHERE p.id >= collection_state.next_id AND p.id < $2
            AND NOT EXISTS (SELECT 1 FROM products q WHERE q.id = p.id + 1)
          ORDER BY p.id LIMIT 1),
         -- every id above is taken: the smallest free id
         (SELECT $1 WHERE NOT EXISTS (SELECT 1 FROM products WHERE id = $1)),
         (SELECT p.id + 1 FROM products p
          WHERE p.id >= $1 AND p.id < $2
            AND NOT EXISTS (SELECT 1 FROM products q WHERE q.id = p.id + 1)
          ORDER BY p.id LIMIT 1),
         -- none: every id is taken
         $2 + 1)
     RETURNING next_id - 1";

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

    /// Creates the tables that are missing, in one transaction that only one process runs
    /// at a time, so that several processes started together on one database agree.
    async fn migrate(&self) -> Result<(), StoreError> {
        const TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version    BIGINT PRIMARY KEY,
                 applied_at BIGINT NOT NULL
             )";
        const RECORD: &str = "INSERT INTO schema_migrations (version, applied_at)
             VALUES ($1, $2) ON CONFLICT (version) DO NOTHING";
        // The collection's first Last-Modified: when the database was created.
        const FIRST_TIME: &str =
            "UPDATE collection_state SET modified_at = $1 WHERE modified_at = 0";
        let now = to_micros(now());
        match &self.pool {
            Pool::Sqlite(pool) => {
                // IMMEDIATE takes the write lock at BEGIN: a second process waits for the
                // first one's migrations, then finds them applied.
                let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                sqlx::raw_sql(TABLE).execute(&mut *tx).await?;
                let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM schema_migrations")
                    .fetch_all(&mut *tx)
                    .await?;
                for &(version, sql) in MIGRATIONS {
                    if !applied.contains(&version) {
                        sqlx::raw_sql(sql).execute(&mut *tx).await?;
                        sqlx::query(RECORD)
                            .bind(version)
                            .bind(now)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                sqlx::query(FIRST_TIME).bind(now).execute(&mut *tx).await?;
                tx.commit().await?;
            }
            Pool::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                // Two PostgreSQL sessions running CREATE TABLE IF NOT EXISTS for the same
                // table at once can both find it missing, and the second fails on a
                // unique index of the catalog: a lock that lasts until COMMIT makes the
                // second wait, and then find everything done.
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(MIGRATION_LOCK)
                    .execute(&mut *tx)
                    .await?;
                sqlx::raw_sql(TABLE).execute(&mut *tx).await?;
                let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM schema_migrations")
                    .fetch_all(&mut *tx)
                    .await?;
                for &(version, sql) in MIGRATIONS {
                    if !applied.contains(&version) {
                        sqlx::raw_sql(sql).execute(&mut *tx).await?;
                        sqlx::query(RECORD)
                            .bind(version)
                            .bind(now)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                sqlx::query(FIRST_TIME).bind(now).execute(&mut *tx).await?;
                tx.commit().await?;
            }
        }
        Ok(())
    }

    /// The counters so far.
    pub fn stats(&self) -> Stats {
        Stats {
            queries: self.counters.queries.load(Ordering::Relaxed),
            item_loads: self.counters.item_loads.load(Ordering::Relaxed),
            list_loads: self.counters.list_loads.load(Ordering::Relaxed),
        }
    }

    fn count_queries(&self, n: u64) {
        self.counters.queries.fetch_add(n, Ordering::Relaxed);
    }

    /// A product's validators only: `SELECT version, updated_at`, no other column.
    ///
    /// # Errors
    ///
    /// A database error.
    pub async fn stamp(&self, id: i64) -> Result<Option<ProductStamp>, StoreError> {
        self.count_queries(1);
        const SQL: &str = "SELECT version, updated_at FROM products WHERE id = $1";
        let stamp = with_pool!(self, pool => {
            let row = sqlx::query(SQL).bind(id).fetch_optional(pool).await?;
            match row {
                None => None,
                Some(row) => Some((column::<_, i64>(&row, "version")?, column(&row, "updated_at")?)),
            }
        });
        let Some((version, updated_at)) = stamp else {
            return Ok(None);
        };
        Ok(Some(ProductStamp {
            version,
            updated_at: from_micros(updated_at)?,
        }))
    }

    /// A whole product.
    ///
    /// # Errors
    ///
    /// A database error.
    pub async fn get(&self, id: i64) -> Result<Option<Product>, StoreError> {
        self.count_queries(1);
        self.counters.item_loads.fetch_add(1, Ordering::Relaxed);
        const SQL: &str = concat!(
            "SELECT ",
            product_columns!(),
            " FROM products WHERE id = $1"
        );
        Ok(with_pool!(self, pool => {
            let row = sqlx::query(SQL).bind(id).fetch_optional(pool).await?;
            row.as_ref().map(product_from_row).transpose()?
        }))
    }

    /// The collection's validators only: one row of one small table.
    ///
    /// # Errors
    ///
    /// A database error.
    pub async fn collection_state(&self) -> Result<CollectionState, StoreError> {
        self.count_queries(1);
        const SQL: &str = "SELECT revision, modified_at FROM collection_state";
        let (revision, modified_at) = with_pool!(self, pool => {
            let row = sqlx::query(SQL).fetch_one(pool).await?;
            (column::<_, i64>(&row, "revision")?, column::<_, i64>(&row, "modified_at")?)
        });
        Ok(CollectionState {
            revision,
            modified_at: from_micros(modified_at)?,
        })
    }

    /// A page's validators only: the collection's `modified_at` and the id and version of
    /// each product on the page, in one query that reads no other column.
    ///
    /// # Errors
    ///
    /// A database error.
    pub async fn page_stamp(&self, page: PageRequest) -> Result<PageStamp, StoreError> {
        self.count_queries(1);
        // One statement: the collection row and the page's rows from the same snapshot.
        // One row more than the page holds tells whether another page follows.
        const SQL: &str = "SELECT c.modified_at, p.id, p.version
             FROM collection_state c
             LEFT JOIN (SELECT id, version FROM products WHERE id > $1 ORDER BY id LIMIT $2) p
                 ON 1 = 1
             ORDER BY p.id";
        let (modified_at, mut stamps) = with_pool!(self, pool => {
            let rows = sqlx::query(SQL)
                .bind(page.after)
                .bind(page.limit + 1)
                .fetch_all(pool)
                .await?;
            let first = rows.first().ok_or(sqlx::Error::RowNotFound)?;
            let modified_at: i64 = column(first, "modified_at")?;
            let mut stamps = Vec::with_capacity(rows.len());
            for row in &rows {
                if let Some(id) = column::<_, Option<i64>>(row, "id")? {
                    stamps.push((id, column(row, "version")?));
                }
            }
            (modified_at, stamps)
        });
        let limit = usize::try_from(page.limit).unwrap_or(usize::MAX);
        let has_next = stamps.len() > limit;
        stamps.truncate(limit);
        Ok(PageStamp {
            modified_at: from_micros(modified_at)?,
            rows: stamps,
            has_next,
        })
    }

    /// A page of products, by id, with the stamp that describes exactly them: both come
    /// from one statement, so from one snapshot (on PostgreSQL at READ COMMITTED, two
    /// statements of one transaction each see the commits made before they start).
    ///
    /// # Errors
    ///
    /// A database error.
    pub async fn list_page(
        &self,
        page: PageRequest,
    ) -> Result<(PageStamp, Vec<Product>), StoreError> {
        self.count_queries(1);
        self.counters.list_loads.fetch_add(1, Ordering::Relaxed);
        const SQL: &str = concat!(
            "SELECT c.modified_at, p.id, p.name, p.price_cents, p.version, p.updated_at
             FROM collection_state c
             LEFT JOIN (SELECT ",
            product_columns!(),
            " FROM products WHERE id > $1 ORDER BY id LIMIT $2) p
                 ON 1 = 1
             ORDER BY p.id"
        );
        let (modified_at, mut products) = with_pool!(self, pool => {
            let rows = sqlx::query(SQL)
                .bind(page.after)
                .bind(page.limit + 1)
                .fetch_all(pool)
                .await?;
            let mut modified_at = None;
            let mut products = Vec::with_capacity(rows.len());
            for row in &rows {
                let (time, product) = page_row(row)?;
                modified_at = Some(time);
                products.extend(product);
            }
            (modified_at.ok_or(sqlx::Error::RowNotFound)?, products)
        });
        let limit = usize::try_from(page.limit).unwrap_or(usize::MAX);
        let has_next = products.len() > limit;
        products.truncate(limit);
        let stamp = PageStamp::of(from_micros(modified_at)?, &products, has_next);
        Ok((stamp, products))
    }

    /// Creates a product with the next free id, at version 1.
    ///
    /// Ids are handed out upwards from the last one handed out, skipping any that a client
    /// took with a create-only PUT; only once every id above it up to [`MAX_ID`] is taken
    /// does the search start again from [`MIN_ID`]. Ids chosen by clients therefore never
    /// use up the ids POST hands out, and an id is handed out again only if it was deleted
    /// and every id above it has been used.
    ///
    /// With `expected` (the collection revision a conditional request was evaluated
    /// against), it is created only if the collection is still at that revision: `None`
    /// otherwise.
    ///
    /// # Errors
    ///
    /// A database error, or [`StoreError::IdsExhausted`].
    pub async fn create(
        &self,
        input: &NewProduct,
        expected: Option<i64>,
    ) -> Result<Option<Product>, StoreError> {
        let now = to_micros(now());
        const INSERT: &str = concat!(
            "INSERT INTO products (",
            product_columns!(),
            ") VALUES ($1, $2, $3,
                 COALESCE((SELECT version FROM deleted_products WHERE id = $1), 0) + 1, $4)
             RETURNING ",
            product_columns!()
        );
        self.count_queries(1);
        Ok(with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            // The collection row first, in every write: it orders all writers the same
            // way, so no other write can take the id found here before this transaction
            // ends.
            let bumped: Option<i64> = sqlx::query_scalar(BUMP_COLLECTION)
                .bind(now)
                .bind(expected)
                .fetch_optional(&mut *tx)
                .await?;
            if bumped.is_none() {
                tx.rollback().await?;
                return Ok(None);
            }
            self.count_queries(1);
            let id: i64 = sqlx::query_scalar(NEXT_ID)
                .bind(MIN_ID)
                .bind(MAX_ID)
                .fetch_one(&mut *tx)
                .await?;
            if id > MAX_ID {
                tx.rollback().await?;
                return Err(StoreError::IdsExhausted);
            }
            self.count_queries(1);
            let row = sqlx::query(INSERT)
                .bind(id)
                .bind(&input.name)
                .bind(input.price.cents())
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
            let product = product_from_row(&row)?;
            tx.commit().await?;
            Some(product)
        }))
    }

    /// Creates a product at `id` if there is none: `INSERT ... ON CONFLICT (id) DO NOTHING`.
    /// `None` when it exists.
    ///
    /// A product created where one was deleted continues its version numbers, so that no
    /// ETag the deleted one had can match the new one.
    ///
    /// # Errors
    ///
    /// A database error.
    pub async fn create_at(
        &self,
        id: i64,
        input: &NewProduct,
    ) -> Result<Option<Product>, StoreError> {
        let now = to_micros(now());
        const SQL: &str = concat!(
            "INSERT INTO products (",
            product_columns!(),
            ") VALUES ($1, $2, $3,
                 COALESCE((SELECT version FROM deleted_products WHERE id = $1), 0) + 1, $4)
             ON CONFLICT (id) DO NOTHING
             RETURNING ",
            product_columns!()
        );
        self.count_queries(2);
        Ok(with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(BUMP_COLLECTION)
                .bind(now)
                .bind(None::<i64>)
                .execute(&mut *tx)
                .await?;
            let row = sqlx::query(SQL)
                .bind(id)
                .bind(&input.name)
                .bind(input.price.cents())
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
            let Some(row) = row else {
                tx.rollback().await?;
                return Ok(None);
            };
            let product = product_from_row(&row)?;
            self.count_queries(1);
            sqlx::query("DELETE FROM deleted_products WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Some(product)
        }))
    }

    /// Replaces a product's name and price if it is still at version `expected`:
    /// `UPDATE ... SET version = version + 1 WHERE id = $1 AND version = $2`. `None` when
    /// it is not (changed or deleted since): nothing was written.
    ///
    /// # Errors
    ///
    /// A database error.
    pub async fn update(
        &self,
        id: i64,
        expected: i64,
        input: &NewProduct,
    ) -> Result<Option<Product>, StoreError> {
        let now = to_micros(now());
        const SQL: &str = concat!(
            "UPDATE products
             SET name = $3,
                 price_cents = $4,
                 version = version + 1,
                 updated_at = CASE WHEN $5 > updated_at THEN $5 ELSE updated_at + 1 END
             WHERE id = $1 AND version = $2
             RETURNING ",
            product_columns!()
        );
        self.count_queries(2);
        Ok(with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(BUMP_COLLECTION)
                .bind(now)
                .bind(None::<i64>)
                .execute(&mut *tx)
                .await?;
            let row = sqlx::query(SQL)
                .bind(id)
                .bind(expected)
                .bind(&input.name)
                .bind(input.price.cents())
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
            let Some(row) = row else {
                tx.rollback().await?;
                return Ok(None);
            };
            let product = product_from_row(&row)?;
            tx.commit().await?;
            Some(product)
        }))
    }

    /// Deletes a product if it is still at version `expected`:
    /// `DELETE ... WHERE id = $1 AND version = $2`. `false` when it is not (changed or
    /// deleted since): nothing was deleted.
    ///
    /// # Errors
    ///
    /// A database error.
    pub async fn delete(&self, id: i64, expected: i64) -> Result<bool, StoreError> {
        let now = to_micros(now());
        const REMEMBER: &str = "INSERT INTO deleted_products (id, version) VALUES ($1, $2)
             ON CONFLICT (id) DO UPDATE SET version = excluded.version";
        self.count_queries(2);
        Ok(with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query(BUMP_COLLECTION)
                .bind(now)
                .bind(None::<i64>)
                .execute(&mut *tx)
                .await?;
            let deleted: Option<i64> = sqlx::query_scalar(
                "DELETE FROM products WHERE id = $1 AND version = $2 RETURNING version",
            )
            .bind(id)
            .bind(expected)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(version) = deleted else {
                tx.rollback().await?;
                return Ok(false);
            };
            self.count_queries(1);
            sqlx::query(REMEMBER)
                .bind(id)
                .bind(version)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            true
        }))
    }
}

async fn open_sqlite(url: &str, settings: DbSettings) -> Result<SqlitePool, sqlx::Error> {
    let memory = is_memory(url);
    let mut options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .busy_timeout(settings.statement_timeout);
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

/// Each caller's favourites: one row per caller, never deleted.
impl Store {
    /// The caller's favourites; an empty list at version 0 before their first write.
    ///
    /// # Errors
    ///
    /// A database error.
    pub async fn favorites(&self, user: &str) -> Result<Favorites, StoreError> {
        self.count_queries(1);
        const SQL: &str = "SELECT product_ids, version FROM favorites WHERE user_name = $1";
        Ok(with_pool!(self, pool => {
            let row = sqlx::query(SQL).bind(user).fetch_optional(pool).await?;
            row.as_ref().map(favorites_from_row).transpose()?
        })
        .unwrap_or_default())
    }

    /// Replaces the caller's favourites if they are still at version `expected`, in one
    /// statement: an `INSERT ... ON CONFLICT DO NOTHING` for version 0 (no row yet), an
    /// `UPDATE ... WHERE version = $2` otherwise. `None` when they are not: nothing was
    /// written.
    ///
    /// # Errors
    ///
    /// A database error.
    pub async fn set_favorites(
        &self,
        user: &str,
        expected: i64,
        ids: &[i64],
    ) -> Result<Option<Favorites>, StoreError> {
        let json = serde_json::to_string(ids)
            .map_err(|e| StoreError::Database(sqlx::Error::Encode(Box::new(e))))?;
        self.count_queries(1);
        const CREATE: &str = "INSERT INTO favorites (user_name, product_ids, version)
             VALUES ($1, $2, 1)
             ON CONFLICT (user_name) DO NOTHING
             RETURNING product_ids, version";
        const UPDATE: &str = "UPDATE favorites SET product_ids = $2, version = version + 1
             WHERE user_name = $1 AND version = $3
             RETURNING product_ids, version";
        Ok(with_pool!(self, pool => {
            let query = if expected == 0 {
                sqlx::query(CREATE).bind(user).bind(&json)
            } else {
                sqlx::query(UPDATE).bind(user).bind(&json).bind(expected)
            };
            let row = query.fetch_optional(pool).await?;
            row.as_ref().map(favorites_from_row).transpose()?
        }))
    }
}

fn favorites_from_row<R>(row: &R) -> Result<Favorites, sqlx::Error>
where
    R: Row,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'n> &'n str: ColumnIndex<R>,
{
    let json: String = column(row, "product_ids")?;
    Ok(Favorites {
        ids: serde_json::from_str(&json).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        version: column(row, "version")?,
    })
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

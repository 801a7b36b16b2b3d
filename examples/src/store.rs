//! The products table, behind a small API whose every write is one atomic conditional
//! statement in the database.
//!
//! The SQL is kept to what SQLite and PostgreSQL both accept: `$n` parameters, `BIGINT`,
//! `RETURNING`, `ON CONFLICT`, `CASE` and `COALESCE`.

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};

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

/// Why the store could not do what it was asked.
#[derive(Debug)]
pub enum StoreError {
    /// The database failed.
    Database(sqlx::Error),
    /// Every id from [`MIN_ID`] to [`MAX_ID`] is taken: nothing was created.
    IdsExhausted,
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

/// The products database. Cheap to clone: clones share the pool and the counters.
#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
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

fn product_from_row(row: &SqliteRow) -> Result<Product, sqlx::Error> {
    let cents: i64 = row.try_get("price_cents")?;
    Ok(Product {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        price: Price::from_cents(cents).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        version: row.try_get("version")?,
        updated_at: from_micros(row.try_get("updated_at")?)?,
    })
}

fn state_from_row(row: &SqliteRow) -> Result<CollectionState, sqlx::Error> {
    Ok(CollectionState {
        revision: row.try_get("revision")?,
        modified_at: from_micros(row.try_get("modified_at")?)?,
    })
}

/// Whether a database URL names an in-memory database, which lives as long as its one
/// connection.
fn is_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

impl Store {
    /// Opens (creating if needed) the database at `url` and brings its schema up to date.
    ///
    /// `sqlite::memory:` gives a private in-memory database, served by a single connection
    /// (each connection to `:memory:` would be a database of its own).
    ///
    /// # Errors
    ///
    /// The URL is not a SQLite one, the database cannot be opened, or the schema cannot be
    /// created.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        if !url.starts_with("sqlite:") {
            return Err(StoreError::Database(sqlx::Error::Configuration(
                format!("unsupported database URL {url:?}: this build supports sqlite: URLs")
                    .into(),
            )));
        }
        let memory = is_memory(url);
        let mut options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .busy_timeout(Duration::from_secs(10));
        let mut pool = SqlitePoolOptions::new().test_before_acquire(false);
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
            pool = pool.max_connections(4);
        }
        let store = Self {
            pool: pool.connect_with(options).await?,
            counters: Arc::default(),
        };
        store.migrate().await?;
        Ok(store)
    }

    /// Closes the pool, waiting for the connections to finish what they are doing.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::raw_sql(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version    BIGINT PRIMARY KEY,
                 applied_at BIGINT NOT NULL
             )",
        )
        .execute(&self.pool)
        .await?;
        let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM schema_migrations")
            .fetch_all(&self.pool)
            .await?;
        for &(version, sql) in MIGRATIONS {
            if applied.contains(&version) {
                continue;
            }
            let mut tx = self.pool.begin().await?;
            sqlx::raw_sql(sql).execute(&mut *tx).await?;
            sqlx::query(
                "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)
                 ON CONFLICT (version) DO NOTHING",
            )
            .bind(version)
            .bind(to_micros(now()))
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        }
        // The collection's first Last-Modified: when the database was created.
        sqlx::query("UPDATE collection_state SET modified_at = $1 WHERE modified_at = 0")
            .bind(to_micros(now()))
            .execute(&self.pool)
            .await?;
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
        let row = sqlx::query("SELECT version, updated_at FROM products WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(ProductStamp {
            version: row.try_get("version")?,
            updated_at: from_micros(row.try_get("updated_at")?)?,
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
        let row = sqlx::query(SQL).bind(id).fetch_optional(&self.pool).await?;
        Ok(row.as_ref().map(product_from_row).transpose()?)
    }

    /// The collection's validators only: one row of one small table.
    ///
    /// # Errors
    ///
    /// A database error.
    pub async fn collection_state(&self) -> Result<CollectionState, StoreError> {
        self.count_queries(1);
        let row = sqlx::query("SELECT revision, modified_at FROM collection_state")
            .fetch_one(&self.pool)
            .await?;
        Ok(state_from_row(&row)?)
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
        let rows = sqlx::query(
            "SELECT c.modified_at, p.id, p.version
             FROM collection_state c
             LEFT JOIN (SELECT id, version FROM products WHERE id > $1 ORDER BY id LIMIT $2) p
                 ON 1 = 1
             ORDER BY p.id",
        )
        .bind(page.after)
        .bind(page.limit + 1)
        .fetch_all(&self.pool)
        .await?;
        let first = rows.first().ok_or_else(|| sqlx::Error::RowNotFound)?;
        let modified_at = from_micros(first.try_get("modified_at")?)?;
        let mut stamps = Vec::with_capacity(rows.len());
        for row in &rows {
            if let Some(id) = row.try_get::<Option<i64>, _>("id")? {
                stamps.push((id, row.try_get("version")?));
            }
        }
        let has_next = stamps.len() > usize::try_from(page.limit).unwrap_or(usize::MAX);
        stamps.truncate(usize::try_from(page.limit).unwrap_or(usize::MAX));
        Ok(PageStamp {
            modified_at,
            rows: stamps,
            has_next,
        })
    }

    /// A page of products, by id, with the stamp that describes exactly them: both are read
    /// in one transaction.
    ///
    /// # Errors
    ///
    /// A database error.
    pub async fn list_page(
        &self,
        page: PageRequest,
    ) -> Result<(PageStamp, Vec<Product>), StoreError> {
        self.count_queries(2);
        self.counters.list_loads.fetch_add(1, Ordering::Relaxed);
        let mut tx = self.pool.begin().await?;
        let modified_at: i64 = sqlx::query_scalar("SELECT modified_at FROM collection_state")
            .fetch_one(&mut *tx)
            .await?;
        const SQL: &str = concat!(
            "SELECT ",
            product_columns!(),
            " FROM products WHERE id > $1 ORDER BY id LIMIT $2"
        );
        let rows = sqlx::query(SQL)
            .bind(page.after)
            .bind(page.limit + 1)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        let mut products: Vec<Product> = rows
            .iter()
            .map(product_from_row)
            .collect::<Result<_, _>>()?;
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
        self.count_queries(2);
        let mut tx = self.pool.begin().await?;
        // The collection row first, in every write: it orders all writers the same way, so
        // no other write can take the id found here before this transaction ends.
        let id: Option<i64> = sqlx::query_scalar(
            "UPDATE collection_state
             SET revision = revision + 1,
                 modified_at = CASE WHEN $1 > modified_at THEN $1 ELSE modified_at + 1 END,
                 next_id = 1 + COALESCE(
                     -- the next id, unless a client took it
                     (SELECT collection_state.next_id
                      WHERE collection_state.next_id BETWEEN $3 AND $4
                        AND NOT EXISTS
                            (SELECT 1 FROM products WHERE id = collection_state.next_id)),
                     -- else the first free id above it
                     (SELECT p.id + 1 FROM products p
                      WHERE p.id >= collection_state.next_id AND p.id < $4
                        AND NOT EXISTS (SELECT 1 FROM products q WHERE q.id = p.id + 1)
                      ORDER BY p.id LIMIT 1),
                     -- every id above is taken: the smallest free id
                     (SELECT $3 WHERE NOT EXISTS (SELECT 1 FROM products WHERE id = $3)),
                     (SELECT p.id + 1 FROM products p
                      WHERE p.id >= $3 AND p.id < $4
                        AND NOT EXISTS (SELECT 1 FROM products q WHERE q.id = p.id + 1)
                      ORDER BY p.id LIMIT 1),
                     -- none: every id is taken
                     $4 + 1)
             WHERE $2 IS NULL OR revision = $2
             RETURNING next_id - 1",
        )
        .bind(now)
        .bind(expected)
        .bind(MIN_ID)
        .bind(MAX_ID)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(id) = id else {
            tx.rollback().await?;
            return Ok(None);
        };
        if id > MAX_ID {
            tx.rollback().await?;
            return Err(StoreError::IdsExhausted);
        }
        const SQL: &str = concat!(
            "INSERT INTO products (",
            product_columns!(),
            ") VALUES ($1, $2, $3,
                 COALESCE((SELECT version FROM deleted_products WHERE id = $1), 0) + 1, $4)
             RETURNING ",
            product_columns!()
        );
        let row = sqlx::query(SQL)
            .bind(id)
            .bind(&input.name)
            .bind(input.price.cents())
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
        let product = product_from_row(&row)?;
        tx.commit().await?;
        Ok(Some(product))
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
        self.count_queries(2);
        let mut tx = self.pool.begin().await?;
        bump_collection(&mut tx, now).await?;
        const SQL: &str = concat!(
            "INSERT INTO products (",
            product_columns!(),
            ") VALUES ($1, $2, $3,
                 COALESCE((SELECT version FROM deleted_products WHERE id = $1), 0) + 1, $4)
             ON CONFLICT (id) DO NOTHING
             RETURNING ",
            product_columns!()
        );
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
        Ok(Some(product))
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
        self.count_queries(2);
        let mut tx = self.pool.begin().await?;
        bump_collection(&mut tx, now).await?;
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
        Ok(Some(product))
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
        self.count_queries(2);
        let mut tx = self.pool.begin().await?;
        bump_collection(&mut tx, now).await?;
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
        sqlx::query(
            "INSERT INTO deleted_products (id, version) VALUES ($1, $2)
             ON CONFLICT (id) DO UPDATE SET version = excluded.version",
        )
        .bind(id)
        .bind(version)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }
}

/// Moves the collection to its next revision, as the first statement of a write
/// transaction. An id a client creates does not move `next_id`: [`Store::create`] skips
/// taken ids instead.
async fn bump_collection(tx: &mut sqlx::SqliteConnection, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE collection_state
         SET revision = revision + 1,
             modified_at = CASE WHEN $1 > modified_at THEN $1 ELSE modified_at + 1 END",
    )
    .bind(now)
    .execute(tx)
    .await?;
    Ok(())
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
        let row = sqlx::query("SELECT product_ids, version FROM favorites WHERE user_name = $1")
            .bind(user)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else {
            return Ok(Favorites::default());
        };
        favorites_from_row(&row).map_err(StoreError::from)
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
        let sql = if expected == 0 {
            "INSERT INTO favorites (user_name, product_ids, version) VALUES ($1, $2, 1)
             ON CONFLICT (user_name) DO NOTHING
             RETURNING product_ids, version"
        } else {
            "UPDATE favorites SET product_ids = $2, version = version + 1
             WHERE user_name = $1 AND version = $3
             RETURNING product_ids, version"
        };
        let row = sqlx::query(sql)
            .bind(user)
            .bind(json)
            .bind(expected)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(favorites_from_row).transpose()?)
    }
}

fn favorites_from_row(row: &SqliteRow) -> Result<Favorites, sqlx::Error> {
    let json: String = row.try_get("product_ids")?;
    Ok(Favorites {
        ids: serde_json::from_str(&json).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        version: row.try_get("version")?,
    })
}

//! The schema: the migrations, and applying those a database has not had yet.

use super::rows::{now, to_micros};
use super::{Pool, Store, StoreError};

/// The schema, in order. Each entry runs once, in a transaction, and is recorded in
/// `schema_migrations`; each but the third (an `ADD COLUMN`, which SQLite cannot make
/// conditional) is written so that running it twice does no harm.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../migrations/0001_products.sql")),
    (2, include_str!("../../migrations/0002_favorites.sql")),
    (
        3,
        include_str!("../../migrations/0003_product_revisions.sql"),
    ),
];

/// The key of PostgreSQL's transaction-level advisory lock that serializes migrations.
const MIGRATION_LOCK: i64 = 0x6574_6167_7072_6f64; // "etagprod"

impl Store {
    /// Creates the tables that are missing, in one transaction that only one process runs
    /// at a time, so that several processes started together on one database agree.
    pub(super) async fn migrate(&self) -> Result<(), StoreError> {
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
        // The same statements on either backend, once the transaction holds the lock that
        // makes a second process wait for the first one's migrations.
        macro_rules! apply {
            ($tx:ident) => {{
                sqlx::raw_sql(TABLE).execute(&mut *$tx).await?;
                let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM schema_migrations")
                    .fetch_all(&mut *$tx)
                    .await?;
                for &(version, sql) in MIGRATIONS {
                    if !applied.contains(&version) {
                        sqlx::raw_sql(sql).execute(&mut *$tx).await?;
                        sqlx::query(RECORD)
                            .bind(version)
                            .bind(now)
                            .execute(&mut *$tx)
                            .await?;
                    }
                }
                sqlx::query(FIRST_TIME).bind(now).execute(&mut *$tx).await?;
                $tx.commit().await?;
            }};
        }
        match &self.pool {
            Pool::Sqlite(pool) => {
                // IMMEDIATE takes the write lock at BEGIN: a second process waits for the
                // first one's migrations, then finds them applied.
                let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                apply!(tx);
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
                apply!(tx);
            }
        }
        Ok(())
    }
}

//! The products table and the collection's state: the reads that give validators alone or
//! whole rows, and the writes, each a conditional statement in one write transaction that
//! also stamps the row with the collection revision it bumped (`revision`, which a page's
//! validators are computed from).

use std::sync::atomic::Ordering;

use super::rows::{column, from_micros, now, page_row, product_from_row, to_micros};
use super::{MAX_ID, MIN_ID, Pool, Store, StoreError};
use crate::model::{CollectionState, NewProduct, PageRequest, PageStamp, Product, ProductStamp};

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

    /// A page's validators only. The collection's `modified_at`, and of the page's
    /// products their count, the last id and the highest revision (see [`PageStamp`]), and
    /// whether a product follows the page.
    ///
    /// A page read lately at the collection's current revision costs one row, the
    /// collection's, whatever the page size: every write bumps that revision in its own
    /// transaction, so a snapshot at the same revision holds the same products, and the
    /// page the same stamp. Otherwise it is one aggregate row from one statement that reads
    /// the page's ids and revisions and no other column.
    ///
    /// # Errors
    ///
    /// A database error.
    pub async fn page_stamp(&self, page: PageRequest) -> Result<PageStamp, StoreError> {
        if let Some((read_at, stamp)) = self.pages.get(page) {
            self.count_queries(1);
            const SQL: &str = "SELECT revision FROM collection_state";
            let revision: i64 = with_pool!(self, pool => {
                sqlx::query_scalar(SQL).fetch_one(pool).await?
            });
            if revision == read_at {
                return Ok(stamp);
            }
        }
        self.count_queries(1);
        // One statement: the collection row and the page's rows from the same snapshot.
        // `CASE WHEN EXISTS`: an integer on both backends (EXISTS alone is a boolean on
        // PostgreSQL and an integer on SQLite).
        const SQL: &str = "SELECT s.modified_at, s.read_at, s.count, s.last_id, s.revision,
                 CASE WHEN EXISTS (SELECT 1 FROM products q WHERE q.id > s.last_id)
                      THEN 1 ELSE 0 END AS has_next
             FROM (SELECT c.modified_at AS modified_at, c.revision AS read_at,
                          COUNT(p.id) AS count,
                          MAX(p.id) AS last_id, COALESCE(MAX(p.revision), 0) AS revision
                   FROM collection_state c
                   LEFT JOIN (SELECT id, revision FROM products
                              WHERE id > $1 ORDER BY id LIMIT $2) p
                       ON 1 = 1
                   GROUP BY c.modified_at, c.revision) s";
        let (modified_at, read_at, count, last_id, revision, has_next) = with_pool!(self, pool => {
            let row = sqlx::query(SQL)
                .bind(page.after)
                .bind(page.limit)
                .fetch_one(pool)
                .await?;
            (
                column::<_, i64>(&row, "modified_at")?,
                column::<_, i64>(&row, "read_at")?,
                column::<_, i64>(&row, "count")?,
                column::<_, Option<i64>>(&row, "last_id")?,
                column::<_, i64>(&row, "revision")?,
                column::<_, i32>(&row, "has_next")?,
            )
        });
        let stamp = PageStamp {
            modified_at: from_micros(modified_at)?,
            count,
            last_id,
            revision,
            has_next: has_next != 0,
        };
        self.pages.put(page, read_at, stamp);
        Ok(stamp)
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
        // The page's rows, each with the collection row, then the collection row alone, so
        // that an empty page has it too. The products are read in id order straight from
        // the index: joined to a page that the database must first copy into a temporary
        // table, and sorted again in another, they cost SQLite two copies of every row.
        // SQL promises no order across the join and the `UNION ALL`: they are put in
        // order here (they come in order, which costs a sort one pass).
        const SQL: &str = concat!(
            "SELECT c.modified_at, c.revision AS read_at, p.id, p.name, p.price_cents,
                    p.version, p.updated_at, p.revision
             FROM (SELECT ",
            product_columns!(),
            ", revision FROM products WHERE id > $1 ORDER BY id LIMIT $2) p
             CROSS JOIN collection_state c
             UNION ALL
             SELECT modified_at, revision, NULL, NULL, NULL, NULL, NULL, NULL
             FROM collection_state"
        );
        let limit = usize::try_from(page.limit).unwrap_or(usize::MAX);
        let (modified_at, read_at, mut products) = with_pool!(self, pool => {
            let rows = sqlx::query(SQL)
                .bind(page.after)
                .bind(page.limit + 1)
                .fetch_all(pool)
                .await?;
            let mut modified_at = None;
            let mut read_at = 0;
            let mut products = Vec::with_capacity(rows.len());
            for row in &rows {
                let (time, product) = page_row(row)?;
                modified_at = Some(time);
                read_at = column::<_, i64>(row, "read_at")?;
                if let Some(product) = product {
                    products.push((product, column::<_, i64>(row, "revision")?));
                }
            }
            (modified_at.ok_or(sqlx::Error::RowNotFound)?, read_at, products)
        });
        products.sort_unstable_by_key(|(product, _)| product.id);
        // The row after the page only says that one follows.
        let has_next = products.len() > limit;
        products.truncate(limit);
        let revision = products.iter().map(|(_, r)| *r).max().unwrap_or(0);
        let products: Vec<Product> = products.into_iter().map(|(p, _)| p).collect();
        let stamp = PageStamp {
            modified_at: from_micros(modified_at)?,
            count: i64::try_from(products.len()).unwrap_or(i64::MAX),
            last_id: products.last().map(|p| p.id),
            revision,
            has_next,
        };
        self.pages.put(page, read_at, stamp);
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
            ", revision) VALUES ($1, $2, $3,
                 COALESCE((SELECT version FROM deleted_products WHERE id = $1), 0) + 1, $4,
                 (SELECT revision FROM collection_state))
             RETURNING ",
            product_columns!()
        );
        // The collection row is taken first, so no other write can take the id found here
        // before this transaction ends.
        Ok(write_transaction!(self, now, expected, tx => {
            self.count_queries(1);
            let id: i64 = sqlx::query_scalar(NEXT_ID)
                .bind(MIN_ID)
                .bind(MAX_ID)
                .fetch_one(&mut *tx)
                .await?;
            if id > MAX_ID {
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
            Some(product_from_row(&row)?)
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
            ", revision) VALUES ($1, $2, $3,
                 COALESCE((SELECT version FROM deleted_products WHERE id = $1), 0) + 1, $4,
                 (SELECT revision FROM collection_state))
             ON CONFLICT (id) DO NOTHING
             RETURNING ",
            product_columns!()
        );
        Ok(write_transaction!(self, now, None::<i64>, tx => {
            self.count_queries(1);
            let row = sqlx::query(SQL)
                .bind(id)
                .bind(&input.name)
                .bind(input.price.cents())
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
            match row {
                None => None,
                Some(row) => {
                    let product = product_from_row(&row)?;
                    self.count_queries(1);
                    sqlx::query("DELETE FROM deleted_products WHERE id = $1")
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    Some(product)
                }
            }
        }))
    }

    /// Replaces a product's name and price if it still exists and, with `expected`, is
    /// still at that version: `UPDATE ... SET version = version + 1 WHERE id = $1 AND ($2
    /// IS NULL OR version = $2)`. `None` when it is not (changed or deleted since):
    /// nothing was written.
    ///
    /// # Errors
    ///
    /// A database error.
    pub async fn update(
        &self,
        id: i64,
        expected: Option<i64>,
        input: &NewProduct,
    ) -> Result<Option<Product>, StoreError> {
        let now = to_micros(now());
        const SQL: &str = concat!(
            "UPDATE products
             SET name = $3,
                 price_cents = $4,
                 version = version + 1,
                 updated_at = CASE WHEN $5 > updated_at THEN $5 ELSE updated_at + 1 END,
                 revision = (SELECT revision FROM collection_state)
             WHERE id = $1 AND ($2 IS NULL OR version = $2)
             RETURNING ",
            product_columns!()
        );
        Ok(write_transaction!(self, now, None::<i64>, tx => {
            self.count_queries(1);
            let row = sqlx::query(SQL)
                .bind(id)
                .bind(expected)
                .bind(&input.name)
                .bind(input.price.cents())
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
            row.as_ref().map(product_from_row).transpose()?
        }))
    }

    /// Deletes a product if it exists and, with `expected`, is still at that version:
    /// `DELETE ... WHERE id = $1 AND ($2 IS NULL OR version = $2)`. `false` when it is not
    /// (changed or deleted since): nothing was deleted.
    ///
    /// # Errors
    ///
    /// A database error.
    pub async fn delete(&self, id: i64, expected: Option<i64>) -> Result<bool, StoreError> {
        let now = to_micros(now());
        const DELETE: &str =
            "DELETE FROM products WHERE id = $1 AND ($2 IS NULL OR version = $2) RETURNING version";
        const REMEMBER: &str = "INSERT INTO deleted_products (id, version) VALUES ($1, $2)
             ON CONFLICT (id) DO UPDATE SET version = excluded.version";
        let deleted = write_transaction!(self, now, None::<i64>, tx => {
            self.count_queries(1);
            let deleted: Option<i64> = sqlx::query_scalar(DELETE)
                .bind(id)
                .bind(expected)
                .fetch_optional(&mut *tx)
                .await?;
            match deleted {
                None => None,
                Some(version) => {
                    self.count_queries(1);
                    sqlx::query(REMEMBER)
                        .bind(id)
                        .bind(version)
                        .execute(&mut *tx)
                        .await?;
                    Some(())
                }
            }
        });
        Ok(deleted.is_some())
    }
}

/// The stamps of the pages read lately, by page, each with the collection revision it was
/// read at: what lets [`Store::page_stamp`] answer from one row while the collection has
/// not changed. At most [`PageStamps::MAX`] pages; when full it starts again empty, which
/// costs the next read of each page its aggregate row, nothing more.
#[derive(Debug, Default)]
pub(super) struct PageStamps {
    pages: std::sync::Mutex<std::collections::HashMap<(i64, i64), (i64, PageStamp)>>,
}

impl PageStamps {
    /// The most pages kept.
    const MAX: usize = 1024;

    fn get(&self, page: PageRequest) -> Option<(i64, PageStamp)> {
        let pages = self
            .pages
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        pages.get(&(page.after, page.limit)).copied()
    }

    fn put(&self, page: PageRequest, read_at: i64, stamp: PageStamp) {
        let mut pages = self
            .pages
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if pages.len() >= Self::MAX {
            pages.clear();
        }
        pages.insert((page.after, page.limit), (read_at, stamp));
    }
}

//! The favorites table: each caller's list of product ids, one row per caller.

use super::rows::favorites_from_row;
use super::{Pool, Store, StoreError};
use crate::model::Favorites;

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

//! Times and rows as the store reads and writes them, for either backend.

use std::time::SystemTime;

use chrono::{DateTime, Utc};
use sqlx::{ColumnIndex, Decode, Row, Type};

use crate::model::{Favorites, Price, Product};

pub(super) fn now() -> DateTime<Utc> {
    DateTime::from(SystemTime::now())
}

/// Microseconds since the Unix epoch: how times are stored.
pub(super) fn to_micros(time: DateTime<Utc>) -> i64 {
    time.timestamp_micros()
}

pub(super) fn from_micros(micros: i64) -> Result<DateTime<Utc>, sqlx::Error> {
    DateTime::from_timestamp_micros(micros)
        .ok_or_else(|| sqlx::Error::Decode(format!("timestamp out of range: {micros}").into()))
}

/// A column of a row of either backend.
pub(super) fn column<'r, R, T>(row: &'r R, name: &str) -> Result<T, sqlx::Error>
where
    R: Row,
    T: Decode<'r, R::Database> + Type<R::Database>,
    for<'n> &'n str: ColumnIndex<R>,
{
    row.try_get(name)
}

pub(super) fn product_from_row<R>(row: &R) -> Result<Product, sqlx::Error>
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
pub(super) fn page_row<R>(row: &R) -> Result<(i64, Option<Product>), sqlx::Error>
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

pub(super) fn favorites_from_row<R>(row: &R) -> Result<Favorites, sqlx::Error>
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

//! The one write transaction every write runs in: the collection row first, then the
//! write's own statements, committed only when they wrote something.
//!
//! Every write begins by bumping the one `collection_state` row ([`BUMP_COLLECTION`]): that
//! orders all writers the same way (the row's lock is held until the transaction ends), and
//! it moves the collection's revision and `Last-Modified`, which every list, page and
//! export is tagged by, in the same transaction as the change itself.

/// `$1`: now, in microseconds; `$2`: the revision the collection must be at, or `NULL`.
/// Takes the collection row's lock until the transaction ends.
pub(super) const BUMP_COLLECTION: &str = "UPDATE collection_state
     SET revision = revision + 1,
         modified_at = CASE WHEN $1 > modified_at THEN $1 ELSE modified_at + 1 END
     WHERE $2 IS NULL OR revision = $2
     RETURNING revision";

/// Runs `$body` in a write transaction on `$store`'s pool, whichever backend it is, with
/// `$tx` bound to the transaction, and evaluates to what `$body` gave.
///
/// The transaction first bumps the collection row with `$now` (microseconds), and only if
/// the collection is at revision `$expected` (an `Option<i64>`; `None`: any). If it is
/// not, `$body` does not run and the result is `None`. `$body` is an `Option<T>`: `Some`
/// commits, `None` (nothing was written) rolls back. An error that `$body` returns with `?`
/// or `return` drops the transaction, which rolls it back.
///
/// It counts the bump among the store's queries; `$body` counts its own statements.
macro_rules! write_transaction {
    ($store:expr, $now:expr, $expected:expr, $tx:ident => $body:expr) => {
        with_pool!($store, pool => {
            $store.count_queries(1);
            let mut $tx = pool.begin().await?;
            let bumped: Option<i64> = sqlx::query_scalar($crate::store::write::BUMP_COLLECTION)
                .bind($now)
                .bind($expected)
                .fetch_optional(&mut *$tx)
                .await?;
            let written = match bumped {
                None => None,
                Some(_) => $body,
            };
            match written {
                Some(written) => {
                    $tx.commit().await?;
                    Some(written)
                }
                None => {
                    $tx.rollback().await?;
                    None
                }
            }
        })
    };
}

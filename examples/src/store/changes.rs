//! The changes other processes make to the same database, for the requests that wait for
//! a change (`Prefer: wait`).
//!
//! Each process publishes its own writes into its [`Changes`] (the router's `WaitLayer`
//! does it). On PostgreSQL it also sends the groups of each write with `NOTIFY` on the
//! channel [`CHANNEL`] once the write has committed ([`Store::announce`], called by the
//! router's purge hook before the write's response goes out), and every process listens
//! on that channel and publishes what it hears ([`Store::relay_changes`]). A notification
//! names the process that sent it, which skips its own. On SQLite, which has no such
//! channel, the feed is the process's own writes.
//!
//! `LISTEN` notifications are not queued for a session that is not connected: when the
//! listening connection is lost and made again, every waiter asks its handler again
//! ([`Changes::recheck`]) rather than sleeping through a change it did not hear of.

use std::time::Duration;

use etag_runtime::groups::CacheGroups;
use etag_runtime::wait::Changes;
use sqlx::postgres::PgListener;

use super::{Pool, Store, StoreError};

/// The PostgreSQL channel writes are announced on.
const CHANNEL: &str = "etag_changes";

/// The longest `NOTIFY` payload PostgreSQL takes is 8,000 bytes; a write's groups are a
/// handful. Longer ones are announced as "everything" (an empty list), which makes every
/// waiter of the other processes ask again.
const MAX_PAYLOAD: usize = 7_900;

impl Store {
    /// The feed of this database's changes as this process learns of them.
    pub fn changes(&self) -> &Changes {
        &self.changes.feed
    }

    /// Tells the other processes on this PostgreSQL database that `groups` changed
    /// (`NOTIFY`); nothing on SQLite.
    ///
    /// # Errors
    ///
    /// The notification could not be sent.
    pub async fn announce(&self, groups: &CacheGroups) -> Result<(), StoreError> {
        let Pool::Postgres(pool) = &self.pool else {
            return Ok(());
        };
        let mut payload = self.changes.instance.to_string();
        for group in groups.iter() {
            payload.push(' ');
            payload.push_str(group);
        }
        if payload.len() > MAX_PAYLOAD {
            payload = self.changes.instance.to_string();
        }
        self.count_queries(1);
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(payload)
            .execute(pool)
            .await?;
        Ok(())
    }

    /// On PostgreSQL, listens for the other processes' writes and publishes them into
    /// [`Store::changes`] until the pool is closed; returns at once on SQLite. Run it as a
    /// task of its own.
    pub async fn relay_changes(&self) {
        let Pool::Postgres(pool) = &self.pool else {
            return;
        };
        let feed = &self.changes.feed;
        let mut listener = loop {
            match PgListener::connect_with(pool).await {
                Ok(listener) => break listener,
                Err(sqlx::Error::PoolClosed) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for other processes' changes; trying again");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        };
        loop {
            if let Err(e) = listener.listen(CHANNEL).await {
                if matches!(e, sqlx::Error::PoolClosed) {
                    return;
                }
                tracing::warn!(error = %e, "cannot listen for other processes' changes; trying again");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            // Listening (again): what was sent while no connection listened is lost.
            feed.recheck();
            loop {
                match listener.try_recv().await {
                    Ok(Some(notification)) => {
                        let mut words = notification.payload().split(' ');
                        let sender = words.next().and_then(|w| w.parse::<u64>().ok());
                        if sender == Some(self.changes.instance) {
                            continue;
                        }
                        let mut groups = CacheGroups::new();
                        for group in words {
                            groups.add(percent_decoded(group));
                        }
                        if groups.is_empty() {
                            feed.recheck();
                        } else {
                            feed.publish(&groups);
                        }
                    }
                    // Lost, and connected and listening again already.
                    Ok(None) => {
                        tracing::warn!(
                            "the connection listening for changes was lost and made again"
                        );
                        feed.recheck();
                    }
                    Err(sqlx::Error::PoolClosed) => return,
                    Err(e) => {
                        tracing::warn!(error = %e, "listening for changes failed; connecting again");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        break;
                    }
                }
            }
        }
    }
}

/// A group's name as it was before `CacheGroups` wrote it (`%XX` for the bytes a name may
/// not hold as they are), so that adding it again writes the same name.
fn percent_decoded(name: &str) -> String {
    let bytes = name.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_read_back_from_a_notification_is_the_group_sent() {
        for name in ["product/17", "price list, 2026", "café", "100%", "a%2"] {
            let mut sent = CacheGroups::new();
            sent.add(name);
            let wire = sent.iter().next().unwrap().to_owned();
            assert!(!wire.contains(' '));
            let mut read = CacheGroups::new();
            read.add(percent_decoded(&wire));
            assert_eq!(read, sent, "{name}");
        }
    }
}

/// A store's feed and the number its process signs its notifications with.
#[derive(Debug, Clone, Default)]
pub(super) struct Feed {
    feed: Changes,
    instance: u64,
}

impl Feed {
    pub(super) fn new() -> Self {
        let mut bytes = [0; 8];
        // A clash only makes a process skip the other's notifications: the process id
        // with the clock when the random source fails.
        if getrandom::fill(&mut bytes).is_err() {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            bytes = ((u64::from(std::process::id()) << 32) | u64::from(nanos)).to_le_bytes();
        }
        Self {
            feed: Changes::new(),
            instance: u64::from_le_bytes(bytes),
        }
    }
}

//! A products API on SQLite or PostgreSQL that shows `etag-runtime` at work: conditional reads that
//! answer 304 before touching the rows, and writes that can never overwrite a change they
//! have not seen.
//!
//! The library holds the whole application, so that tests can run the same [`Router`]
//! in-process; the `products` binary only parses its configuration and calls [`run`].
//!
//! [`Router`]: axum::Router

pub mod auth;
pub mod config;
mod cors;
mod export;
mod extract;
mod favorites;
mod logging;
pub mod merge_patch;
mod meta;
pub mod model;
pub mod openapi;
pub mod problem;
mod products;
pub mod purge;
pub mod router;
pub mod secret;
pub mod server;
pub mod slow_bodies;
pub mod store;

use std::fmt;

pub use config::{Command, Config, Limits};
pub use router::{ApiOptions, router};
pub use secret::Secret;
pub use store::{DbSettings, Store};

/// Why the server could not start or stopped with an error.
#[derive(Debug)]
pub struct RunError(String);

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RunError {}

/// Opens the database, listens, prints `listening on http://ADDR` once ready, and serves
/// within `config.limits` until Ctrl-C or SIGTERM; then stops accepting, lets requests in
/// flight finish for up to the shutdown timeout, closes what is left, and returns.
///
/// # Errors
///
/// The database cannot be opened, or the address cannot be listened on.
pub async fn run(config: Config) -> Result<(), RunError> {
    let database = redact_password(&config.database_url);
    let store = Store::open_with(&config.database_url, config.db)
        .await
        .map_err(|e| RunError(format!("cannot open database {database:?}: {e}")))?;
    let listener = server::listen(&config.listen)
        .await
        .map_err(|e| RunError(format!("cannot listen on {}: {e}", config.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| RunError(format!("cannot listen on {}: {e}", config.listen)))?;
    let tag_key = match config.tag_key.clone() {
        Some(secret) => secret,
        None => Secret::random().map_err(|e| {
            RunError(format!(
                "cannot make the secret of per-user ETags: the system's random source \
                 failed ({e}); set TAG_KEY"
            ))
        })?,
    };
    let app = router(
        store.clone(),
        ApiOptions {
            late_check: config.late_check,
            tag_key: Some(tag_key),
            cors_origins: config.cors_origins.clone(),
            shared_max_age: config.shared_max_age,
            purge_url: config.purge_url.clone(),
            max_wait: Some(config.limits.max_wait),
            max_waiters: Some(config.limits.max_waiters),
        },
    );
    // The other processes' writes, on PostgreSQL, for the reads that wait for a change.
    let relay = tokio::spawn({
        let store = store.clone();
        async move { store.relay_changes().await }
    });
    // Not println!, which panics when stdout is a pipe nobody reads: the server serves
    // whether or not anyone reads the line.
    {
        use std::io::Write;
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "listening on http://{addr}").and_then(|()| stdout.flush());
    }
    tracing::info!(
        %addr,
        %database,
        db = ?config.db,
        late_check = config.late_check,
        shared_max_age = ?config.shared_max_age,
        purge_url = ?config.purge_url,
        limits = ?config.limits,
        cors_origins = ?config.cors_origins,
        "started"
    );
    // The reads that wait for a change answer at once when the shutdown begins, so that
    // they do not keep it waiting.
    let changes = store.changes().clone();
    let shutdown = async move {
        shutdown_signal().await;
        changes.close();
    };
    server::serve(listener, app, config.limits, shutdown).await;
    store.close().await;
    relay.abort();
    tracing::info!("stopped");
    Ok(())
}

/// The URL with its password, if it has one, replaced by `***`, for logs and errors.
pub fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    // The userinfo ends at the last '@' before the path.
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_owned();
    };
    match rest[..at].split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***{}", &rest[at..]),
        None => url.to_owned(),
    }
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}

#[cfg(test)]
mod tests {
    use super::redact_password;

    #[test]
    fn passwords_stay_out_of_logs() {
        assert_eq!(
            redact_password("postgres://app:s3cr:et@db.local:5432/shop"),
            "postgres://app:***@db.local:5432/shop"
        );
        assert_eq!(
            redact_password("postgres://app:p%40ss@127.0.0.1/shop?sslmode=disable"),
            "postgres://app:***@127.0.0.1/shop?sslmode=disable"
        );
        for unchanged in [
            "postgres://app@127.0.0.1/shop",
            "postgres://127.0.0.1/shop",
            "sqlite://products.db",
            "sqlite::memory:",
            "postgres://h/db?user=a@b",
        ] {
            assert_eq!(redact_password(unchanged), unchanged);
        }
    }
}

//! The server's settings, from the command line and the environment.

use std::fmt;
use std::time::Duration;

use crate::store::DbSettings;

/// How the `products` binary is run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The address to listen on; port 0 picks a free port.
    pub listen: String,
    /// The database URL: `sqlite://products.db`, `sqlite::memory:`,
    /// `postgres://user:pass@host:5432/db`, ...
    pub database_url: String,
    /// The database pool's size and timeouts.
    pub db: DbSettings,
    /// Decide conditional reads after loading the resource (see
    /// [`ApiOptions::late_check`](crate::api::ApiOptions::late_check)).
    pub late_check: bool,
    /// How the server treats connections: timeouts, a cap, and how long a shutdown waits.
    pub limits: Limits,
    /// The secret per-user ETags are sealed with (`TAG_KEY`); a random one per process
    /// when unset.
    pub tag_key: Option<String>,
}

/// What the server allows a connection, and how long it waits for requests at shutdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The longest a connection may take to send a whole request head (request line and
    /// header fields), counted from when the server starts waiting for it. A connection
    /// that has not finished by then is closed.
    pub header_read_timeout: Duration,
    /// A connection that has neither sent nor received a byte for this long, while none of
    /// its requests is being handled, is closed.
    pub idle_timeout: Duration,
    /// The longest wait for the next piece of a request body; the request then gets 408.
    pub request_body_timeout: Duration,
    /// Connections served at once; further ones wait in the listening socket's accept
    /// queue until one closes.
    pub max_connections: usize,
    /// On SIGTERM or Ctrl-C, how long requests in flight may take to finish before the
    /// connections still open are closed.
    pub shutdown_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(5),
            request_body_timeout: Duration::from_secs(10),
            max_connections: 512,
            shutdown_timeout: Duration::from_secs(10),
        }
    }
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Serve with this configuration.
    Serve(Config),
    /// Print the usage and exit.
    Help,
    /// Print the OpenAPI document and exit.
    OpenApi,
}

/// A command line that cannot be understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (see --help)", self.0)
    }
}

impl std::error::Error for UsageError {}

/// The `--help` text.
pub const USAGE: &str = "\
products: a products API with ETags and conditional requests

Usage: products [--listen ADDR] [--database URL] [--late-check] [DATABASE] [LIMITS]
       products --openapi

Options:
  --listen ADDR     address to listen on [env: LISTEN] [default: 127.0.0.1:3000]
  --database URL    database URL [env: DATABASE_URL] [default: sqlite://products.db]
                    sqlite://FILE, sqlite::memory: (lasts as long as the process), or
                    postgres://USER:PASS@HOST:PORT/DB (an existing database)
  --late-check      load resources before deciding 304/412 (for benchmarks)
  --openapi         print the OpenAPI document (GET /openapi.json) and exit
  -h, --help        print this help

Database (a duration is seconds, \"2.5\" or \"2.5s\", or milliseconds, \"500ms\"):
  --db-pool-size N
        database connections the process opens at most
        [env: DB_POOL_SIZE] [default: 10 on PostgreSQL, 4 on a SQLite file]
  --db-acquire-timeout DURATION
        how long a request waits for a database connection before it gets 503
        [env: DB_ACQUIRE_TIMEOUT] [default: 5s]
  --db-statement-timeout DURATION
        how long one statement may run (PostgreSQL's statement_timeout; on SQLite, how
        long it waits for another writer's lock) before the request gets 503
        [env: DB_STATEMENT_TIMEOUT] [default: 5s]

Per-user ETags (GET /me/favorites) are sealed with the secret in the TAG_KEY environment
variable; without it, with a random one per process (set it when several processes serve
one database, so that a tag one hands out matches in the others).

Limits (a duration is seconds, \"2.5\" or \"2.5s\", or milliseconds, \"500ms\"):
  --header-read-timeout DURATION
        close a connection that takes longer to send a request's line and header fields,
        counted from when the server starts waiting for that request; this also bounds how
        long a kept-alive connection may wait before its next request
        [env: HEADER_READ_TIMEOUT] [default: 10s]
  --idle-timeout DURATION
        close a connection that sends and receives nothing for this long while none of
        its requests is being handled [env: IDLE_TIMEOUT] [default: 5s]
  --request-body-timeout DURATION
        answer 408 when the next piece of a request body takes longer than this
        [env: REQUEST_BODY_TIMEOUT] [default: 10s]
  --max-connections N
        connections served at once; more wait in the accept queue until one closes
        [env: MAX_CONNECTIONS] [default: 512]
  --shutdown-timeout DURATION
        on SIGTERM or Ctrl-C, stop accepting, let requests in flight finish for up to
        this long, then close what is left and exit [env: SHUTDOWN_TIMEOUT] [default: 10s]

Product ids a client may choose (PUT with If-None-Match: *) are 1 to 9007199254740991.

Logs go to stderr; set RUST_LOG (default: info) to change what is logged, for example
RUST_LOG=info,etag_runtime=debug to see why each 304, 412 and 428 was answered.";

impl Config {
    /// Listen address when none is given.
    pub const DEFAULT_LISTEN: &str = "127.0.0.1:3000";
    /// Database when none is given: a file in the working directory, created on first start.
    pub const DEFAULT_DATABASE: &str = "sqlite://products.db";

    /// Reads the arguments (without the program name), falling back to `env` for
    /// `LISTEN`, `DATABASE_URL`, the database settings' and the limits' variables (see
    /// [`USAGE`]).
    ///
    /// # Errors
    ///
    /// An unknown argument, an option without its value, or a value that is not a valid
    /// duration or count.
    pub fn parse(
        args: impl IntoIterator<Item = String>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Command, UsageError> {
        let mut listen = None;
        let mut database_url = None;
        let mut late_check = false;
        let mut header_read_timeout = None;
        let mut idle_timeout = None;
        let mut request_body_timeout = None;
        let mut max_connections = None;
        let mut shutdown_timeout = None;
        let mut db_pool_size = None;
        let mut db_acquire_timeout = None;
        let mut db_statement_timeout = None;
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let (name, inline) = match arg.split_once('=') {
                Some((name, value)) if name.starts_with("--") => (name, Some(value.to_owned())),
                _ => (arg.as_str(), None),
            };
            let slot = match name {
                "-h" | "--help" => return Ok(Command::Help),
                "--openapi" if inline.is_none() => return Ok(Command::OpenApi),
                "--late-check" if inline.is_none() => {
                    late_check = true;
                    continue;
                }
                "--listen" => &mut listen,
                "--database" => &mut database_url,
                "--header-read-timeout" => &mut header_read_timeout,
                "--idle-timeout" => &mut idle_timeout,
                "--request-body-timeout" => &mut request_body_timeout,
                "--max-connections" => &mut max_connections,
                "--shutdown-timeout" => &mut shutdown_timeout,
                "--db-pool-size" => &mut db_pool_size,
                "--db-acquire-timeout" => &mut db_acquire_timeout,
                "--db-statement-timeout" => &mut db_statement_timeout,
                _ => return Err(UsageError(format!("unknown argument `{arg}`"))),
            };
            let value = match inline {
                Some(value) => value,
                None => args
                    .next()
                    .ok_or_else(|| UsageError(format!("`{name}` needs a value")))?,
            };
            if value.is_empty() {
                return Err(UsageError(format!("`{name}` needs a value")));
            }
            *slot = Some((name.to_owned(), value));
        }
        let env = |key: &str| env(key).filter(|v| !v.is_empty());
        // The flag, else the environment variable, each named in its error.
        let setting = |flag: Option<(String, String)>, key: &str| {
            flag.or_else(|| env(key).map(|value| (key.to_owned(), value)))
        };
        let duration = |flag, key: &str, default| match setting(flag, key) {
            Some((name, value)) => parse_duration(&value)
                .ok_or_else(|| UsageError(format!("`{name}`: {value:?} is not a duration"))),
            None => Ok(default),
        };
        let defaults = Limits::default();
        let limits = Limits {
            header_read_timeout: duration(
                header_read_timeout,
                "HEADER_READ_TIMEOUT",
                defaults.header_read_timeout,
            )?,
            idle_timeout: duration(idle_timeout, "IDLE_TIMEOUT", defaults.idle_timeout)?,
            request_body_timeout: duration(
                request_body_timeout,
                "REQUEST_BODY_TIMEOUT",
                defaults.request_body_timeout,
            )?,
            max_connections: match setting(max_connections, "MAX_CONNECTIONS") {
                Some((name, value)) => value
                    .parse::<usize>()
                    .ok()
                    // tokio's semaphore holds at most usize::MAX >> 3 permits.
                    .filter(|n| (1..=1 << 20).contains(n))
                    .ok_or_else(|| {
                        UsageError(format!(
                            "`{name}`: {value:?} is not a count from 1 to {}",
                            1 << 20
                        ))
                    })?,
                None => defaults.max_connections,
            },
            shutdown_timeout: duration(
                shutdown_timeout,
                "SHUTDOWN_TIMEOUT",
                defaults.shutdown_timeout,
            )?,
        };
        let db_defaults = DbSettings::default();
        let db = DbSettings {
            pool_size: match setting(db_pool_size, "DB_POOL_SIZE") {
                Some((name, value)) => Some(
                    value
                        .parse::<u32>()
                        .ok()
                        .filter(|n| (1..=10_000).contains(n))
                        .ok_or_else(|| {
                            UsageError(format!(
                                "`{name}`: {value:?} is not a count from 1 to 10000"
                            ))
                        })?,
                ),
                None => db_defaults.pool_size,
            },
            acquire_timeout: duration(
                db_acquire_timeout,
                "DB_ACQUIRE_TIMEOUT",
                db_defaults.acquire_timeout,
            )?,
            statement_timeout: duration(
                db_statement_timeout,
                "DB_STATEMENT_TIMEOUT",
                db_defaults.statement_timeout,
            )?,
        };
        Ok(Command::Serve(Self {
            listen: setting(listen, "LISTEN")
                .map(|(_, v)| v)
                .unwrap_or_else(|| Self::DEFAULT_LISTEN.to_owned()),
            database_url: setting(database_url, "DATABASE_URL")
                .map(|(_, v)| v)
                .unwrap_or_else(|| Self::DEFAULT_DATABASE.to_owned()),
            db,
            late_check,
            limits,
            tag_key: env("TAG_KEY"),
        }))
    }
}

/// `2`, `2.5` and `2.5s` are seconds, `500ms` milliseconds; more than zero and at most a
/// day.
fn parse_duration(text: &str) -> Option<Duration> {
    let (number, unit) = match text.strip_suffix("ms") {
        Some(number) => (number, 1e-3),
        None => (text.strip_suffix('s').unwrap_or(text), 1.0),
    };
    // f64::from_str also takes "inf", "NaN" and "1e3": only plain decimals are durations.
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    let seconds = number.parse::<f64>().ok()? * unit;
    (seconds > 0.0 && seconds <= 86_400.0).then(|| Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str], env: &[(&str, &str)]) -> Result<Command, UsageError> {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::parse(args.iter().map(|s| s.to_string()), |key| {
            env.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
        })
    }

    fn serve(listen: &str, database_url: &str, late_check: bool) -> Command {
        Command::Serve(Config {
            listen: listen.into(),
            database_url: database_url.into(),
            db: DbSettings::default(),
            late_check,
            limits: Limits::default(),
            tag_key: None,
        })
    }

    fn limits(args: &[&str], env: &[(&str, &str)]) -> Limits {
        match parse(args, env) {
            Ok(Command::Serve(config)) => config.limits,
            other => panic!("{args:?}: {other:?}"),
        }
    }

    #[test]
    fn limits_from_flags_then_env_then_defaults() {
        let defaults = Limits::default();
        assert_eq!(defaults.header_read_timeout, Duration::from_secs(10));
        assert_eq!(defaults.idle_timeout, Duration::from_secs(5));
        assert_eq!(defaults.request_body_timeout, Duration::from_secs(10));
        assert_eq!(defaults.max_connections, 512);
        assert_eq!(defaults.shutdown_timeout, Duration::from_secs(10));
        assert_eq!(limits(&[], &[]), defaults);
        let env = [
            ("HEADER_READ_TIMEOUT", "3"),
            ("IDLE_TIMEOUT", "250ms"),
            ("REQUEST_BODY_TIMEOUT", "1.5s"),
            ("MAX_CONNECTIONS", "8"),
            ("SHUTDOWN_TIMEOUT", "20"),
        ];
        assert_eq!(
            limits(&[], &env),
            Limits {
                header_read_timeout: Duration::from_secs(3),
                idle_timeout: Duration::from_millis(250),
                request_body_timeout: Duration::from_millis(1500),
                max_connections: 8,
                shutdown_timeout: Duration::from_secs(20),
            }
        );
        let flags = [
            "--header-read-timeout",
            "1",
            "--idle-timeout=2s",
            "--request-body-timeout",
            "0.5",
            "--max-connections=1",
            "--shutdown-timeout",
            "100ms",
        ];
        assert_eq!(
            limits(&flags, &env),
            Limits {
                header_read_timeout: Duration::from_secs(1),
                idle_timeout: Duration::from_secs(2),
                request_body_timeout: Duration::from_millis(500),
                max_connections: 1,
                shutdown_timeout: Duration::from_millis(100),
            }
        );
    }

    fn db(args: &[&str], env: &[(&str, &str)]) -> DbSettings {
        match parse(args, env) {
            Ok(Command::Serve(config)) => config.db,
            other => panic!("{args:?}: {other:?}"),
        }
    }

    #[test]
    fn database_settings_from_flags_then_env_then_defaults() {
        let defaults = DbSettings::default();
        assert_eq!(defaults.pool_size, None);
        assert_eq!(defaults.acquire_timeout, Duration::from_secs(5));
        assert_eq!(defaults.statement_timeout, Duration::from_secs(5));
        assert_eq!(db(&[], &[]), defaults);
        let env = [
            ("DB_POOL_SIZE", "20"),
            ("DB_ACQUIRE_TIMEOUT", "1.5"),
            ("DB_STATEMENT_TIMEOUT", "250ms"),
        ];
        assert_eq!(
            db(&[], &env),
            DbSettings {
                pool_size: Some(20),
                acquire_timeout: Duration::from_millis(1500),
                statement_timeout: Duration::from_millis(250),
            }
        );
        let flags = [
            "--db-pool-size=3",
            "--db-acquire-timeout",
            "2s",
            "--db-statement-timeout=30",
        ];
        assert_eq!(
            db(&flags, &env),
            DbSettings {
                pool_size: Some(3),
                acquire_timeout: Duration::from_secs(2),
                statement_timeout: Duration::from_secs(30),
            }
        );
        for bad in [
            &["--db-pool-size", "0"][..],
            &["--db-pool-size=x"],
            &["--db-pool-size=10001"],
            &["--db-acquire-timeout=0"],
            &["--db-statement-timeout", "forever"],
        ] {
            let err = parse(bad, &[]).unwrap_err().to_string();
            assert!(
                err.contains(bad[0].split('=').next().unwrap()),
                "{bad:?}: {err}"
            );
        }
        let err = parse(&[], &[("DB_POOL_SIZE", "-1")]).unwrap_err();
        assert!(err.to_string().contains("DB_POOL_SIZE"), "{err}");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10"), Some(Duration::from_secs(10)));
        assert_eq!(parse_duration("10s"), Some(Duration::from_secs(10)));
        assert_eq!(parse_duration("0.25"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("750ms"), Some(Duration::from_millis(750)));
        assert_eq!(parse_duration("86400"), Some(Duration::from_secs(86_400)));
        for bad in [
            "", "0", "0ms", "-1", "+1", "1e3", "inf", "NaN", "s", "ms", "1 s", "1m", "86401", ".",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn defaults_flags_and_env() {
        assert_eq!(
            parse(&[], &[]),
            Ok(serve("127.0.0.1:3000", "sqlite://products.db", false))
        );
        assert_eq!(
            parse(
                &[
                    "--listen",
                    "127.0.0.1:0",
                    "--database=sqlite::memory:",
                    "--late-check"
                ],
                &[("LISTEN", "0.0.0.0:1"), ("DATABASE_URL", "sqlite://x.db")]
            ),
            Ok(serve("127.0.0.1:0", "sqlite::memory:", true))
        );
        assert_eq!(
            parse(
                &[],
                &[("LISTEN", "[::1]:8080"), ("DATABASE_URL", "sqlite://x.db")]
            ),
            Ok(serve("[::1]:8080", "sqlite://x.db", false))
        );
        assert_eq!(parse(&["--help"], &[]), Ok(Command::Help));
        assert_eq!(parse(&["--listen", "x", "-h"], &[]), Ok(Command::Help));
        assert_eq!(parse(&["--openapi"], &[]), Ok(Command::OpenApi));
        assert!(parse(&["--openapi=yes"], &[]).is_err());
    }

    #[test]
    fn bad_command_lines() {
        for args in [
            &["--listen"][..],
            &["--database="],
            &["--port", "3000"],
            &["serve"],
            &["--late-check=yes"],
            &["--idle-timeout", "0"],
            &["--header-read-timeout=soon"],
            &["--max-connections", "0"],
            &["--max-connections", "-3"],
            &["--shutdown-timeout"],
        ] {
            let err = parse(args, &[]).unwrap_err().to_string();
            assert!(err.ends_with("(see --help)"), "{args:?}: {err}");
        }
        let err = parse(&[], &[("IDLE_TIMEOUT", "forever")]).unwrap_err();
        assert!(err.to_string().contains("IDLE_TIMEOUT"), "{err}");
        let err = parse(&["--max-connections=x"], &[]).unwrap_err();
        assert!(err.to_string().contains("--max-connections"), "{err}");
    }
}

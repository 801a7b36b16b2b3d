//! The server's settings, from the command line and the environment.

use std::ffi::OsString;
use std::fmt;
use std::time::Duration;

use axum::http::HeaderValue;
use clap::builder::NonEmptyStringValueParser;
use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{CommandFactory, FromArgMatches, Parser};

use crate::secret::Secret;
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
    /// [`ApiOptions::late_check`](crate::router::ApiOptions::late_check)).
    pub late_check: bool,
    /// How the server treats connections: timeouts, a cap, and how long a shutdown waits.
    pub limits: Limits,
    /// The secret per-user ETags are sealed with (`TAG_KEY`); a random one per process
    /// when unset. Its `Debug` shows `***`.
    pub tag_key: Option<Secret>,
    /// The origins whose pages may call the API from a browser (CORS), as a browser sends
    /// them in `Origin`; none when empty (see
    /// [`ApiOptions::cors_origins`](crate::router::ApiOptions::cors_origins)).
    pub cors_origins: Vec<HeaderValue>,
    /// Cache mode: how long shared caches may keep responses that name their cache groups
    /// (see [`ApiOptions::shared_max_age`](crate::router::ApiOptions::shared_max_age)).
    pub shared_max_age: Option<Duration>,
    /// Where writes purge the groups they changed (see
    /// [`ApiOptions::purge_url`](crate::router::ApiOptions::purge_url)).
    pub purge_url: Option<String>,
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
    /// The longest a whole request body may take to arrive, counted from when its request's
    /// head was read, however steadily it trickles in; the request then gets 408.
    pub request_body_deadline: Duration,
    /// Connections served at once; further ones wait in the listening socket's accept
    /// queue until one closes.
    pub max_connections: usize,
    /// On SIGTERM or Ctrl-C, how long requests in flight may take to finish before the
    /// connections still open are closed. Reads waiting for a change are answered at once.
    pub shutdown_timeout: Duration,
    /// The longest a read that waits for a change (`Prefer: wait`) is held. A proxy in
    /// front must wait longer for a response (deploy/nginx sets `proxy_read_timeout` to
    /// 75 s); the header-read and idle timeouts do not apply while a request is handled.
    pub max_wait: Duration,
    /// The most reads held at once; the next ones answer at once. Each holds one of the
    /// `max_connections`, so it is below them (256 by default, or half of them if that is
    /// less): waiters never take every slot.
    pub max_waiters: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(5),
            request_body_timeout: Duration::from_secs(10),
            request_body_deadline: Duration::from_secs(30),
            max_connections: 512,
            shutdown_timeout: Duration::from_secs(10),
            max_wait: Duration::from_secs(60),
            max_waiters: 256,
        }
    }
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Serve with this configuration.
    Serve(Box<Config>),
    /// Print this usage text (`--help`, `-h`) and exit.
    Help(String),
    /// Print the OpenAPI document and exit.
    OpenApi,
}

/// A command line (or environment variable) that cannot be understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (see --help)", self.0)
    }
}

impl std::error::Error for UsageError {}

/// What follows the options in `--help`.
const NOTES: &str = "\
A DURATION is seconds (\"2.5\" or \"2.5s\") or milliseconds (\"500ms\"), at most a day.

Per-user ETags (GET /me/favorites) are sealed with the secret in the TAG_KEY environment
variable; without it, with a random one per process (set it when several processes serve
one database, so that a tag one hands out matches in the others).

Product ids a client may choose (PUT with If-None-Match: *) are 1 to 9007199254740991.

Logs go to stderr; set RUST_LOG (default: info) to change what is logged, for example
RUST_LOG=info,etag_runtime=debug to see why each 304, 412 and 428 was answered.";

/// The command line and the environment variables, as clap reads them. Each option's
/// doc comment is its line in `--help`.
#[derive(Debug, Parser)]
#[command(
    name = "products",
    disable_help_flag = true,
    about = "products: a products API with ETags and conditional requests",
    after_help = NOTES,
    max_term_width = 100
)]
struct Cli {
    /// address to listen on
    #[arg(long, value_name = "ADDR", env = "LISTEN", hide_env_values = true,
        default_value = Config::DEFAULT_LISTEN, value_parser = NonEmptyStringValueParser::new())]
    listen: String,
    /// database URL: sqlite://FILE, sqlite::memory: (lasts as long as the process), or
    /// postgres://USER:PASS@HOST:PORT/DB (an existing database)
    #[arg(long, value_name = "URL", env = "DATABASE_URL", hide_env_values = true,
        default_value = Config::DEFAULT_DATABASE, value_parser = NonEmptyStringValueParser::new())]
    database: String,
    /// let pages from ORIGIN (scheme://host[:port], as a browser sends it in Origin) call
    /// the API and read its ETags (CORS); repeat it or give a comma-separated list [default:
    /// none]
    #[arg(long, value_name = "ORIGIN", env = "CORS_ORIGIN", hide_env_values = true,
        value_delimiter = ',', value_parser = parse_origin)]
    cors_origin: Vec<HeaderValue>,
    /// load resources before deciding 304/412 (for benchmarks)
    #[arg(long)]
    late_check: bool,
    /// print the OpenAPI document (GET /openapi.json) and exit
    #[arg(long)]
    openapi: bool,
    /// cache mode: shared caches (Varnish, a CDN) may keep a response that names its cache
    /// groups this long (CDN-Cache-Control), since every write invalidates its groups;
    /// clients still revalidate each time
    #[arg(long, value_name = "DURATION", env = "SHARED_MAX_AGE", hide_env_values = true,
        help_heading = "Shared caches", value_parser = parse_duration)]
    shared_max_age: Option<Duration>,
    /// after each write, send PURGE with the groups it changed (xkey-purge) to this
    /// Varnish, for the writes that do not pass through it (deploy/varnish)
    #[arg(long, value_name = "URL", env = "PURGE_URL", hide_env_values = true,
        help_heading = "Shared caches", value_parser = NonEmptyStringValueParser::new())]
    purge_url: Option<String>,
    /// print this help
    #[arg(short, long, action = clap::ArgAction::Help)]
    help: Option<bool>,

    /// database connections the process opens at most [default: 10 on PostgreSQL, 4 on a
    /// SQLite file]
    #[arg(long, value_name = "N", env = "DB_POOL_SIZE", hide_env_values = true,
        help_heading = "Database", value_parser = clap::value_parser!(u32).range(1..=10_000))]
    db_pool_size: Option<u32>,
    /// how long a request waits for a database connection before it gets 503
    #[arg(long, value_name = "DURATION", env = "DB_ACQUIRE_TIMEOUT", hide_env_values = true,
        help_heading = "Database", default_value = "5s", value_parser = parse_duration)]
    db_acquire_timeout: Duration,
    /// how long one statement may run (PostgreSQL's statement_timeout; on SQLite, how long
    /// it waits for another writer's lock) before the request gets 503
    #[arg(long, value_name = "DURATION", env = "DB_STATEMENT_TIMEOUT", hide_env_values = true,
        help_heading = "Database", default_value = "5s", value_parser = parse_duration)]
    db_statement_timeout: Duration,

    /// close a connection that takes longer to send a request's line and header fields,
    /// counted from when the server starts waiting for that request; this also bounds how
    /// long a kept-alive connection may wait before its next request
    #[arg(long, value_name = "DURATION", env = "HEADER_READ_TIMEOUT", hide_env_values = true,
        help_heading = "Limits", default_value = "10s", value_parser = parse_duration)]
    header_read_timeout: Duration,
    /// close a connection that sends and receives nothing for this long while none of its
    /// requests is being handled
    #[arg(long, value_name = "DURATION", env = "IDLE_TIMEOUT", hide_env_values = true,
        help_heading = "Limits", default_value = "5s", value_parser = parse_duration)]
    idle_timeout: Duration,
    /// answer 408 when the next piece of a request body takes longer than this
    #[arg(long, value_name = "DURATION", env = "REQUEST_BODY_TIMEOUT", hide_env_values = true,
        help_heading = "Limits", default_value = "10s", value_parser = parse_duration)]
    request_body_timeout: Duration,
    /// answer 408 when a whole request body has not arrived this long after its request's
    /// head, however steadily it trickles in
    #[arg(long, value_name = "DURATION", env = "REQUEST_BODY_DEADLINE", hide_env_values = true,
        help_heading = "Limits", default_value = "30s", value_parser = parse_duration)]
    request_body_deadline: Duration,
    /// connections served at once; more wait in the accept queue until one closes, and
    /// while they wait the oldest request body still arriving is answered 408 to make room
    // tokio's semaphore holds at most usize::MAX >> 3 permits.
    #[arg(long, value_name = "N", env = "MAX_CONNECTIONS", hide_env_values = true,
        help_heading = "Limits", default_value = "512",
        value_parser = clap::value_parser!(u32).range(1..=1 << 20))]
    max_connections: u32,
    /// on SIGTERM or Ctrl-C, stop accepting, let requests in flight finish for up to this
    /// long, then close what is left and exit
    #[arg(long, value_name = "DURATION", env = "SHUTDOWN_TIMEOUT", hide_env_values = true,
        help_heading = "Limits", default_value = "10s", value_parser = parse_duration)]
    shutdown_timeout: Duration,
    /// hold a read that waits for a change (Prefer: wait=N) at most this long; keep it
    /// below the read timeout of any proxy in front (deploy/nginx allows 75s)
    #[arg(long, value_name = "DURATION", env = "MAX_WAIT", hide_env_values = true,
        help_heading = "Limits", default_value = "60s", value_parser = parse_duration)]
    max_wait: Duration,
    /// reads held at once waiting for a change; more answer at once. Each holds a
    /// connection, so it must be below --max-connections [default: 256, or half of
    /// --max-connections if that is less]
    #[arg(long, value_name = "N", env = "MAX_WAITERS", hide_env_values = true,
        help_heading = "Limits", value_parser = clap::value_parser!(u32).range(0..=1 << 20))]
    max_waiters: Option<u32>,
}

impl Config {
    /// Listen address when none is given.
    pub const DEFAULT_LISTEN: &str = "127.0.0.1:3000";
    /// Database when none is given: a file in the working directory, created on first start.
    pub const DEFAULT_DATABASE: &str = "sqlite://products.db";

    /// Reads the arguments (with the program name first, as [`std::env::args_os`] gives
    /// them), falling back for each option to its environment variable (`LISTEN`,
    /// `DATABASE_URL`, the database settings' and the limits' variables; see `--help`),
    /// then to its default. An environment variable set to the empty string counts as
    /// unset. `TAG_KEY` is read from the environment only, never from the command line,
    /// where other users could see it.
    ///
    /// # Errors
    ///
    /// An unknown argument, an option without its value, or a value that is not a valid
    /// duration or count, as one line that names the option or the variable.
    pub fn parse_from<I, T>(args: I) -> Result<Command, UsageError>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        // clap takes an empty variable as a value: leave such a variable out.
        let command = Cli::command().mut_args(|arg| match arg.get_env() {
            Some(name) if std::env::var_os(name).is_some_and(|v| v.is_empty()) => {
                arg.env(None::<&str>)
            }
            _ => arg,
        });
        let tag_key = std::env::var_os("TAG_KEY")
            .filter(|v| !v.is_empty())
            .map(|v| Secret::new(v.into_encoded_bytes()));
        Self::from_command(command, args, tag_key)
    }

    /// [`Config::parse_from`] with `command`, which says where each option's variable is.
    fn from_command<I, T>(
        mut command: clap::Command,
        args: I,
        tag_key: Option<Secret>,
    ) -> Result<Command, UsageError>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
        let cli = match command
            .try_get_matches_from_mut(&args)
            .and_then(|matches| Cli::from_arg_matches(&matches))
        {
            Ok(cli) => cli,
            Err(e) if e.kind() == ErrorKind::DisplayHelp => {
                return Ok(Command::Help(command.render_help().to_string()));
            }
            Err(e) => return Err(usage_error(&e, &command, &args)),
        };
        if cli.openapi {
            return Ok(Command::OpenApi);
        }
        // Waiters hold connections: as many as the cap would leave none for other requests.
        let max_waiters = match cli.max_waiters {
            Some(n) if n >= cli.max_connections => {
                return Err(UsageError(format!(
                    "--max-waiters ({n}) must be below --max-connections ({}): each waiter \
                     holds a connection, and the other requests need some",
                    cli.max_connections
                )));
            }
            Some(n) => n,
            None => (cli.max_connections / 2).min(256),
        };
        Ok(Command::Serve(Box::new(Self {
            listen: cli.listen,
            database_url: cli.database,
            db: DbSettings {
                pool_size: cli.db_pool_size,
                acquire_timeout: cli.db_acquire_timeout,
                statement_timeout: cli.db_statement_timeout,
            },
            late_check: cli.late_check,
            limits: Limits {
                header_read_timeout: cli.header_read_timeout,
                idle_timeout: cli.idle_timeout,
                request_body_timeout: cli.request_body_timeout,
                request_body_deadline: cli.request_body_deadline,
                max_connections: cli.max_connections as usize,
                shutdown_timeout: cli.shutdown_timeout,
                max_wait: cli.max_wait,
                max_waiters: max_waiters as usize,
            },
            tag_key,
            cors_origins: cli.cors_origin,
            shared_max_age: cli.shared_max_age,
            purge_url: cli.purge_url,
        })))
    }
}

/// clap's error as one line, naming the environment variable when the bad value came
/// from one rather than from the command line.
fn usage_error(error: &clap::Error, command: &clap::Command, args: &[OsString]) -> UsageError {
    let rendered = error.render().to_string();
    let first = rendered.lines().next().unwrap_or("invalid command line");
    let mut line = first.strip_prefix("error: ").unwrap_or(first).to_owned();
    if let Some(ContextValue::String(invalid)) = error.get(ContextKind::InvalidArg) {
        let flag = invalid.split(' ').next().unwrap_or(invalid);
        let on_command_line = args.iter().skip(1).any(|a| {
            let a = a.to_string_lossy();
            a == flag
                || a.strip_prefix(flag)
                    .is_some_and(|rest| rest.starts_with('='))
        });
        let env = command
            .get_arguments()
            .find(|a| a.get_long().is_some_and(|long| flag == format!("--{long}")))
            .and_then(|a| a.get_env());
        if let (false, Some(env)) = (on_command_line, env) {
            line = line.replace(
                &format!("'{invalid}'"),
                &format!("{}", env.to_string_lossy()),
            );
        }
    }
    UsageError(line)
}

/// An origin as a browser serializes it in `Origin` (RFC 6454 section 6.1), which is what
/// a CORS layer compares byte for byte: `http` or `https`, a host, and a port only when it
/// is not the scheme's default; lower case; no path, not even `/`. Upper case and a default
/// port are normalized; a path, a query or user info is an error, since that origin would
/// never match.
fn parse_origin(text: &str) -> Result<HeaderValue, String> {
    let error = || {
        format!(
            "not an origin: scheme://host[:port] as a browser sends it in Origin, without \
             a path or a trailing slash (for example http://localhost:5173): {text:?}"
        )
    };
    let lower = text.trim().to_ascii_lowercase();
    let (scheme, rest) = lower.split_once("://").ok_or_else(error)?;
    let default_port = match scheme {
        "http" => "80",
        "https" => "443",
        _ => return Err(error()),
    };
    // A bracketed IPv6 host may hold colons; the port is what follows the host.
    let host_end = if rest.starts_with('[') {
        rest.find(']').map(|i| i + 1).ok_or_else(error)?
    } else {
        rest.find(':').unwrap_or(rest.len())
    };
    let (host, port) = rest.split_at(host_end);
    let host_ok = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(ipv6) => !ipv6.is_empty() && ipv6.bytes().all(|b| b.is_ascii_hexdigit() || b == b':'),
        None => {
            !host.is_empty()
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
        }
    };
    if !host_ok {
        return Err(error());
    }
    let origin = match port.strip_prefix(':') {
        None if port.is_empty() => format!("{scheme}://{host}"),
        Some(port) if port == default_port => format!("{scheme}://{host}"),
        Some(port)
            if port.bytes().all(|b| b.is_ascii_digit())
                && !port.starts_with('0')
                && port.parse::<u16>().is_ok() =>
        {
            format!("{scheme}://{host}:{port}")
        }
        _ => return Err(error()),
    };
    HeaderValue::from_str(&origin).map_err(|_| error())
}

/// `2`, `2.5` and `2.5s` are seconds, `500ms` milliseconds; more than zero and at most a
/// day.
fn parse_duration(text: &str) -> Result<Duration, String> {
    parse_seconds(text).ok_or_else(|| {
        "not a duration: seconds (\"2.5\", \"2.5s\") or milliseconds (\"500ms\"), more \
         than zero and at most a day"
            .to_owned()
    })
}

fn parse_seconds(text: &str) -> Option<Duration> {
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

    /// Parses `args` as if no environment variable were set, whatever the test's own
    /// environment holds; the variables are tested on the binary (`tests/config.rs`).
    fn parse(args: &[&str]) -> Result<Command, UsageError> {
        let command = Cli::command().mut_args(|arg| arg.env(None::<&str>));
        Config::from_command(
            command,
            std::iter::once("products").chain(args.iter().copied()),
            None,
        )
    }

    fn serve(listen: &str, database_url: &str, late_check: bool) -> Command {
        Command::Serve(Box::new(Config {
            listen: listen.into(),
            database_url: database_url.into(),
            db: DbSettings::default(),
            late_check,
            limits: Limits::default(),
            tag_key: None,
            cors_origins: Vec::new(),
            shared_max_age: None,
            purge_url: None,
        }))
    }

    fn config(args: &[&str]) -> Config {
        match parse(args) {
            Ok(Command::Serve(config)) => *config,
            other => panic!("{args:?}: {other:?}"),
        }
    }

    #[test]
    fn the_secret_never_shows() {
        let Ok(Command::Serve(mut config)) = parse(&[]) else {
            panic!("no config");
        };
        config.tag_key = Some(Secret::new("hunter2-tag-key"));
        let shown = format!("{config:?} {config:#?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("Secret(***)"), "{shown}");
    }

    #[test]
    fn cors_origins_repeat_or_come_as_a_list() {
        assert!(config(&[]).cors_origins.is_empty());
        let origins = config(&[
            "--cors-origin",
            "http://127.0.0.1:5173,https://Shop.Example",
            "--cors-origin=https://shop.example:443",
            "--cors-origin",
            "http://[::1]:8080",
        ])
        .cors_origins;
        assert_eq!(
            origins,
            [
                "http://127.0.0.1:5173",
                "https://shop.example",
                "https://shop.example",
                "http://[::1]:8080",
            ]
        );
        for bad in [
            "http://localhost:5173/",
            "localhost:5173",
            "ftp://example.com",
            "https://example.com/app",
            "https://user@example.com",
            "http://example.com:0",
            "http://example.com:65536",
            "http://example.com:",
            "http://",
            "http://ex]ample.com",
            "http://[::1",
            "http://[]:80",
            "http://example.com:+8080",
            "http://example.com:08080",
            "*",
        ] {
            let error = parse(&["--cors-origin", bad]).unwrap_err().to_string();
            assert!(error.contains("not an origin"), "{bad}: {error}");
            assert!(error.contains("--cors-origin"), "{bad}: {error}");
        }
    }

    #[test]
    fn the_command_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn waiters_leave_connections_for_other_requests() {
        let e = parse(&["--max-connections", "100", "--max-waiters", "100"]).unwrap_err();
        assert!(
            e.to_string()
                .contains("--max-waiters (100) must be below --max-connections (100)"),
            "{e}"
        );
        assert_eq!(
            config(&["--max-connections", "100", "--max-waiters", "99"])
                .limits
                .max_waiters,
            99
        );
    }

    #[test]
    fn limits_from_flags_then_defaults() {
        let defaults = Limits::default();
        assert_eq!(defaults.header_read_timeout, Duration::from_secs(10));
        assert_eq!(defaults.idle_timeout, Duration::from_secs(5));
        assert_eq!(defaults.request_body_timeout, Duration::from_secs(10));
        assert_eq!(defaults.request_body_deadline, Duration::from_secs(30));
        assert_eq!(defaults.max_connections, 512);
        assert_eq!(defaults.shutdown_timeout, Duration::from_secs(10));
        assert_eq!(defaults.max_wait, Duration::from_secs(60));
        assert_eq!(defaults.max_waiters, 256);
        assert_eq!(config(&[]).limits, defaults);
        let flags = [
            "--header-read-timeout",
            "1",
            "--idle-timeout=2s",
            "--request-body-timeout",
            "0.5",
            "--request-body-deadline=3s",
            "--max-connections=10",
            "--shutdown-timeout",
            "100ms",
            "--max-wait=2s",
            "--max-waiters",
            "7",
        ];
        assert_eq!(
            config(&flags).limits,
            Limits {
                header_read_timeout: Duration::from_secs(1),
                idle_timeout: Duration::from_secs(2),
                request_body_timeout: Duration::from_millis(500),
                request_body_deadline: Duration::from_secs(3),
                max_connections: 10,
                shutdown_timeout: Duration::from_millis(100),
                max_wait: Duration::from_secs(2),
                max_waiters: 7,
            }
        );
    }

    #[test]
    fn database_settings_from_flags_then_defaults() {
        let defaults = DbSettings::default();
        assert_eq!(defaults.pool_size, None);
        assert_eq!(defaults.acquire_timeout, Duration::from_secs(5));
        assert_eq!(defaults.statement_timeout, Duration::from_secs(5));
        assert_eq!(config(&[]).db, defaults);
        let flags = [
            "--db-pool-size=3",
            "--db-acquire-timeout",
            "2s",
            "--db-statement-timeout=30",
        ];
        assert_eq!(
            config(&flags).db,
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
            let err = parse(bad).unwrap_err().to_string();
            assert!(
                err.contains(bad[0].split('=').next().unwrap()),
                "{bad:?}: {err}"
            );
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_seconds("10"), Some(Duration::from_secs(10)));
        assert_eq!(parse_seconds("10s"), Some(Duration::from_secs(10)));
        assert_eq!(parse_seconds("0.25"), Some(Duration::from_millis(250)));
        assert_eq!(parse_seconds("750ms"), Some(Duration::from_millis(750)));
        assert_eq!(parse_seconds("86400"), Some(Duration::from_secs(86_400)));
        for bad in [
            "", "0", "0ms", "-1", "+1", "1e3", "inf", "NaN", "s", "ms", "1 s", "1m", "86401", ".",
        ] {
            assert_eq!(parse_seconds(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn defaults_and_flags() {
        assert_eq!(
            parse(&[]),
            Ok(serve("127.0.0.1:3000", "sqlite://products.db", false))
        );
        assert_eq!(
            parse(&[
                "--listen",
                "127.0.0.1:0",
                "--database=sqlite::memory:",
                "--late-check"
            ]),
            Ok(serve("127.0.0.1:0", "sqlite::memory:", true))
        );
        assert!(matches!(parse(&["--help"]), Ok(Command::Help(_))));
        assert!(matches!(
            parse(&["--listen", "x", "-h"]),
            Ok(Command::Help(_))
        ));
        assert_eq!(parse(&["--openapi"]), Ok(Command::OpenApi));
        let cached = config(&[
            "--shared-max-age=3600",
            "--purge-url",
            "http://127.0.0.1:6081/",
        ]);
        assert_eq!(cached.shared_max_age, Some(Duration::from_secs(3600)));
        assert_eq!(cached.purge_url.as_deref(), Some("http://127.0.0.1:6081/"));
        assert!(parse(&["--openapi=yes"]).is_err());
    }

    #[test]
    fn the_help_lists_every_option_with_its_variable_and_default() {
        let help = Cli::command().render_help().to_string();
        // As wrapped for any terminal width.
        let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
        for line in [
            "Usage: products [OPTIONS]",
            "--listen <ADDR>",
            "[env: LISTEN]",
            "[default: 127.0.0.1:3000]",
            "--database <URL>",
            "[env: DATABASE_URL]",
            "[default: sqlite://products.db]",
            "--late-check",
            "--openapi",
            "-h, --help print this help",
            "Database:",
            "--db-pool-size <N>",
            "[env: DB_POOL_SIZE]",
            "10 on PostgreSQL, 4 on a SQLite file",
            "--db-acquire-timeout <DURATION>",
            "[env: DB_ACQUIRE_TIMEOUT]",
            "--db-statement-timeout <DURATION>",
            "[env: DB_STATEMENT_TIMEOUT]",
            "Limits:",
            "--header-read-timeout <DURATION>",
            "[env: HEADER_READ_TIMEOUT]",
            "--idle-timeout <DURATION>",
            "[env: IDLE_TIMEOUT]",
            "--request-body-timeout <DURATION>",
            "[env: REQUEST_BODY_TIMEOUT]",
            "--request-body-deadline <DURATION>",
            "[env: REQUEST_BODY_DEADLINE]",
            "[default: 30s]",
            "--max-connections <N>",
            "[env: MAX_CONNECTIONS]",
            "[default: 512]",
            "--shutdown-timeout <DURATION>",
            "[env: SHUTDOWN_TIMEOUT]",
            "--max-wait <DURATION>",
            "[env: MAX_WAIT]",
            "--max-waiters <N>",
            "[env: MAX_WAITERS]",
            "Shared caches:",
            "--shared-max-age <DURATION>",
            "[env: SHARED_MAX_AGE]",
            "--purge-url <URL>",
            "[env: PURGE_URL]",
            "TAG_KEY",
            "RUST_LOG",
            "9007199254740991",
        ] {
            assert!(help.contains(line), "{line:?} is not in:\n{help}");
        }
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
            &["--shared-max-age=1h"],
            &["--purge-url="],
        ] {
            let err = parse(args).unwrap_err().to_string();
            assert!(err.ends_with("(see --help)"), "{args:?}: {err}");
            assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        }
        let err = parse(&["--max-connections=x"]).unwrap_err();
        assert!(err.to_string().contains("--max-connections"), "{err}");
    }
}

//! The server's settings, from the command line and the environment.

use std::fmt;

/// How the `products` binary is run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The address to listen on; port 0 picks a free port.
    pub listen: String,
    /// The database URL: `sqlite://products.db`, `sqlite::memory:`, ...
    pub database_url: String,
    /// Decide conditional reads after loading the resource (see
    /// [`ApiOptions::late_check`](crate::api::ApiOptions::late_check)).
    pub late_check: bool,
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Serve with this configuration.
    Serve(Config),
    /// Print the usage and exit.
    Help,
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

Usage: products [--listen ADDR] [--database URL] [--late-check]

Options:
  --listen ADDR     address to listen on [env: LISTEN] [default: 127.0.0.1:3000]
  --database URL    SQLite database URL [env: DATABASE_URL] [default: sqlite://products.db]
                    (sqlite::memory: for a database that lasts as long as the process)
  --late-check      load resources before deciding 304/412 (for benchmarks)
  -h, --help        print this help

Logs go to stderr; set RUST_LOG (default: info) to change what is logged.";

impl Config {
    /// Listen address when none is given.
    pub const DEFAULT_LISTEN: &str = "127.0.0.1:3000";
    /// Database when none is given: a file in the working directory, created on first start.
    pub const DEFAULT_DATABASE: &str = "sqlite://products.db";

    /// Reads the arguments (without the program name), falling back to `env` for
    /// `LISTEN` and `DATABASE_URL`.
    ///
    /// # Errors
    ///
    /// An unknown argument, or an option without its value.
    pub fn parse(
        args: impl IntoIterator<Item = String>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Command, UsageError> {
        let mut listen = None;
        let mut database_url = None;
        let mut late_check = false;
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let (name, inline) = match arg.split_once('=') {
                Some((name, value)) if name.starts_with("--") => (name, Some(value.to_owned())),
                _ => (arg.as_str(), None),
            };
            let slot = match name {
                "-h" | "--help" => return Ok(Command::Help),
                "--late-check" if inline.is_none() => {
                    late_check = true;
                    continue;
                }
                "--listen" => &mut listen,
                "--database" => &mut database_url,
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
            *slot = Some(value);
        }
        let env = |key: &str| env(key).filter(|v| !v.is_empty());
        Ok(Command::Serve(Self {
            listen: listen
                .or_else(|| env("LISTEN"))
                .unwrap_or_else(|| Self::DEFAULT_LISTEN.to_owned()),
            database_url: database_url
                .or_else(|| env("DATABASE_URL"))
                .unwrap_or_else(|| Self::DEFAULT_DATABASE.to_owned()),
            late_check,
        }))
    }
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
            late_check,
        })
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
    }

    #[test]
    fn bad_command_lines() {
        for args in [
            &["--listen"][..],
            &["--database="],
            &["--port", "3000"],
            &["serve"],
            &["--late-check=yes"],
        ] {
            let err = parse(args, &[]).unwrap_err().to_string();
            assert!(err.ends_with("(see --help)"), "{args:?}: {err}");
        }
    }
}

//! The workspace's example application, the `products` binary, as a process on a free
//! loopback port: found or built ([`binary`]), started ([`command`], then [`Server`] with
//! tokio or [`BlockingServer`] without), and its first line read for its address
//! ([`listening_address`]).

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How long the binary may take to print its address.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);

/// How long building the binary may take (a cold build on two cores).
pub const BUILD_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// The `products` binary: the one cargo built for the running test (`CARGO_BIN_EXE_products`,
/// which cargo sets for the examples crate's own tests), else built once per process with
/// the cargo that runs this ([`build`]). Panics when it cannot be had.
///
/// ```no_run
/// let binary = etag_test_support::products::binary();
/// assert!(binary.ends_with("products"));
/// ```
pub fn binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| match std::env::var_os("CARGO_BIN_EXE_products") {
        Some(path) => PathBuf::from(path),
        None => build().unwrap_or_else(|e| panic!("{e}")),
    })
}

/// Builds the binary (`cargo build -p etag-examples --bin products`, `--release` when this
/// crate was built without debug assertions) and takes its path from cargo's JSON
/// messages: right whatever the target directory, the profile or the target triple. When
/// the binary is up to date this is a no-op of a fraction of a second.
///
/// ```no_run
/// let binary = etag_test_support::products::build().unwrap();
/// assert!(binary.is_file());
/// ```
pub fn build() -> Result<PathBuf, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    let mut command = std::process::Command::new(cargo);
    command
        .args(["build", "-p", "etag-examples", "--bin", "products"])
        .args(["--message-format", "json-render-diagnostics"])
        .arg("--manifest-path")
        .arg(&manifest)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if !cfg!(debug_assertions) {
        command.arg("--release");
    }
    let mut child = command.spawn().map_err(|e| format!("run cargo: {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    // Reads every message, to the end: cargo fails when it cannot write one.
    let reader = std::thread::spawn(move || {
        let mut executable = None;
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let Ok(message) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            if message["reason"] == "compiler-artifact"
                && message["target"]["name"] == "products"
                && let Some(path) = message["executable"].as_str()
            {
                executable = Some(PathBuf::from(path));
            }
        }
        executable
    });
    let started = Instant::now();
    loop {
        match child.try_wait().map_err(|e| e.to_string())? {
            Some(status) if status.success() => break,
            Some(status) => return Err(format!("building the products binary failed: {status}")),
            None if started.elapsed() > BUILD_TIMEOUT => {
                let _ = child.kill();
                return Err("building the products binary took too long".into());
            }
            None => std::thread::sleep(Duration::from_millis(100)),
        }
    }
    reader
        .join()
        .map_err(|_| "reading cargo's messages failed")?
        .ok_or_else(|| "cargo named no products executable".into())
}

/// The command that starts `binary` on a free loopback port with `args` and
/// `RUST_LOG=log`: stdin closed, stdout piped (its first line is the address), stderr the
/// caller's.
///
/// ```
/// let command = etag_test_support::products::command(
///     std::path::Path::new("products"),
///     &["--database", "sqlite::memory:"],
///     "warn",
/// );
/// let args: Vec<_> = command.get_args().collect();
/// assert_eq!(args, ["--listen", "127.0.0.1:0", "--database", "sqlite::memory:"]);
/// ```
pub fn command(binary: &Path, args: &[&str], log: &str) -> std::process::Command {
    let mut command = std::process::Command::new(binary);
    command
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .env("RUST_LOG", log)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    command
}

/// The base URL (`http://127.0.0.1:PORT`) in the binary's first line, `listening on URL`;
/// an error for any other line, or for the port 0 it was asked for.
///
/// ```
/// use etag_test_support::products::listening_address;
///
/// assert_eq!(
///     listening_address("listening on http://127.0.0.1:40123\n").unwrap(),
///     "http://127.0.0.1:40123"
/// );
/// assert!(listening_address("error: cannot open the database").is_err());
/// assert!(listening_address("listening on http://127.0.0.1:0").is_err());
/// ```
pub fn listening_address(line: &str) -> Result<String, String> {
    let base = line
        .trim_end()
        .strip_prefix("listening on ")
        .ok_or_else(|| format!("unexpected first line: {line:?}"))?;
    if !base.starts_with("http://127.0.0.1:") || base.ends_with(":0") {
        return Err(format!("not a loopback address with its real port: {base}"));
    }
    Ok(base.to_owned())
}

/// A running `products` process without an async runtime (the benchmark command's);
/// killed when dropped.
///
/// ```no_run
/// use etag_test_support::products::{BlockingServer, binary, command};
///
/// let server = BlockingServer::spawn(&mut command(binary(), &[], "warn")).unwrap();
/// assert!(server.addr().starts_with("127.0.0.1:"));
/// ```
#[derive(Debug)]
pub struct BlockingServer {
    /// The process.
    pub child: std::process::Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
}

impl BlockingServer {
    /// Spawns `command` (see [`command`]) and waits for its address; its later output is
    /// read and dropped, so that it never blocks on a full pipe.
    pub fn spawn(command: &mut std::process::Command) -> Result<Self, String> {
        let mut child = command.spawn().map_err(|e| {
            format!(
                "cannot start {}: {e}",
                std::path::Path::new(command.get_program()).display()
            )
        })?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let first = match lines.next() {
            Some(Ok(line)) => listening_address(&line),
            _ => Err("the server exited before listening".to_owned()),
        };
        let base = match first {
            Ok(base) => base,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(e);
            }
        };
        std::thread::spawn(move || lines.for_each(drop));
        Ok(Self { child, base })
    }

    /// `host:port`, for raw TCP, wrk and nginx's upstream list.
    pub fn addr(&self) -> &str {
        self.base.trim_start_matches("http://")
    }
}

impl Drop for BlockingServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A product's price in cents.
///
/// ```
/// let product = serde_json::json!({"name": "Lamp", "price": 12.5});
/// assert_eq!(etag_test_support::products::cents(&product), 1250);
/// ```
pub fn cents(product: &serde_json::Value) -> i64 {
    (product["price"].as_f64().expect("a price") * 100.0).round() as i64
}

#[cfg(feature = "client")]
mod server;
#[cfg(feature = "client")]
pub use server::Server;

//! The products binary run as a tokio child process, for async tests.

use std::path::Path;
use std::time::Duration;

use reqwest::{Method, RequestBuilder};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

use super::{START_TIMEOUT, binary, command, listening_address};
use crate::Reply;
use crate::client::{self, Endpoint, Target};

/// A running `products` process on a free loopback port; killed when dropped.
///
/// ```no_run
/// # async fn f() {
/// use etag_test_support::client::send;
/// use etag_test_support::products::Server;
///
/// let server = Server::start().await;
/// assert_eq!(send(server.get("/health")).await.status, 200);
/// # }
/// ```
#[derive(Debug)]
pub struct Server {
    /// The process.
    pub child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
}

impl Server {
    /// [`binary`] on an in-memory SQLite database.
    pub async fn start() -> Self {
        Self::start_with(&["--database", "sqlite::memory:"]).await
    }

    /// [`binary`] with `args`, logging warnings.
    pub async fn start_with(args: &[&str]) -> Self {
        Self::start_logging(args, "warn").await
    }

    /// [`binary`] with `args` and `RUST_LOG=log` (its log goes to the test's stderr).
    pub async fn start_logging(args: &[&str], log: &str) -> Self {
        Self::start_binary(binary(), args, log).await
    }

    /// `binary` with `args` and `RUST_LOG=log`; panics when it does not print its address
    /// within [`START_TIMEOUT`]. Its later output is read and dropped.
    pub async fn start_binary(binary: &Path, args: &[&str], log: &str) -> Self {
        let mut child = Command::from(command(binary, args, log))
            .kill_on_drop(true)
            .spawn()
            .expect("spawn the products binary");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(START_TIMEOUT, lines.next_line())
            .await
            .expect("the server prints its address in time")
            .expect("read stdout")
            .expect("the server prints a line");
        let base = listening_address(&line).unwrap_or_else(|e| panic!("{e}"));
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self { child, base }
    }

    /// The URL of `path` on this process.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `method path` on this process.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        client::client().request(method, self.url(path))
    }

    /// `GET path` on this process.
    pub fn get(&self, path: &str) -> RequestBuilder {
        self.request(Method::GET, path)
    }

    /// `POST /products`; asserts 201. See [`client::create`].
    pub async fn create(&self, name: &str, price: f64) -> Reply {
        client::create(self, name, price).await
    }

    /// Where this process answers, as an [`Endpoint`].
    pub fn endpoint(&self) -> Endpoint {
        Endpoint::new(self.base.clone())
    }

    /// `host:port`, for raw TCP and for nginx's upstream list.
    pub fn addr(&self) -> String {
        self.base.trim_start_matches("http://").to_owned()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Its process id, as `kill` takes it.
    pub fn pid(&self) -> String {
        self.child.id().expect("still running").to_string()
    }

    /// Sends a signal (`-TERM`, `-INT`).
    pub async fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.pid()])
            .status()
            .await
            .expect("run kill");
        assert!(status.success(), "kill {signal}: {status}");
    }

    /// Waits up to `limit` for the process to exit; panics when it does not.
    pub async fn exited_within(&mut self, limit: Duration) -> std::process::ExitStatus {
        tokio::time::timeout(limit, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("the server did not exit within {limit:?}"))
            .expect("wait for the server")
    }

    /// Sends a signal (`-TERM`, `-INT`) and waits up to 20 s for the exit status.
    pub async fn stop_with(mut self, signal: &str) -> std::process::ExitStatus {
        self.signal(signal).await;
        self.exited_within(Duration::from_secs(20)).await
    }
}

impl Target for Server {
    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        Server::request(self, method, path)
    }
}

//! What the tests that run the `products` binary share: starting it, sending requests,
//! reading replies.

#![allow(dead_code, unreachable_pub)]

use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, FixedOffset};
use reqwest::header::HeaderMap;
use reqwest::{Client, Method, RequestBuilder};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

pub const BIN: &str = env!("CARGO_BIN_EXE_products");
pub const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A running `products` process; killed when dropped.
pub struct Server {
    pub child: Child,
    pub base: String,
    _stdout: Lines<BufReader<ChildStdout>>,
}

impl Server {
    pub async fn start() -> Self {
        Self::start_with(&["--database", "sqlite::memory:"]).await
    }

    pub async fn start_with(args: &[&str]) -> Self {
        Self::start_logging(args, "warn").await
    }

    /// Starts the binary with `args` and `RUST_LOG=log` (its log goes to the test's
    /// stderr).
    pub async fn start_logging(args: &[&str], log: &str) -> Self {
        let mut child = Command::new(BIN)
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .env("RUST_LOG", log)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
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
        let base = line
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .to_owned();
        assert!(base.starts_with("http://127.0.0.1:"), "{base}");
        assert!(!base.ends_with(":0"), "the real port is printed: {base}");
        Self {
            child,
            base,
            _stdout: lines,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        client().request(method, self.url(path))
    }

    pub fn get(&self, path: &str) -> RequestBuilder {
        self.request(Method::GET, path)
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Sends a signal (`-TERM`, `-INT`) and waits for the exit status.
    pub async fn stop_with(mut self, signal: &str) -> std::process::ExitStatus {
        let pid = self.child.id().expect("still running").to_string();
        let kill = Command::new("kill")
            .args([signal, &pid])
            .status()
            .await
            .expect("run kill");
        assert!(kill.success());
        tokio::time::timeout(Duration::from_secs(20), self.child.wait())
            .await
            .expect("the server stops after the signal")
            .expect("wait for the server")
    }

    pub async fn create(&self, name: &str, price: f64) -> Reply {
        let reply = send(
            self.request(Method::POST, "/products")
                .json(&json!({ "name": name, "price": price })),
        )
        .await;
        assert_eq!(reply.status, 201, "{}", reply.body);
        reply
    }
}

pub fn client() -> Client {
    static CLIENT: std::sync::OnceLock<Client> = std::sync::OnceLock::new();
    CLIENT
        .get_or_init(|| {
            Client::builder()
                .no_proxy()
                .timeout(Duration::from_secs(60))
                .build()
                .expect("build the HTTP client")
        })
        .clone()
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn etag(&self) -> &str {
        self.header("etag").expect("an ETag")
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }

    /// Asserts an RFC 9457 problem with this status.
    pub fn assert_problem(&self, status: u16) -> Value {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{status}"
        );
        let problem = self.json();
        assert_eq!(problem["status"], status, "{problem}");
        assert!(problem["title"].as_str().is_some_and(|t| !t.is_empty()));
        assert!(problem["type"].is_string(), "{problem}");
        assert!(
            problem["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{problem}"
        );
        problem
    }
}

pub async fn send(request: RequestBuilder) -> Reply {
    let response = request.send().await.expect("send the request");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.text().await.expect("read the body");
    Reply {
        status,
        headers,
        body,
    }
}

pub fn http_date(text: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc2822(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

pub fn format_http_date(time: DateTime<FixedOffset>) -> String {
    time.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// A new empty directory.
pub fn temp_dir() -> std::path::PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "etag-examples-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create a temporary directory");
    dir
}

pub fn cents(product: &Value) -> i64 {
    (product["price"].as_f64().expect("a price") * 100.0).round() as i64
}

/// Where requests go: one process, or the balancer in front of several.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
}

impl Endpoint {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        client().request(method, self.url(path))
    }

    pub fn get(&self, path: &str) -> RequestBuilder {
        self.request(Method::GET, path)
    }

    /// `POST /products`; asserts 201.
    pub async fn create(&self, name: &str, price: f64) -> Reply {
        let reply = send(
            self.request(Method::POST, "/products")
                .json(&json!({ "name": name, "price": price })),
        )
        .await;
        assert_eq!(reply.status, 201, "{}", reply.body);
        reply
    }
}

impl Server {
    pub fn endpoint(&self) -> Endpoint {
        Endpoint {
            base: self.base.clone(),
        }
    }

    /// `host:port`, for raw TCP and for nginx's upstream list.
    pub fn addr(&self) -> String {
        self.base.trim_start_matches("http://").to_owned()
    }
}

/// A line on the test's own stderr, shown even when cargo captures the test's output
/// (the harness captures `print!` and `eprint!`, not writes to the stream).
pub fn note(text: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "{text}");
}

/// The variable that turns the PostgreSQL tests on, with an admin URL (a role that may
/// create databases, connected to an existing database).
pub const POSTGRES_VAR: &str = "ETAG_TEST_POSTGRES";

/// The variable that makes the tests that need nginx fail, rather than skip, when nginx
/// is not installed.
pub const NGINX_VAR: &str = "ETAG_TEST_NGINX";

/// A PostgreSQL database of the test's own: created empty, dropped (with any sessions
/// still on it) when this is dropped.
pub struct PgDatabase {
    /// Its URL, for `--database`.
    pub url: String,
    /// The admin URL it was created through.
    admin_url: String,
    name: String,
}

impl PgDatabase {
    /// A new database, or `None` (after saying why on stderr) when [`POSTGRES_VAR`] is not
    /// set. Panics when it is set and the server cannot be reached: a run that asked for
    /// PostgreSQL must not pass without it.
    pub async fn create(test: &str) -> Option<Self> {
        let Some(admin_url) = Self::admin_url() else {
            note(&format!(
                "SKIPPED {test}: it needs PostgreSQL; set {POSTGRES_VAR}=postgres://USER@HOST:PORT/DB \
                 (a role that may create databases) to run it"
            ));
            return None;
        };
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!(
            "etag_test_{}_{}_{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = Self::connect(&admin_url).await;
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut admin)
            .await
            .unwrap_or_else(|e| panic!("{POSTGRES_VAR}: cannot create a database: {e}"));
        let _ = sqlx::Connection::close(admin).await;
        let mut url = reqwest::Url::parse(&admin_url)
            .unwrap_or_else(|e| panic!("{POSTGRES_VAR} is not a URL: {e}"));
        url.set_path(&format!("/{name}"));
        Some(Self {
            url: url.to_string(),
            admin_url,
            name,
        })
    }

    /// The admin URL in [`POSTGRES_VAR`], if it is set.
    pub fn admin_url() -> Option<String> {
        std::env::var(POSTGRES_VAR).ok().filter(|v| !v.is_empty())
    }

    async fn connect(url: &str) -> sqlx::PgConnection {
        let connect = <sqlx::PgConnection as sqlx::Connection>::connect(url);
        match tokio::time::timeout(Duration::from_secs(20), connect).await {
            Ok(Ok(connection)) => connection,
            Ok(Err(e)) => panic!("{POSTGRES_VAR} is set but PostgreSQL cannot be reached: {e}"),
            Err(_) => panic!("{POSTGRES_VAR} is set but PostgreSQL did not answer in 20 s"),
        }
    }

    /// A connection to the admin database, for statements about this one.
    pub async fn admin(&self) -> sqlx::PgConnection {
        Self::connect(&self.admin_url).await
    }

    /// A connection to this database.
    pub async fn connection(&self) -> sqlx::PgConnection {
        Self::connect(&self.url).await
    }

    /// Ends every session on this database (`pg_terminate_backend`), as a restart of the
    /// server would, without disturbing anyone else's; how many there were.
    pub async fn terminate_sessions(&self, admin: &mut sqlx::PgConnection) -> i64 {
        sqlx::query_scalar(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
             WHERE datname = $1 AND pid <> pg_backend_pid()",
        )
        .bind(&self.name)
        .fetch_one(admin)
        .await
        .expect("terminate the database's sessions")
    }

    /// Lets new sessions in, or refuses them (as a server that is down would).
    pub async fn allow_connections(&self, admin: &mut sqlx::PgConnection, allow: bool) {
        sqlx::query(&format!(
            "ALTER DATABASE \"{}\" ALLOW_CONNECTIONS {allow}",
            self.name
        ))
        .execute(admin)
        .await
        .expect("ALTER DATABASE ... ALLOW_CONNECTIONS");
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        // Drop runs inside the test's runtime, which cannot block on a future: drop the
        // database from a thread with a runtime of its own.
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&admin_url)
                    .await
                    .ok()?;
                let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                sqlx::query(&sql).execute(&mut admin).await.ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(_))) {
            note(&format!("could not drop the test database {}", self.name));
        }
    }
}

/// The nginx binary, or `None` (after saying why on stderr) when it is not installed and
/// [`NGINX_VAR`] is not set; panics when it is set and nginx is missing.
pub fn nginx_binary(test: &str) -> Option<String> {
    for candidate in ["nginx", "/usr/sbin/nginx", "/usr/local/sbin/nginx"] {
        let found = std::process::Command::new(candidate)
            .arg("-v")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if found {
            return Some(candidate.to_owned());
        }
    }
    if std::env::var(NGINX_VAR).is_ok_and(|v| !v.is_empty()) {
        panic!("{NGINX_VAR} is set but nginx is not installed");
    }
    note(&format!(
        "SKIPPED {test} (or its nginx part): nginx is not installed (apt-get install nginx); \
         set {NGINX_VAR}=1 to make that an error"
    ));
    None
}

/// The deploy/ folder, with the nginx configurations users run.
pub fn deploy_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// nginx running one of deploy/nginx's configurations, in a directory of its own, in
/// front of `upstreams`; stopped (master and workers) when dropped.
pub struct Nginx {
    child: Child,
    /// Its prefix: `logs/access.log`, `cache/`, ...
    pub dir: std::path::PathBuf,
    pub endpoint: Endpoint,
}

/// The listen line every configuration in deploy/nginx has; the tests put their own
/// port there.
pub const DEPLOY_LISTEN: &str = "listen 127.0.0.1:8080;";

impl Nginx {
    /// Starts nginx with `deploy/nginx/{config}` in front of `upstreams` (`host:port`
    /// each), on a free port.
    pub async fn start(binary: &str, config: &str, upstreams: &[String]) -> Self {
        let source = deploy_dir().join("nginx").join(config);
        let text = std::fs::read_to_string(&source)
            .unwrap_or_else(|e| panic!("{}: {e}", source.display()));
        assert_eq!(
            text.matches(DEPLOY_LISTEN).count(),
            1,
            "{config} listens with `{DEPLOY_LISTEN}`, which the tests replace"
        );
        assert!(
            text.contains("include upstreams.conf;"),
            "{config} takes its servers from upstreams.conf"
        );
        let dir = temp_dir();
        // The workers run as an unprivileged user when nginx starts as root: they must be
        // able to reach the cache under the prefix.
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))
            .expect("chmod the nginx prefix");
        std::fs::create_dir_all(dir.join("logs")).expect("create logs/");
        let port = free_port();
        std::fs::write(
            dir.join("nginx.conf"),
            text.replace(DEPLOY_LISTEN, &format!("listen 127.0.0.1:{port};")),
        )
        .expect("write nginx.conf");
        let servers: String = upstreams
            .iter()
            .map(|addr| format!("server {addr};\n"))
            .collect();
        std::fs::write(dir.join("upstreams.conf"), servers).expect("write upstreams.conf");
        let prefix = format!("{}/", dir.display());
        let conf = dir.join("nginx.conf").display().to_string();
        let child = Command::new(binary)
            .args([
                "-p",
                &prefix,
                "-c",
                &conf,
                "-e",
                "stderr",
                "-g",
                "daemon off;",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("start nginx");
        let addr = format!("127.0.0.1:{port}");
        let started = std::time::Instant::now();
        while tokio::net::TcpStream::connect(&addr).await.is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "nginx did not listen on {addr} within 20 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self {
            child,
            dir,
            endpoint: Endpoint {
                base: format!("http://{addr}"),
            },
        }
    }

    /// The access log so far.
    pub fn access_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("logs/access.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM to the master, which stops its workers; SIGKILL would leave them running.
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
            let started = std::time::Instant::now();
            while started.elapsed() < Duration::from_secs(10) {
                if matches!(self.child.try_wait(), Ok(Some(_))) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

//! What the tests that run the `products` binary share: starting it, sending requests,
//! reading replies (from etag-test-support, under the names these tests use), and the
//! services some of them need: a PostgreSQL database of their own, nginx in front.

#![allow(dead_code, unreachable_pub, unused_imports)]

use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, FixedOffset};
use tokio::io::AsyncReadExt as _;
use tokio::process::{Child, Command};

pub use etag_test_support::Reply;
pub use etag_test_support::client::{Endpoint, Target, client, send};
pub use etag_test_support::products::{START_TIMEOUT, Server, cents};
pub use etag_test_support::races;

/// The binary cargo built for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_products");

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

/// Reads until the server closes the connection (or resets it); what it sent.
pub async fn read_to_close(
    stream: &mut tokio::net::tcp::OwnedReadHalf,
    limit: Duration,
) -> Vec<u8> {
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    let read = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(limit, read)
        .await
        .unwrap_or_else(|_| panic!("the connection is still open after {limit:?}"));
    answer
}

/// A line on the test's own stderr, shown even when cargo captures the test's output
/// (the harness captures `print!` and `eprint!`, not writes to the stream).
pub fn note(text: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "{text}");
}

/// The variable the PostgreSQL tests take their server from: an admin URL (a role that
/// may create databases, connected to an existing database). Those tests are
/// `#[ignore]`d; run with `--include-ignored` (or `--ignored`) and without it, they fail.
pub const POSTGRES_VAR: &str = "ETAG_TEST_POSTGRES";

/// The variable the nginx tests take nginx from: `1` to look for it (on `PATH`, then in
/// `/usr/sbin` and `/usr/local/sbin`), or the binary's path. Those tests are `#[ignore]`d;
/// run without nginx, they fail.
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
    /// A new database on the server in [`POSTGRES_VAR`]. Panics, naming `test`, when the
    /// variable is not set or the server cannot be reached: a test that needs PostgreSQL
    /// does not pass without it.
    pub async fn create(test: &str) -> Self {
        let Some(admin_url) = Self::admin_url() else {
            panic!(
                "{test} needs PostgreSQL: set {POSTGRES_VAR}=postgres://USER@HOST:PORT/DB \
                 (a role that may create databases)"
            );
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
        Self {
            url: url.to_string(),
            admin_url,
            name,
        }
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

/// The nginx binary: [`NGINX_VAR`]'s path, or (when it is `1` or not set) the first
/// nginx found. Panics, naming `test`, when there is none: a test that needs nginx does
/// not pass without it.
pub fn nginx_binary(test: &str) -> String {
    let configured = std::env::var(NGINX_VAR)
        .ok()
        .filter(|v| !v.is_empty() && v != "1");
    let candidates = match &configured {
        Some(path) => vec![path.as_str()],
        None => vec!["nginx", "/usr/sbin/nginx", "/usr/local/sbin/nginx"],
    };
    for candidate in candidates {
        let found = std::process::Command::new(candidate)
            .arg("-v")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if found {
            return candidate.to_owned();
        }
    }
    match configured {
        Some(path) => panic!("{test} needs nginx: {NGINX_VAR}={path} does not run"),
        None => panic!(
            "{test} needs nginx, which is not installed (apt-get install nginx; \
             {NGINX_VAR}=/path/to/nginx names another)"
        ),
    }
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
            endpoint: Endpoint::new(format!("http://{addr}")),
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

/// The variable the Varnish tests take varnishd from: `1` to look for it (on `PATH`, then
/// in `/usr/sbin`), or the binary's path. Those tests are `#[ignore]`d; run without
/// Varnish (and its xkey vmod, Debian's varnish-modules), they fail.
pub const VARNISH_VAR: &str = "ETAG_TEST_VARNISH";

/// The varnishd binary: [`VARNISH_VAR`]'s path, or the first found. Panics, naming
/// `test`, when there is none.
pub fn varnish_binary(test: &str) -> String {
    let configured = std::env::var(VARNISH_VAR)
        .ok()
        .filter(|v| !v.is_empty() && v != "1");
    let candidates = match &configured {
        Some(path) => vec![path.as_str()],
        None => vec!["varnishd", "/usr/sbin/varnishd", "/usr/local/sbin/varnishd"],
    };
    for candidate in candidates {
        let found = std::process::Command::new(candidate)
            .arg("-V")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if found {
            return candidate.to_owned();
        }
    }
    match configured {
        Some(path) => panic!("{test} needs varnish: {VARNISH_VAR}={path} does not run"),
        None => panic!(
            "{test} needs varnish, which is not installed (apt-get install varnish \
             varnish-modules; {VARNISH_VAR}=/path/to/varnishd names another)"
        ),
    }
}

/// The backend line of deploy/varnish/default.vcl, which the tests point at their process.
pub const VCL_BACKEND_PORT: &str = ".port = \"3001\";";

/// varnishd with deploy/varnish/default.vcl in front of one process, from a work
/// directory of its own (`-n`), on a free loopback port, in the foreground (`-F`): never
/// the system's service. Stopped (manager and child) when dropped.
pub struct Varnish {
    child: Child,
    pub dir: std::path::PathBuf,
    pub endpoint: Endpoint,
}

impl Varnish {
    /// Starts it in front of `backend` (`127.0.0.1:PORT`).
    pub async fn start(test: &str, backend: &str) -> Self {
        let binary = varnish_binary(test);
        let source = deploy_dir().join("varnish/default.vcl");
        let text = std::fs::read_to_string(&source)
            .unwrap_or_else(|e| panic!("{}: {e}", source.display()));
        assert_eq!(
            text.matches(VCL_BACKEND_PORT).count(),
            1,
            "default.vcl names its backend's port with `{VCL_BACKEND_PORT}`, which the tests replace"
        );
        let port = backend.rsplit(':').next().expect("host:port");
        let dir = temp_dir();
        // The child runs as an unprivileged user when varnishd starts as root.
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))
            .expect("chmod the varnish directory");
        let vcl = dir.join("default.vcl");
        std::fs::write(
            &vcl,
            text.replace(VCL_BACKEND_PORT, &format!(".port = \"{port}\";")),
        )
        .expect("write default.vcl");
        let listen = format!("127.0.0.1:{}", free_port());
        let work = dir.join("work");
        // Its messages (a VCL that does not compile, a vmod that is missing), for the panic.
        let log = dir.join("varnishd.log");
        let child = Command::new(&binary)
            .arg("-F")
            .arg("-n")
            .arg(&work)
            .args(["-a", &listen, "-f"])
            .arg(&vcl)
            .args(["-p", "http_gzip_support=off", "-s", "malloc,64m"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("create varnishd.log"))
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("{test}: cannot start {binary}: {e}"));
        let started = std::time::Instant::now();
        while tokio::net::TcpStream::connect(&listen).await.is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "varnishd did not listen on {listen} within 30 s: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self {
            child,
            dir,
            endpoint: Endpoint::new(format!("http://{listen}")),
        }
    }

    /// Varnish's own counter `name` (`MAIN.backend_req`: requests sent to the origin),
    /// once it has stopped moving: a worker adds its counts when it finishes a task.
    pub async fn counter(&self, name: &str) -> u64 {
        let mut last = None;
        for _ in 0..50 {
            let now = self.read_counter(name);
            if last == Some(now) {
                return now;
            }
            last = Some(now);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{name} is still moving after 2.5 s")
    }

    fn read_counter(&self, name: &str) -> u64 {
        let out = std::process::Command::new("varnishstat")
            .arg("-n")
            .arg(self.dir.join("work"))
            .args(["-1", "-f", name])
            .output()
            .expect("run varnishstat (Debian's varnish package)");
        let text = String::from_utf8_lossy(&out.stdout);
        text.lines()
            .find_map(|line| {
                let mut fields = line.split_whitespace();
                (fields.next() == Some(name)).then(|| fields.next()?.parse().ok())?
            })
            .unwrap_or_else(|| panic!("varnishstat has no {name}: {text}"))
    }
}

impl Drop for Varnish {
    fn drop(&mut self) {
        // SIGTERM to the manager, which stops its child.
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

//! End to end over loopback: the example binary under `wrk`, on SQLite and on PostgreSQL,
//! alone and behind nginx.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use bytes::Bytes;
use etag_test_support::Reply;
use etag_test_support::products::{self, BlockingServer};
use etag_test_support::wire::{exchange, parse};

use crate::report::{Figure, Goal};

/// `binary` on `database` with `extra`, its log off; stopped when dropped.
pub(crate) fn start(
    binary: &std::path::Path,
    database: &str,
    extra: &[&str],
) -> Result<BlockingServer, String> {
    let mut args = vec!["--database", database];
    args.extend_from_slice(extra);
    let mut command = products::command(binary, &args, "warn");
    command.stderr(Stdio::null());
    BlockingServer::spawn(&mut command)
}

/// Sends one request with `headers` over a new connection, and returns the connection to
/// read its answer from ([`receive`]).
pub(crate) fn send(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Result<TcpStream, String> {
    let mut stream = TcpStream::connect(addr).map_err(|e| format!("{addr}: {e}"))?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() {
        head.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    head.push_str("\r\n");
    head.push_str(body);
    stream
        .write_all(head.as_bytes())
        .map_err(|e| e.to_string())?;
    Ok(stream)
}

/// The answer on `stream`, read until the server closes, at most `timeout` of silence.
pub(crate) fn receive(mut stream: TcpStream, timeout: Duration) -> Result<Reply<Bytes>, String> {
    stream
        .set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).map_err(|e| e.to_string())?;
    parse(&raw)
}

/// One request with `headers` over a new connection, its answer read with ten seconds of
/// patience.
pub(crate) fn request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Result<Reply<Bytes>, String> {
    receive(
        send(addr, method, path, headers, body)?,
        Duration::from_secs(10),
    )
}

fn etag_of(addr: &str, path: &str) -> Result<String, String> {
    let reply = exchange(addr, "GET", path, None)?;
    if reply.status != 200 {
        return Err(format!("GET {path}: {}", reply.status));
    }
    reply
        .header("etag")
        .map(str::to_owned)
        .ok_or_else(|| format!("GET {path}: no ETag"))
}

fn seed(addr: &str, products: usize) -> Result<(), String> {
    for i in 0..products {
        let body = format!(r#"{{"name":"Product {i}","price":{}.99}}"#, i % 500);
        let reply = exchange(addr, "POST", "/products", Some(&body))?;
        if reply.status != 201 {
            return Err(format!("POST /products: {}", reply.status));
        }
    }
    Ok(())
}

/// Requests per second that `wrk` reports.
fn wrk(addr: &str, path: &str, if_none_match: Option<&str>, seconds: u32) -> Result<f64, String> {
    let mut cmd = Command::new("wrk");
    cmd.args(["-t1", "-c16", &format!("-d{seconds}s")]);
    if let Some(tag) = if_none_match {
        cmd.args(["-H", &format!("If-None-Match: {tag}")]);
    }
    cmd.arg(format!("http://{addr}{path}"));
    let out = cmd.output().map_err(|e| format!("wrk: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if text.contains("Non-2xx or 3xx") && if_none_match.is_none() {
        return Err(format!("wrk {path}: error responses:\n{text}"));
    }
    text.lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| format!("wrk printed no rate:\n{text}"))
}

/// Rates of the 200 and 304 paths of one route, measured in alternating rounds so that
/// drift on a shared machine hits both; the ratio is the median of the per-round ratios.
struct Pair {
    ratio: f64,
    ok_rate: f64,
    not_modified_rate: f64,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn pair(addr: &str, path: &str, tag: &str, seconds: u32, rounds: usize) -> Result<Pair, String> {
    let (mut ratios, mut oks, mut nms) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let (ok, nm) = if round % 2 == 0 {
            let ok = wrk(addr, path, None, seconds)?;
            (ok, wrk(addr, path, Some(tag), seconds)?)
        } else {
            let nm = wrk(addr, path, Some(tag), seconds)?;
            (wrk(addr, path, None, seconds)?, nm)
        };
        ratios.push(nm / ok);
        oks.push(ok);
        nms.push(nm);
    }
    Ok(Pair {
        ratio: median(ratios),
        ok_rate: median(oks),
        not_modified_rate: median(nms),
    })
}

/// The list route with every product on one page: the 1,000-row list.
const LIST: &str = "/products?limit=1000";

/// The loopback figures: 304 path over 200 path for the list and one product, with the
/// early check and, for the list, without it; then the same on PostgreSQL against SQLite,
/// and three processes behind nginx against one.
pub(crate) fn run(
    smoke: bool,
    figures: &mut Vec<Figure>,
    notes: &mut Vec<String>,
) -> Result<(), String> {
    if Command::new("wrk").arg("--version").output().is_err() {
        notes.push("wrk not found: the loopback figures were skipped (apt-get install wrk)".into());
        return Ok(());
    }
    let binary = products::build()?;
    let (products, seconds, rounds) = if smoke { (20, 1, 1) } else { (1_000, 3, 3) };
    for (late, suffix) in [(false, ""), (true, "_late_check")] {
        let extra: &[&str] = if late { &["--late-check"] } else { &[] };
        let server = start(&binary, "sqlite::memory:", extra)?;
        seed(server.addr(), products)?;
        let list_tag = etag_of(server.addr(), LIST)?;
        let list = pair(server.addr(), LIST, &list_tag, seconds, rounds)?;
        figures.push(Figure {
            name: format!("list_304_vs_200_e2e{suffix}"),
            value: list.ratio,
            unit: "ratio".into(),
            baseline: format!(
                "requests/s of the 200 path over loopback with wrk ({:.0}/s; 304: {:.0}/s; {products} products{})",
                list.ok_rate,
                list.not_modified_rate,
                if late { "; decided after the full load" } else { "" }
            ),
            goal: if late { Goal::Info } else { Goal::AtLeast(5.0) },
        });
        if !late {
            go_peer(server.addr(), products, seconds, rounds, figures, notes)?;
            let item_tag = etag_of(server.addr(), "/products/1")?;
            let item = pair(server.addr(), "/products/1", &item_tag, seconds, rounds)?;
            figures.push(Figure {
                name: "item_304_vs_200_e2e".into(),
                value: item.ratio,
                unit: "ratio".into(),
                baseline: format!(
                    "requests/s of the 200 path over loopback with wrk ({:.0}/s; 304: {:.0}/s)",
                    item.ok_rate, item.not_modified_rate
                ),
                goal: Goal::AtLeast(1.2),
            });
        }
    }
    scale_out(&binary, smoke, figures, notes)
}

/// The Go peer (bench/go-peer): net/http's `ServeContent` over database/sql and
/// mattn/go-sqlite3, seeded with the same rows; stopped when dropped.
struct GoPeer {
    child: Child,
    dir: std::path::PathBuf,
    addr: String,
}

impl Drop for GoPeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Builds the Go peer from Debian's packaged sources (golang-go and
/// golang-github-mattn-go-sqlite3-dev), in GOPATH mode: no module proxy is needed. `None`
/// when `go` is not installed.
fn start_go_peer(products: usize) -> Result<Option<GoPeer>, String> {
    if Command::new("go").arg("version").output().is_err() {
        return Ok(None);
    }
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("go-peer/main.go");
    let dir = std::env::temp_dir().join(format!("etag-bench-go-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let binary = dir.join("go-peer");
    let gopath = std::env::var("GOPATH").unwrap_or_else(|_| "/usr/share/gocode".into());
    let out = Command::new("go")
        .args(["build", "-o"])
        .arg(&binary)
        .arg(&source)
        .env("GO111MODULE", "off")
        .env("GOPATH", gopath)
        .env("GOFLAGS", "")
        .output()
        .map_err(|e| format!("go build: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "go build of bench/go-peer failed (needs golang-github-mattn-go-sqlite3-dev): {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let addr = format!("127.0.0.1:{port}");
    let child = Command::new(&binary)
        .args([addr.as_str(), &products.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start the Go peer: {e}"))?;
    let peer = GoPeer { child, dir, addr };
    for _ in 0..200 {
        if TcpStream::connect(&peer.addr).is_ok() {
            return Ok(Some(peer));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err("the Go peer did not listen within 10 s".into())
}

/// The example against the Go peer, 200 paths of one product and of the 1,000-row list,
/// both on in-memory SQLite with the same rows, in alternating rounds.
fn go_peer(
    example: &str,
    products: usize,
    seconds: u32,
    rounds: usize,
    figures: &mut Vec<Figure>,
    notes: &mut Vec<String>,
) -> Result<(), String> {
    let Some(peer) = start_go_peer(products)? else {
        notes.push(
            "go not found: the figures against the Go peer were skipped (apt-get install \
             golang-go golang-github-mattn-go-sqlite3-dev)"
                .into(),
        );
        return Ok(());
    };
    for (name, path) in [("item", "/products/1"), ("list", LIST)] {
        let (ratio, go, ours) = versus(&peer.addr, example, path, None, seconds, rounds)?;
        let rows = if name == "list" {
            format!("; {products} rows")
        } else {
            String::new()
        };
        figures.push(Figure {
            name: format!("vs_go_{name}_200_e2e"),
            value: ratio,
            unit: "ratio".into(),
            baseline: format!(
                "requests/s of the Go peer (net/http ServeContent, database/sql, mattn/go-sqlite3, in-memory) over loopback with wrk ({go:.0}/s; the example: {ours:.0}/s{rows})"
            ),
            goal: Goal::AtLeast(1.0),
        });
    }
    Ok(())
}

/// The PostgreSQL admin URL the PostgreSQL figures create their database through.
pub(crate) fn postgres_admin_url() -> Option<String> {
    ["ETAG_BENCH_POSTGRES", "ETAG_TEST_POSTGRES"]
        .iter()
        .find_map(|key| std::env::var(key).ok().filter(|v| !v.is_empty()))
}

/// A database of the run's own, dropped at the end.
pub(crate) struct Scratch {
    runtime: tokio::runtime::Runtime,
    admin_url: String,
    name: String,
    pub(crate) url: String,
}

impl Scratch {
    /// `etag_bench_{what}_{pid}`, created empty (dropped first if a killed run left it).
    pub(crate) fn create(admin_url: &str, what: &str) -> Result<Self, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let name = format!("etag_bench_{what}_{}", std::process::id());
        runtime.block_on(admin(
            admin_url,
            &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
        ))?;
        runtime.block_on(admin(admin_url, &format!("CREATE DATABASE \"{name}\"")))?;
        // The admin URL with the new database as its path.
        let (base, _) = admin_url.split_once('?').unwrap_or((admin_url, ""));
        let query = &admin_url[base.len()..];
        let root = base
            .find("://")
            .and_then(|i| base[i + 3..].find('/').map(|j| &base[..i + 3 + j]))
            .unwrap_or(base);
        Ok(Self {
            url: format!("{root}/{name}{query}"),
            runtime,
            admin_url: admin_url.to_owned(),
            name,
        })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        if let Err(e) = self.runtime.block_on(admin(&self.admin_url, &sql)) {
            eprintln!("could not drop the benchmark database {}: {e}", self.name);
        }
    }
}

async fn admin(admin_url: &str, sql: &str) -> Result<(), String> {
    use sqlx::Connection as _;
    let mut connection = sqlx::PgConnection::connect(admin_url)
        .await
        .map_err(|e| format!("PostgreSQL at {}: {e}", redact(admin_url)))?;
    sqlx::raw_sql(sql)
        .execute(&mut connection)
        .await
        .map_err(|e| format!("{sql}: {e}"))?;
    let _ = connection.close().await;
    Ok(())
}

/// A URL without its password.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => match url[s + 3..at].split_once(':') {
            Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
            None => url.to_owned(),
        },
        _ => url.to_owned(),
    }
}

/// nginx with deploy/nginx/balancer.conf in front of `upstreams`; stopped when dropped.
struct Nginx {
    child: Child,
    dir: std::path::PathBuf,
    addr: String,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM to the master, which stops its workers; SIGKILL would leave them running.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn nginx_binary() -> Option<&'static str> {
    ["nginx", "/usr/sbin/nginx"].into_iter().find(|bin| {
        Command::new(bin)
            .arg("-v")
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

fn start_nginx(binary: &str, upstreams: &[&str]) -> Result<Nginx, String> {
    use std::os::unix::fs::PermissionsExt as _;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let conf = std::fs::read_to_string(root.join("deploy/nginx/balancer.conf"))
        .map_err(|e| format!("deploy/nginx/balancer.conf: {e}"))?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let dir = std::env::temp_dir().join(format!("etag-bench-nginx-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("logs")).map_err(|e| e.to_string())?;
    // nginx's workers drop root and must reach the prefix.
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| e.to_string())?;
    let listen = "listen 127.0.0.1:8080;";
    if !conf.contains(listen) {
        return Err(format!("deploy/nginx/balancer.conf has no `{listen}`"));
    }
    std::fs::write(
        dir.join("nginx.conf"),
        conf.replace(listen, &format!("listen 127.0.0.1:{port};")),
    )
    .map_err(|e| e.to_string())?;
    let servers: String = upstreams.iter().map(|a| format!("server {a};\n")).collect();
    std::fs::write(dir.join("upstreams.conf"), servers).map_err(|e| e.to_string())?;
    let prefix = format!("{}/", dir.display());
    let conf_path = dir.join("nginx.conf");
    let child = Command::new(binary)
        .args(["-p", &prefix, "-c"])
        .arg(&conf_path)
        .args(["-e", "stderr", "-g", "daemon off;"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start nginx: {e}"))?;
    let addr = format!("127.0.0.1:{port}");
    let nginx = Nginx { child, dir, addr };
    for _ in 0..200 {
        if TcpStream::connect(&nginx.addr).is_ok() {
            return Ok(nginx);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err("nginx did not listen within 10 s".into())
}

/// Requests per second of `candidate` over those of `baseline` for the same path and
/// If-None-Match, in alternating rounds; the median of the per-round ratios, and the
/// median rates.
fn versus(
    baseline: &str,
    candidate: &str,
    path: &str,
    tag: Option<&str>,
    seconds: u32,
    rounds: usize,
) -> Result<(f64, f64, f64), String> {
    let (mut ratios, mut bases, mut cands) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let (b, c) = if round % 2 == 0 {
            let b = wrk(baseline, path, tag, seconds)?;
            (b, wrk(candidate, path, tag, seconds)?)
        } else {
            let c = wrk(candidate, path, tag, seconds)?;
            (wrk(baseline, path, tag, seconds)?, c)
        };
        ratios.push(c / b);
        bases.push(b);
        cands.push(c);
    }
    Ok((median(ratios), median(bases), median(cands)))
}

/// PostgreSQL against SQLite for one product and the 1,000-row list, 200 and 304 paths;
/// then the 304 path through nginx and three processes against one process. Skipped,
/// with a note, without PostgreSQL or nginx.
fn scale_out(
    binary: &std::path::Path,
    smoke: bool,
    figures: &mut Vec<Figure>,
    notes: &mut Vec<String>,
) -> Result<(), String> {
    let Some(admin_url) = postgres_admin_url() else {
        notes.push(
            "PostgreSQL figures skipped: set ETAG_BENCH_POSTGRES (or ETAG_TEST_POSTGRES) to an \
             admin URL such as postgres://postgres@127.0.0.1:5432/postgres"
                .into(),
        );
        return Ok(());
    };
    let (products, seconds, rounds) = if smoke { (20, 1, 1) } else { (1_000, 3, 3) };
    let scratch = Scratch::create(&admin_url, "e2e")?;
    let dir = std::env::temp_dir().join(format!("etag-bench-sqlite-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let sqlite_url = format!("sqlite://{}", dir.join("products.db").display());
    let sqlite = start(binary, &sqlite_url, &[])?;
    let postgres = start(binary, &scratch.url, &[])?;
    seed(sqlite.addr(), products)?;
    seed(postgres.addr(), products)?;
    let routes = [("item", "/products/1"), ("list", LIST)];
    for (name, path) in routes {
        // The same rows give the same validators on either backend.
        let tag = etag_of(postgres.addr(), path)?;
        if etag_of(sqlite.addr(), path)? != tag {
            return Err(format!(
                "{path}: SQLite and PostgreSQL give different ETags"
            ));
        }
        // Per round: each backend's 200 and 304 rates, the order alternating.
        let (mut ok_ratio, mut nm_ratio, mut pg_nm_vs_ok) = (Vec::new(), Vec::new(), Vec::new());
        let (mut rates, mut order) = ([Vec::new(), Vec::new(), Vec::new(), Vec::new()], 0);
        for _ in 0..rounds {
            let measure = |addr: &str, tag: Option<&str>| wrk(addr, path, tag, seconds);
            let (s_ok, p_ok, s_nm, p_nm) = if order % 2 == 0 {
                let s_ok = measure(sqlite.addr(), None)?;
                let p_ok = measure(postgres.addr(), None)?;
                let s_nm = measure(sqlite.addr(), Some(&tag))?;
                (s_ok, p_ok, s_nm, measure(postgres.addr(), Some(&tag))?)
            } else {
                let p_nm = measure(postgres.addr(), Some(&tag))?;
                let s_nm = measure(sqlite.addr(), Some(&tag))?;
                let p_ok = measure(postgres.addr(), None)?;
                (measure(sqlite.addr(), None)?, p_ok, s_nm, p_nm)
            };
            order += 1;
            ok_ratio.push(p_ok / s_ok);
            nm_ratio.push(p_nm / s_nm);
            pg_nm_vs_ok.push(p_nm / p_ok);
            for (list, rate) in rates.iter_mut().zip([s_ok, p_ok, s_nm, p_nm]) {
                list.push(rate);
            }
        }
        let [s_ok, p_ok, s_nm, p_nm] = rates.map(median);
        let rows = if name == "list" {
            format!("; {products} rows")
        } else {
            String::new()
        };
        figures.push(Figure {
            name: format!("pg_{name}_304_vs_200_e2e"),
            value: median(pg_nm_vs_ok),
            unit: "ratio".into(),
            baseline: format!(
                "requests/s of the 200 path on PostgreSQL over loopback with wrk ({p_ok:.0}/s; 304: {p_nm:.0}/s{rows})"
            ),
            goal: if name == "list" { Goal::AtLeast(5.0) } else { Goal::Info },
        });
        for (status, ratio, s, p) in [("200", ok_ratio, s_ok, p_ok), ("304", nm_ratio, s_nm, p_nm)]
        {
            figures.push(Figure {
                name: format!("pg_vs_sqlite_{name}_{status}_e2e"),
                value: median(ratio),
                unit: "ratio".into(),
                baseline: format!(
                    "requests/s of the same {status} path on a SQLite file ({s:.0}/s; PostgreSQL: {p:.0}/s{rows})"
                ),
                goal: Goal::Info,
            });
        }
    }
    drop(sqlite);
    let _ = std::fs::remove_dir_all(&dir);

    let Some(nginx_bin) = nginx_binary() else {
        notes.push(
            "nginx not found: the figures behind nginx were skipped (apt-get install nginx)".into(),
        );
        return Ok(());
    };
    let second = start(binary, &scratch.url, &[])?;
    let third = start(binary, &scratch.url, &[])?;
    let nginx = start_nginx(nginx_bin, &[postgres.addr(), second.addr(), third.addr()])?;
    for (name, path) in routes {
        let tag = etag_of(&nginx.addr, path)?;
        let (ratio, one, three) = versus(
            postgres.addr(),
            &nginx.addr,
            path,
            Some(&tag),
            seconds,
            rounds,
        )?;
        figures.push(Figure {
            name: format!("pg_{name}_304_three_behind_nginx_vs_one"),
            value: ratio,
            unit: "ratio".into(),
            baseline: format!(
                "requests/s of the 304 path from one process on PostgreSQL, no nginx ({one:.0}/s; three behind nginx: {three:.0}/s)"
            ),
            goal: Goal::Info,
        });
    }
    drop(nginx);
    drop((second, third, postgres));
    drop(scratch);
    Ok(())
}

//! End to end over loopback: the example binary under `wrk`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::report::{Figure, Goal};

/// The example server, stopped when dropped.
struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(binary: &std::path::Path, extra: &[&str]) -> Result<Server, String> {
    let mut child = Command::new(binary)
        .args(["--listen", "127.0.0.1:0", "--database", "sqlite::memory:"])
        .args(extra)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let addr = loop {
        match lines.next() {
            Some(Ok(line)) => {
                if let Some(addr) = line.strip_prefix("listening on http://") {
                    break addr.trim().to_owned();
                }
            }
            _ => {
                let _ = child.kill();
                return Err("the server exited before listening".into());
            }
        }
    };
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Ok(Server { child, addr })
}

/// A response read off the wire.
struct Reply {
    status: u16,
    /// Names lower-cased.
    headers: Vec<(String, String)>,
}

/// One HTTP/1.1 exchange on a fresh connection.
fn exchange(addr: &str, method: &str, path: &str, body: Option<&str>) -> Result<Reply, String> {
    let mut stream = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    let body = body.unwrap_or("");
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(req.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&raw);
    let (head, _body) = text.split_once("\r\n\r\n").ok_or("no header end")?;
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or("no status")?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Ok(Reply { status, headers })
}

fn etag_of(addr: &str, path: &str) -> Result<String, String> {
    let reply = exchange(addr, "GET", path, None)?;
    if reply.status != 200 {
        return Err(format!("GET {path}: {}", reply.status));
    }
    reply
        .headers
        .into_iter()
        .find(|(k, _)| k == "etag")
        .map(|(_, v)| v)
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

/// Builds the example binary with the same profile as this command.
fn build_products() -> Result<std::path::PathBuf, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "-q", "-p", "etag-examples", "--bin", "products"]);
    if !cfg!(debug_assertions) {
        cmd.arg("--release");
    }
    let status = cmd.status().map_err(|e| e.to_string())?;
    if !status.success() {
        return Err("building the products binary failed".into());
    }
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    Ok(exe.with_file_name(format!("products{}", std::env::consts::EXE_SUFFIX)))
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

/// The loopback figures: 304 path over 200 path for the list and one product, with the
/// early check and, for the list, without it.
pub(crate) fn run(
    smoke: bool,
    figures: &mut Vec<Figure>,
    notes: &mut Vec<String>,
) -> Result<(), String> {
    if Command::new("wrk").arg("--version").output().is_err() {
        notes.push("wrk not found: the loopback figures were skipped (apt-get install wrk)".into());
        return Ok(());
    }
    let binary = build_products()?;
    let (products, seconds, rounds) = if smoke { (20, 1, 1) } else { (1_000, 3, 3) };
    for (late, suffix) in [(false, ""), (true, "_late_check")] {
        let server = start(&binary, if late { &["--late-check"] } else { &[] })?;
        seed(&server.addr, products)?;
        let list_tag = etag_of(&server.addr, "/products")?;
        let list = pair(&server.addr, "/products", &list_tag, seconds, rounds)?;
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
            let item_tag = etag_of(&server.addr, "/products/1")?;
            let item = pair(&server.addr, "/products/1", &item_tag, seconds, rounds)?;
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
    Ok(())
}

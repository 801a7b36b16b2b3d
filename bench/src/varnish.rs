//! The cost model of shared caches with cache groups: through Varnish with
//! deploy/varnish/default.vcl, reads of 100 products with 1% writes, in cache mode
//! (`--shared-max-age`, responses held until a write invalidates their groups) against the
//! same workload with the API's `no-cache` alone, where every read reaches the origin. The
//! origin requests are Varnish's own count (`MAIN.backend_req`).

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use etag_test_support::products::{self, BlockingServer};

use crate::e2e::request;
use crate::report::{Figure, Goal};

/// varnishd with deploy/varnish/default.vcl, from a directory of its own; stopped when
/// dropped.
struct Varnish {
    child: Child,
    dir: std::path::PathBuf,
    addr: String,
}

impl Drop for Varnish {
    fn drop(&mut self) {
        // SIGTERM to the manager, which stops its child; wait for both.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Varnish {
    fn start(binary: &str, backend: &str, name: &str) -> Result<Self, String> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let vcl = std::fs::read_to_string(root.join("deploy/varnish/default.vcl"))
            .map_err(|e| format!("deploy/varnish/default.vcl: {e}"))?;
        let line = ".port = \"3001\";";
        if !vcl.contains(line) {
            return Err(format!("deploy/varnish/default.vcl has no `{line}`"));
        }
        let port = backend.rsplit(':').next().unwrap_or_default();
        let dir =
            std::env::temp_dir().join(format!("etag-bench-varnish-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| e.to_string())?;
        let vcl_path = dir.join("default.vcl");
        std::fs::write(
            &vcl_path,
            vcl.replace(line, &format!(".port = \"{port}\";")),
        )
        .map_err(|e| e.to_string())?;
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .to_string();
        let child = Command::new(binary)
            .arg("-F")
            .arg("-n")
            .arg(dir.join("work"))
            .args(["-a", &addr, "-f"])
            .arg(&vcl_path)
            .args(["-p", "http_gzip_support=off", "-s", "malloc,64m"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start varnishd: {e}"))?;
        let varnish = Self { child, dir, addr };
        for _ in 0..300 {
            if TcpStream::connect(&varnish.addr).is_ok() {
                return Ok(varnish);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err("varnishd did not listen within 15 s".into())
    }

    /// Requests Varnish sent to the origin so far, once the counter has settled (a worker
    /// adds its counts when it finishes a task).
    fn origin_requests(&self) -> Result<u64, String> {
        let mut last = None;
        for _ in 0..50 {
            let out = Command::new("varnishstat")
                .arg("-n")
                .arg(self.dir.join("work"))
                .args(["-1", "-f", "MAIN.backend_req"])
                .output()
                .map_err(|e| format!("varnishstat: {e}"))?;
            let text = String::from_utf8_lossy(&out.stdout);
            let now: u64 = text
                .split_whitespace()
                .nth(1)
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("varnishstat printed no MAIN.backend_req: {text}"))?;
            if last == Some(now) {
                return Ok(now);
            }
            last = Some(now);
            std::thread::sleep(Duration::from_millis(50));
        }
        Err("MAIN.backend_req did not settle".into())
    }
}

fn varnish_binary() -> Option<&'static str> {
    ["varnishd", "/usr/sbin/varnishd"].into_iter().find(|bin| {
        Command::new(bin)
            .arg("-V")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// What one run of the workload gave.
struct Run {
    origin_requests: u64,
    reads: usize,
    writes: usize,
    stale: usize,
    /// From each write's response to the end of the first read that saw it.
    write_to_fresh: Vec<Duration>,
    /// Reads that Varnish answered from its copy: a stored product, not just written.
    hit_reads: Vec<Duration>,
}

/// `reads` GETs through Varnish over `products` products, with a PUT through it after
/// every 99th read (1% of the requests), each followed by a read of the product written.
fn workload(varnish: &Varnish, products: usize, reads: usize) -> Result<Run, String> {
    let mut tags: Vec<Option<String>> = vec![None; products + 1];
    let before = varnish.origin_requests()?;
    let mut run = Run {
        origin_requests: 0,
        reads: 0,
        writes: 0,
        stale: 0,
        write_to_fresh: Vec::new(),
        hit_reads: Vec::new(),
    };
    // A fixed pseudo-random sequence of ids (a linear congruential generator).
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next_id = || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as usize % products + 1
    };
    let mut written: Option<(usize, String, Instant)> = None;
    while run.reads < reads {
        // The product just written is read first: the read a client makes after its write.
        let id = written.as_ref().map_or_else(&mut next_id, |(id, _, _)| *id);
        let path = format!("/products/{id}");
        let started = Instant::now();
        let reply = request(&varnish.addr, "GET", &path, &[], "")?;
        let took = started.elapsed();
        if reply.status != 200 {
            return Err(format!("GET {path}: {}", reply.status));
        }
        run.reads += 1;
        let tag = reply.etag().to_owned();
        match written.take() {
            Some((_, expected, at)) => {
                if tag == expected {
                    run.write_to_fresh.push(at.elapsed());
                } else {
                    run.stale += 1;
                }
            }
            // X-Varnish names the stored response's transaction too on a hit.
            None if reply
                .header("x-varnish")
                .is_some_and(|v| v.split_whitespace().count() == 2) =>
            {
                run.hit_reads.push(took);
            }
            None => {}
        }
        tags[id] = Some(tag);
        if run.reads.is_multiple_of(99) {
            let id = next_id();
            let current = match &tags[id] {
                Some(tag) => tag.clone(),
                None => request(&varnish.addr, "GET", &format!("/products/{id}"), &[], "")?
                    .etag()
                    .to_owned(),
            };
            let body = format!(r#"{{"name":"Product {id} v{}","price":1.5}}"#, run.writes);
            let reply = request(
                &varnish.addr,
                "PUT",
                &format!("/products/{id}"),
                &[("If-Match", &current)],
                &body,
            )?;
            if reply.status != 200 {
                return Err(format!("PUT /products/{id}: {}", reply.status));
            }
            run.writes += 1;
            written = Some((id, reply.etag().to_owned(), Instant::now()));
        }
    }
    run.origin_requests = varnish.origin_requests()? - before;
    Ok(run)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

/// One process on a SQLite file with `extra`, 100 products, Varnish in front; the workload.
fn measure(
    binary: &std::path::Path,
    varnishd: &str,
    name: &str,
    extra: &[&str],
    products: usize,
    reads: usize,
) -> Result<Run, String> {
    let dir = std::env::temp_dir().join(format!("etag-bench-groups-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let database = format!("sqlite://{}", dir.join("products.db").display());
    let mut args = vec!["--database", database.as_str()];
    args.extend_from_slice(extra);
    let mut command = products::command(binary, &args, "warn");
    command.stderr(Stdio::null());
    let server = BlockingServer::spawn(&mut command)?;
    for i in 0..products {
        let body = format!(r#"{{"name":"Product {i}","price":{}.99}}"#, i % 50);
        let reply = request(server.addr(), "POST", "/products", &[], &body)?;
        if reply.status != 201 {
            return Err(format!("POST /products: {}", reply.status));
        }
    }
    let varnish = Varnish::start(varnishd, server.addr(), name)?;
    let run = workload(&varnish, products, reads);
    drop(varnish);
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
    run
}

/// The figures: origin requests in cache mode against `no-cache` alone, stale reads after
/// a write's response, and the time from a write's response to the read that sees it
/// against a read Varnish answers from its copy. Skipped, with a note, without Varnish.
pub(crate) fn run(
    smoke: bool,
    figures: &mut Vec<Figure>,
    notes: &mut Vec<String>,
) -> Result<(), String> {
    let Some(varnishd) = varnish_binary() else {
        notes.push(
            "varnishd not found: the cache-group figures were skipped \
             (apt-get install varnish varnish-modules)"
                .into(),
        );
        return Ok(());
    };
    let binary = products::build()?;
    let (products, reads) = if smoke { (100, 500) } else { (100, 10_000) };
    let held = measure(
        &binary,
        varnishd,
        "held",
        &["--shared-max-age", "86400"],
        products,
        reads,
    )?;
    let revalidated = measure(&binary, varnishd, "no-cache", &[], products, reads)?;
    figures.push(Figure {
        name: "varnish_origin_requests_held_vs_no_cache".into(),
        value: held.origin_requests as f64 / revalidated.origin_requests.max(1) as f64,
        unit: "ratio".into(),
        baseline: format!(
            "origin requests through Varnish for {} reads of {products} products and {} writes \
             with no-cache alone ({}; held until a write: {})",
            revalidated.reads,
            revalidated.writes,
            revalidated.origin_requests,
            held.origin_requests
        ),
        goal: Goal::AtMost(0.05),
    });
    figures.push(Figure {
        name: "varnish_stale_reads_after_a_write".into(),
        value: held.stale as f64,
        unit: "reads".into(),
        baseline: format!(
            "the read of a product right after its write's response, through Varnish ({} writes)",
            held.writes
        ),
        goal: Goal::AtMost(0.0),
    });
    let fresh = median(held.write_to_fresh);
    let hit = median(held.hit_reads);
    figures.push(Figure {
        name: "varnish_write_to_fresh_read_vs_hit".into(),
        value: fresh.as_secs_f64() / hit.as_secs_f64().max(1e-9),
        unit: "ratio".into(),
        baseline: format!(
            "a read Varnish answers from its copy ({:.0} µs; from a write's response to the \
             end of the read that sees it: {:.0} µs, medians)",
            hit.as_secs_f64() * 1e6,
            fresh.as_secs_f64() * 1e6
        ),
        goal: Goal::Info,
    });
    Ok(())
}

//! Wait for change (`Prefer: wait`, etag-runtime's `WaitLayer`) with the example binary:
//! how soon a held GET answers after a write, in one process and from another process on
//! the same PostgreSQL database (`LISTEN`/`NOTIFY`); what ten thousand held GETs cost a
//! process and its other requests; and the requests and staleness of clients that wait
//! against clients that poll once a second.
//!
//! Every held GET and every write goes over its own blocking connection with
//! `Connection: close`, timed when its whole answer has arrived. `ETAG_BENCH_ONLY=wait`
//! runs these figures alone, printed and not written to BENCHMARKS.md.

use std::io::Write as _;
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use etag_test_support::Reply;
use etag_test_support::products;

use crate::e2e::{Scratch, postgres_admin_url, receive, request, send, start};
use crate::report::{Figure, Goal};

/// The product every scenario watches and writes: the first one seeded.
const PRODUCT: &str = "/products/1";

/// `ETAG_BENCH_ONLY=wait`: these figures alone, printed and nothing written; `false`, and
/// nothing done, without that variable.
pub(crate) fn alone(smoke: bool, json: bool) -> bool {
    if std::env::var("ETAG_BENCH_ONLY").as_deref() != Ok("wait") {
        return false;
    }
    let (mut figures, mut notes) = (Vec::new(), Vec::new());
    if let Err(e) = run(smoke, &mut figures, &mut notes) {
        eprintln!("wait-for-change benchmark failed: {e}");
        std::process::exit(1);
    }
    if json {
        for f in &figures {
            println!("{}", crate::report::json_line(f));
        }
    } else {
        print!("{}", crate::report::table(&figures));
        for note in &notes {
            println!("note: {note}");
        }
    }
    true
}

fn etag(reply: &Reply<Bytes>) -> Option<String> {
    reply.header("etag").map(str::to_owned)
}

/// The current tag of [`PRODUCT`] on `addr`.
fn current(addr: &str) -> Result<String, String> {
    let reply = request(addr, "GET", PRODUCT, &[], "")?;
    match (reply.status, etag(&reply)) {
        (200, Some(tag)) => Ok(tag),
        (status, _) => Err(format!("GET {PRODUCT}: {status} (or no ETag)")),
    }
}

/// Creates [`PRODUCT`] (the first product of an empty database).
fn seed(addr: &str) -> Result<(), String> {
    let reply = request(
        addr,
        "POST",
        "/products",
        &[],
        r#"{"name":"Watched","price":1.5}"#,
    )?;
    if reply.status != 201 || reply.header("location") != Some(PRODUCT) {
        return Err(format!(
            "POST /products: {} at {:?}, not 201 at {PRODUCT}",
            reply.status,
            reply.header("location")
        ));
    }
    Ok(())
}

/// PUT of [`PRODUCT`] over `tag`: its new tag.
fn write(addr: &str, tag: &str, n: usize) -> Result<String, String> {
    let body = format!(r#"{{"name":"Watched v{n}","price":1.5}}"#);
    let reply = request(addr, "PUT", PRODUCT, &[("If-Match", tag)], &body)?;
    match (reply.status, etag(&reply)) {
        (200, Some(tag)) => Ok(tag),
        (status, _) => Err(format!("PUT {PRODUCT}: {status} (or no ETag)")),
    }
}

/// `waiting` of `GET /health`: the requests `addr` holds now.
fn waiting(addr: &str) -> Result<usize, String> {
    let reply = request(addr, "GET", "/health", &[], "")?;
    let health: serde_json::Value =
        serde_json::from_slice(&reply.body).map_err(|e| format!("GET /health: {e}"))?;
    health["waiting"]
        .as_u64()
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| format!("GET /health: no `waiting` in {health}"))
}

/// Polls `GET /health` on `addr` until it holds `n` requests, at most `timeout`; how many
/// it held last.
fn until_waiting(addr: &str, n: usize, timeout: Duration) -> Result<usize, String> {
    let started = Instant::now();
    loop {
        let now = waiting(addr)?;
        if now >= n || started.elapsed() > timeout {
            return Ok(now);
        }
        std::thread::sleep(Duration::from_micros(500));
    }
}

/// A held GET of [`PRODUCT`]: `If-None-Match: tag`, `Prefer: wait=seconds`.
fn hold(addr: &str, tag: &str, seconds: u32) -> Result<TcpStream, String> {
    send(
        addr,
        "GET",
        PRODUCT,
        &[
            ("If-None-Match", tag),
            ("Prefer", &format!("wait={seconds}")),
        ],
        "",
    )
}

/// Milliseconds from `from` to `to`, negative when `to` came first.
fn signed_ms(from: Instant, to: Instant) -> f64 {
    match to.checked_duration_since(from) {
        Some(d) => d.as_secs_f64() * 1e3,
        None => -from.duration_since(to).as_secs_f64() * 1e3,
    }
}

/// The nearest-rank `p` quantile of `sorted`.
fn quantile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

/// The figures: wake latency in one process and across PostgreSQL processes, ten thousand
/// waiters on one process, and waiting against polling once a second.
pub(crate) fn run(
    smoke: bool,
    figures: &mut Vec<Figure>,
    notes: &mut Vec<String>,
) -> Result<(), String> {
    let binary = products::build()?;
    let samples = if smoke { 20 } else { 200 };
    let server = start(&binary, "sqlite::memory:", &[])?;
    seed(server.addr())?;
    let woke = wake(server.addr(), server.addr(), samples)?;
    drop(server);
    woke.figures(
        "in_process",
        "on the same process (in-memory SQLite)",
        5.0,
        figures,
    );

    match postgres_admin_url() {
        Some(admin_url) => {
            let scratch = Scratch::create(&admin_url, "wait")?;
            let a = start(&binary, &scratch.url, &[])?;
            let b = start(&binary, &scratch.url, &[])?;
            seed(b.addr())?;
            if current(a.addr())? != current(b.addr())? {
                return Err(format!(
                    "{PRODUCT}: two processes on one database give different ETags"
                ));
            }
            let woke = wake(a.addr(), b.addr(), samples)?;
            drop((a, b));
            drop(scratch);
            woke.figures(
                "across_postgres",
                "on process A, the PUT on process B, both on one PostgreSQL database \
                 (LISTEN/NOTIFY)",
                50.0,
                figures,
            );
        }
        None => notes.push(
            "PostgreSQL wake figures (wait_wake_*_across_postgres) skipped: set \
             ETAG_BENCH_POSTGRES (or ETAG_TEST_POSTGRES) to an admin URL such as \
             postgres://postgres@127.0.0.1:5432/postgres"
                .into(),
        ),
    }

    many(&binary, smoke, figures)?;
    versus_polling(&binary, smoke, figures)
}

/// Wake latencies: from each PUT's response to the end of the held GET's 200.
struct Wake {
    /// Milliseconds, one per sample that was held and woke with the PUT's tag.
    latencies: Vec<f64>,
    samples: usize,
    /// Samples that were not: each with what came instead.
    anomalies: Vec<String>,
}

impl Wake {
    fn figures(self, suffix: &str, where_: &str, goal_p99: f64, figures: &mut Vec<Figure>) {
        let answered_first = self.latencies.iter().filter(|&&l| l < 0.0).count();
        let all = sorted(self.latencies);
        let (p50, p99) = (quantile(&all, 0.5), quantile(&all, 0.99));
        let max = all.last().copied().unwrap_or(f64::NAN);
        let shown = self.anomalies.iter().take(3).cloned().collect::<Vec<_>>();
        let context = format!(
            "{} samples; p50 {p50:.2} ms, p99 {p99:.2} ms, max {max:.2} ms; {answered_first} \
             answered before the PUT's own response (negative); {} not a held 200 with the \
             PUT's ETag{}",
            self.samples,
            self.anomalies.len(),
            if shown.is_empty() {
                String::new()
            } else {
                format!(": {}", shown.join("; "))
            }
        );
        for (quantile, value, goal) in [
            ("p50", p50, Goal::Info),
            ("p99", p99, Goal::AtMost(goal_p99)),
        ] {
            figures.push(Figure {
                name: format!("wait_wake_{quantile}_{suffix}"),
                value,
                unit: "ms".into(),
                baseline: format!(
                    "from a PUT's response to the end of the 200 of a GET held with Prefer: \
                     wait {where_}, each GET seen held in /health before the PUT ({context})"
                ),
                goal,
            });
        }
    }
}

/// `samples` times: a GET of [`PRODUCT`] held on `waiter`, seen held there, a PUT through
/// `writer`, and the GET's answer.
fn wake(waiter: &str, writer: &str, samples: usize) -> Result<Wake, String> {
    let mut tag = current(waiter)?;
    let mut wake = Wake {
        latencies: Vec::with_capacity(samples),
        samples,
        anomalies: Vec::new(),
    };
    for n in 0..samples {
        let held = hold(waiter, &tag, 30)?;
        let reader = std::thread::spawn(move || {
            let reply = receive(held, Duration::from_secs(40));
            (reply, Instant::now())
        });
        let now = until_waiting(waiter, 1, Duration::from_secs(5))?;
        let new_tag = write(writer, &tag, n)?;
        let written = Instant::now();
        let (reply, answered) = reader.join().map_err(|_| "a waiter's reader panicked")?;
        let reply = reply?;
        let applied = reply.header("preference-applied").map(str::to_owned);
        let got = etag(&reply);
        if now == 1
            && reply.status == 200
            && got.as_deref() == Some(new_tag.as_str())
            && applied.is_some()
        {
            wake.latencies.push(signed_ms(written, answered));
        } else {
            wake.anomalies.push(format!(
                "sample {n}: {} held, then {} with {got:?}, Preference-Applied {applied:?}",
                now, reply.status
            ));
        }
        tag = new_tag;
    }
    Ok(wake)
}

/// Resident memory of process `pid`, in KiB.
fn rss_kib(pid: u32) -> Result<u64, String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| format!("/proc/{pid}/status: {e}"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| format!("no VmRSS in /proc/{pid}/status"))
}

/// `n` sequential `GET /health`, each on a new connection: their times in ms, sorted.
fn health_times(addr: &str, n: usize) -> Result<Vec<f64>, String> {
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        let reply = request(addr, "GET", "/health", &[], "")?;
        times.push(started.elapsed().as_secs_f64() * 1e3);
        if reply.status != 200 {
            return Err(format!("GET /health: {}", reply.status));
        }
    }
    Ok(sorted(times))
}

/// Server memory per connection that has sent the head of a held GET but for its last
/// line, so that the server reads on and never answers: the connection's share of a
/// waiter, in KiB; on a process of its own, so that neither reuses the other's memory.
fn connection_share(binary: &std::path::Path, n: usize, tag: &str) -> Result<f64, String> {
    let server = start(
        binary,
        "sqlite::memory:",
        &[
            "--max-connections",
            &(n + 200).to_string(),
            "--header-read-timeout",
            "60s",
        ],
    )?;
    let addr = server.addr().to_owned();
    let pid = server.child.id();
    let fds = || {
        std::fs::read_dir(format!("/proc/{pid}/fd"))
            .map(Iterator::count)
            .map_err(|e| format!("/proc/{pid}/fd: {e}"))
    };
    health_times(&addr, 100)?;
    // The last /health connection may still be open on the server's side for a moment.
    std::thread::sleep(Duration::from_millis(100));
    let (before, open) = (rss_kib(pid)?, fds()?);
    let head = format!(
        "GET {PRODUCT} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nIf-None-Match: \
         {tag}\r\nPrefer: wait=60\r\n"
    );
    let mut held = Vec::with_capacity(n);
    for sent in 1..=n {
        let mut stream = TcpStream::connect(&addr).map_err(|e| format!("{addr}: {e}"))?;
        stream
            .write_all(head.as_bytes())
            .map_err(|e| e.to_string())?;
        held.push(stream);
        // As for the waiters, at most 100 not yet accepted (an open descriptor each; a few
        // of slack for descriptors the server closes meanwhile).
        if sent % 100 == 0 || sent == n {
            let started = Instant::now();
            while fds()? + 4 < open + sent {
                if started.elapsed() > Duration::from_secs(10) {
                    let accepted = fds()?.saturating_sub(open);
                    return Err(format!("{accepted} of {sent} connections accepted"));
                }
                std::thread::sleep(Duration::from_micros(500));
            }
        }
    }
    std::thread::sleep(Duration::from_millis(200));
    let after = rss_kib(pid)?;
    drop(held);
    drop(server);
    Ok((after as f64 - before as f64) / n as f64)
}

/// Ten thousand GETs held on one process (200 in smoke): its memory per waiter, `/health`
/// while they wait, and one PUT that wakes them all.
fn many(binary: &std::path::Path, smoke: bool, figures: &mut Vec<Figure>) -> Result<(), String> {
    let (waiters, probes) = if smoke { (200, 100) } else { (10_000, 500) };
    let server = start(
        binary,
        "sqlite::memory:",
        &[
            "--max-connections",
            &(waiters + 200).to_string(),
            "--max-waiters",
            &waiters.to_string(),
            "--max-wait",
            "60s",
        ],
    )?;
    let addr = server.addr().to_owned();
    seed(&addr)?;
    let tag = current(&addr)?;
    // Warm up and measure /health with nobody waiting, then the memory before.
    let idle = health_times(&addr, probes)?;
    let before = rss_kib(server.child.id())?;

    let opening = Instant::now();
    let mut held = Vec::with_capacity(waiters);
    for sent in 1..=waiters {
        held.push(hold(&addr, &tag, 60)?);
        // At most 100 not yet held: a larger burst overflows the server's accept queue
        // (tokio's listener asks for a backlog of 128), and each connection the kernel
        // turns away retries a second or more later: that would time the client's
        // retransmissions, not the server.
        if sent % 100 == 0 {
            until_waiting(&addr, sent, Duration::from_secs(10))?;
        }
    }
    let now = until_waiting(&addr, waiters, Duration::from_secs(40))?;
    let opened = opening.elapsed();
    if now != waiters {
        return Err(format!(
            "{now} of {waiters} GETs held after {:.1} s",
            opened.as_secs_f64()
        ));
    }
    // Once the last one is held its allocations are made; a moment for the counters.
    std::thread::sleep(Duration::from_millis(200));
    let after = rss_kib(server.child.id())?;
    let busy = health_times(&addr, probes)?;
    let still = waiting(&addr)?;
    if still != waiters {
        return Err(format!(
            "{still} of {waiters} GETs still held after the /health requests"
        ));
    }

    // Readers for every held GET, then one PUT that wakes them all.
    let per_reader = waiters.div_ceil(8);
    let mut readers = Vec::new();
    while !held.is_empty() {
        let chunk: Vec<TcpStream> = held.drain(..per_reader.min(held.len())).collect();
        readers.push(std::thread::spawn(move || {
            let mut answers = Vec::with_capacity(chunk.len());
            for stream in chunk {
                let reply = receive(stream, Duration::from_secs(60));
                answers.push((reply, Instant::now()));
            }
            answers
        }));
    }
    let new_tag = write(&addr, &tag, 0)?;
    let written = Instant::now();
    let (mut woken, mut last, mut wrong) = (0, written, Vec::new());
    for reader in readers {
        for (reply, at) in reader.join().map_err(|_| "a waiter's reader panicked")? {
            match reply {
                Ok(r)
                    if r.status == 200
                        && etag(&r).as_deref() == Some(new_tag.as_str())
                        && r.has("preference-applied") =>
                {
                    woken += 1;
                    last = last.max(at);
                }
                Ok(r) => wrong.push(format!("{} with {:?}", r.status, etag(&r))),
                Err(e) => wrong.push(e),
            }
        }
    }
    drop(server);

    let per_waiter = (after as f64 - before as f64) / waiters as f64;
    let per_connection = connection_share(binary, waiters, &tag)?;
    let wrong = if wrong.is_empty() {
        String::new()
    } else {
        format!(
            "; {} not woken with the PUT's ETag, first: {}",
            wrong.len(),
            wrong[0]
        )
    };
    figures.push(Figure {
        name: format!("wait_memory_per_waiter_{waiters}"),
        value: per_waiter,
        unit: "KiB".into(),
        baseline: format!(
            "server RSS (VmRSS) with {waiters} GETs held over as many connections, less RSS \
             before them, per GET; each connection's own memory is included, the kernel's \
             socket buffers are not ({before} KiB before, {after} KiB with them held; all \
             held {:.1} s after the first was sent, at most 100 at a time not yet held; \
             per connection that sent the same head but for its last line, on a process of \
             its own: {per_connection:.1} KiB)",
            opened.as_secs_f64()
        ),
        goal: Goal::Info,
    });
    figures.push(Figure {
        name: format!("wait_health_p99_{waiters}_waiting"),
        value: quantile(&busy, 0.99),
        unit: "ms".into(),
        baseline: format!(
            "{probes} sequential GET /health, each on a new connection, while {waiters} GETs \
             are held (p50 {:.2} ms, max {:.2} ms; with none held: p50 {:.2} ms, p99 {:.2} ms)",
            quantile(&busy, 0.5),
            busy.last().copied().unwrap_or(f64::NAN),
            quantile(&idle, 0.5),
            quantile(&idle, 0.99)
        ),
        goal: Goal::AtMost(10.0),
    });
    figures.push(Figure {
        name: format!("wait_wake_all_{waiters}"),
        value: signed_ms(written, last),
        unit: "ms".into(),
        baseline: format!(
            "from one PUT's response to the end of the last 200 of {waiters} held GETs, read \
             by 8 client threads ({woken} woken with the PUT's ETag{wrong})"
        ),
        goal: Goal::Info,
    });
    Ok(())
}

/// What one watching client saw: the tags it got, each when it got it, and its requests.
#[derive(Default)]
struct Watch {
    requests: usize,
    seen: Vec<(String, Instant)>,
    /// Answers that were neither a new tag nor, for a waiting client, a held 304.
    odd: Vec<String>,
}

/// A client that waits for change: GET with its tag and `Prefer: wait=30`, again and again,
/// until `stop` (each request started before it counts).
fn waiting_client(addr: &str, mut tag: String, stop: &AtomicBool) -> Watch {
    let mut watch = Watch::default();
    while !stop.load(Ordering::SeqCst) {
        watch.requests += 1;
        let reply = hold(addr, &tag, 30).and_then(|s| receive(s, Duration::from_secs(40)));
        let at = Instant::now();
        match reply {
            // A 200 without Preference-Applied is a write made between two of its
            // requests: the tag did not match, and the answer came at once.
            Ok(r) if r.status == 200 && r.has("etag") => {
                tag = etag(&r).unwrap_or_default();
                watch.seen.push((tag.clone(), at));
            }
            Ok(r) if r.status == 304 && r.has("preference-applied") => {}
            Ok(r) => {
                watch.odd.push(format!(
                    "{} with {:?}, Preference-Applied {:?}",
                    r.status,
                    etag(&r),
                    r.header("preference-applied")
                ));
                std::thread::sleep(Duration::from_secs(1));
            }
            Err(e) => {
                watch.odd.push(e);
                std::thread::sleep(Duration::from_secs(1));
            }
        }
    }
    watch
}

/// A client that polls once a second from `first`, with `If-None-Match`, until `end`.
fn polling_client(addr: &str, mut tag: String, first: Instant, end: Instant) -> Watch {
    let mut watch = Watch::default();
    let mut next = first;
    loop {
        if let Some(pause) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(pause);
        }
        if Instant::now() >= end {
            return watch;
        }
        watch.requests += 1;
        let reply = request(addr, "GET", PRODUCT, &[("If-None-Match", &tag)], "");
        let at = Instant::now();
        match reply {
            Ok(r) if r.status == 200 => {
                if let Some(new) = etag(&r) {
                    tag = new;
                    watch.seen.push((tag.clone(), at));
                }
            }
            Ok(r) if r.status == 304 => {}
            Ok(r) => watch.odd.push(format!("{}", r.status)),
            Err(e) => watch.odd.push(e),
        }
        next += Duration::from_secs(1);
    }
}

/// From each write's response to when each client first saw that write or a later one, in
/// ms; and how many (client, write) pairs never did within the run.
fn staleness(writes: &[(String, Instant)], watches: &[Watch]) -> (Vec<f64>, usize) {
    let (mut delays, mut missed) = (Vec::new(), 0);
    for watch in watches {
        // The index of each write the client saw, in order of seeing.
        let seen: Vec<(usize, Instant)> = watch
            .seen
            .iter()
            .filter_map(|(tag, at)| {
                writes
                    .iter()
                    .position(|(written, _)| written == tag)
                    .map(|i| (i, *at))
            })
            .collect();
        for (i, (_, written)) in writes.iter().enumerate() {
            match seen.iter().find(|(j, _)| *j >= i) {
                Some((_, at)) => delays.push(signed_ms(*written, *at)),
                None => missed += 1,
            }
        }
    }
    (delays, missed)
}

/// Clients that wait against clients that poll once a second, all watching one product
/// that a writer changes every 2 s: their requests and how stale each kind is.
fn versus_polling(
    binary: &std::path::Path,
    smoke: bool,
    figures: &mut Vec<Figure>,
) -> Result<(), String> {
    let (clients, seconds) = if smoke { (5, 6) } else { (20, 20) };
    const EVERY: Duration = Duration::from_secs(2);
    let server = start(binary, "sqlite::memory:", &[])?;
    let addr = server.addr().to_owned();
    seed(&addr)?;
    let first_tag = current(&addr)?;
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now() + Duration::from_millis(200);
    let end = start + Duration::from_secs(seconds);
    let mut waiters = Vec::new();
    let mut pollers = Vec::new();
    for i in 0..clients {
        let (to, tag, stop) = (addr.clone(), first_tag.clone(), Arc::clone(&stop));
        waiters.push(std::thread::spawn(move || {
            if let Some(pause) = start.checked_duration_since(Instant::now()) {
                std::thread::sleep(pause);
            }
            waiting_client(&to, tag, &stop)
        }));
        // Pollers spread evenly over the second.
        let (to, tag) = (addr.clone(), first_tag.clone());
        let first = start + Duration::from_secs(1) * i as u32 / clients as u32;
        pollers.push(std::thread::spawn(move || {
            polling_client(&to, tag, first, end)
        }));
    }
    // The writes, every 2 s within the run, none at its end.
    let writes = Arc::new(Mutex::new(Vec::new()));
    let mut tag = first_tag;
    let mut at = start + EVERY;
    while at < end {
        if let Some(pause) = at.checked_duration_since(Instant::now()) {
            std::thread::sleep(pause);
        }
        tag = write(&addr, &tag, writes.lock().map_or(0, |w| w.len()))?;
        let written = Instant::now();
        if let Ok(mut w) = writes.lock() {
            w.push((tag.clone(), written));
        }
        at += EVERY;
    }
    if let Some(pause) = end.checked_duration_since(Instant::now()) {
        std::thread::sleep(pause);
    }
    stop.store(true, Ordering::SeqCst);
    // One more write, after the run, wakes the waiting clients that are held so that they
    // see `stop`; the requests they made before it are the run's.
    write(&addr, &tag, usize::MAX)?;
    let join = |handles: Vec<std::thread::JoinHandle<Watch>>| {
        handles
            .into_iter()
            .map(|h| h.join().map_err(|_| "a client panicked".to_owned()))
            .collect::<Result<Vec<Watch>, String>>()
    };
    let waited = join(waiters)?;
    let polled = join(pollers)?;
    drop(server);
    let writes = writes.lock().map_err(|e| e.to_string())?.clone();

    let count = |watches: &[Watch]| watches.iter().map(|w| w.requests).sum::<usize>();
    let odd = |watches: &[Watch]| {
        let all: Vec<&String> = watches.iter().flat_map(|w| &w.odd).collect();
        match all.first() {
            Some(first) => format!("; {} odd answers, first: {first}", all.len()),
            None => String::new(),
        }
    };
    let (wait_requests, poll_requests) = (count(&waited), count(&polled));
    let (wait_delays, wait_missed) = staleness(&writes, &waited);
    let (poll_delays, poll_missed) = staleness(&writes, &polled);
    let (wait_stale, poll_stale) = (mean(&wait_delays), mean(&poll_delays));
    let floor = clients * (writes.len() + 1);
    figures.push(Figure {
        name: "wait_requests_vs_polling_1s".into(),
        value: wait_requests as f64 / poll_requests.max(1) as f64,
        unit: "ratio".into(),
        baseline: format!(
            "requests of {clients} clients polling one product once a second with \
             If-None-Match for {seconds} s while a writer changed it every {} s \
             ({poll_requests} requests, {} writes{}; {clients} clients waiting with Prefer: \
             wait=30 over the same run: {wait_requests}, one per change and client plus the \
             first would be {floor}{})",
            EVERY.as_secs(),
            writes.len(),
            odd(&polled),
            odd(&waited)
        ),
        goal: Goal::Info,
    });
    figures.push(Figure {
        name: "wait_staleness_vs_polling_1s".into(),
        value: wait_stale / poll_stale,
        unit: "ratio".into(),
        baseline: format!(
            "mean time from a write's response until a client polling once a second has the \
             new ETag ({poll_stale:.1} ms over {} client-writes, {poll_missed} never seen; \
             waiting: {wait_stale:.2} ms over {}, {wait_missed} never seen, max {:.2} ms)",
            poll_delays.len(),
            wait_delays.len(),
            wait_delays.iter().copied().fold(f64::NAN, f64::max)
        ),
        goal: Goal::Info,
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_nearest_rank() {
        let v: Vec<f64> = (1..=200).map(f64::from).collect();
        assert_eq!(quantile(&v, 0.5), 100.0);
        assert_eq!(quantile(&v, 0.99), 198.0);
        assert_eq!(quantile(&v[..20], 0.99), 20.0);
        assert!(quantile(&[], 0.5).is_nan());
    }

    #[test]
    fn staleness_counts_the_first_sighting_of_a_write_or_a_later_one() {
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        let writes = vec![("\"a\"".to_owned(), at(100)), ("\"b\"".to_owned(), at(200))];
        let watch = Watch {
            requests: 3,
            // Saw only the second write, 50 ms after it: the first was stale for 150 ms.
            seen: vec![("\"b\"".to_owned(), at(250))],
            odd: Vec::new(),
        };
        let (delays, missed) = staleness(&writes, &[watch, Watch::default()]);
        assert_eq!(missed, 2);
        assert_eq!(delays.len(), 2);
        assert!((delays[0] - 150.0).abs() < 1e-6 && (delays[1] - 50.0).abs() < 1e-6);
        assert!(signed_ms(at(10), at(5)) < 0.0);
    }
}

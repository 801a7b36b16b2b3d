//! Several `products` processes on one PostgreSQL database, directly and behind nginx with
//! the configurations in deploy/nginx, and nginx's cache revalidating with them.
//!
//! Every test here needs PostgreSQL, nginx or both, and is `#[ignore]`d, so that a plain
//! `cargo test` says it did not run; `cargo test -- --include-ignored` runs them, and then a
//! missing service fails them. `ETAG_TEST_POSTGRES` names the server (an admin URL such as
//! `postgres://postgres@127.0.0.1:5432/postgres`); each test creates a database of its own
//! and drops it afterwards. nginx is looked up on `PATH` (or `ETAG_TEST_NGINX` names the
//! binary). Every address is on loopback; every loop is bounded in count and time.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;

use common::*;

/// Processes on one PostgreSQL database, with nginx in front when it is installed.
struct Cluster {
    // Dropped in this order: the processes, nginx, then the database.
    servers: Vec<Arc<Server>>,
    nginx: Option<Nginx>,
    db: PgDatabase,
}

impl Cluster {
    /// `processes` processes on a new database, started at the same moment (so that they
    /// race to migrate it), with `args`; nginx with `deploy/nginx/{config}` in front when
    /// `config` is given. Panics without PostgreSQL, or without nginx when it is asked for.
    async fn start(test: &str, processes: usize, args: &[&str], config: Option<&str>) -> Self {
        let db = PgDatabase::create(test).await;
        let url = db.url.clone();
        Self::start_on(test, db, &url, processes, args, config).await
    }

    /// The same on `db`, which the processes reach at `url`.
    async fn start_on(
        test: &str,
        db: PgDatabase,
        url: &str,
        processes: usize,
        args: &[&str],
        config: Option<&str>,
    ) -> Self {
        let mut starting = Vec::new();
        for _ in 0..processes {
            let mut owned: Vec<String> = vec!["--database".into(), url.to_owned()];
            owned.extend(args.iter().map(|a| (*a).to_owned()));
            starting.push(tokio::spawn(async move {
                let args: Vec<&str> = owned.iter().map(String::as_str).collect();
                Server::start_logging(&args, "error").await
            }));
        }
        let mut servers = Vec::new();
        for server in starting {
            servers.push(Arc::new(server.await.expect("a process started")));
        }
        let nginx = match config {
            Some(config) => {
                let binary = nginx_binary(test);
                let upstreams: Vec<String> = servers.iter().map(|s| s.addr()).collect();
                Some(Nginx::start(&binary, config, &upstreams).await)
            }
            None => None,
        };
        Self { servers, nginx, db }
    }

    /// Where client `i` sends its requests: nginx when it is in front, else process `i % N`.
    fn endpoint(&self, i: usize) -> Endpoint {
        match &self.nginx {
            Some(nginx) => nginx.endpoint.clone(),
            None => self.servers[i % self.servers.len()].endpoint(),
        }
    }

    fn direct(&self) -> Vec<Endpoint> {
        self.servers.iter().map(|s| s.endpoint()).collect()
    }
}

/// What a GET answered, for comparing processes.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    status: u16,
    etag: Option<String>,
    last_modified: Option<String>,
    link: Option<String>,
    body: String,
}

async fn seen(endpoint: &Endpoint, path: &str) -> Seen {
    let reply = send(endpoint.get(path)).await;
    Seen {
        status: reply.status,
        etag: reply.header("etag").map(str::to_owned),
        last_modified: reply.header("last-modified").map(str::to_owned),
        link: reply.header("link").map(str::to_owned),
        body: reply.body,
    }
}

/// Every page of the list from `first`, following `Link: rel="next"`; at most 100.
async fn pages(endpoint: &Endpoint, first: &str) -> Vec<(String, Seen)> {
    let mut out = Vec::new();
    let mut next = Some(first.to_owned());
    while let Some(path) = next.take() {
        assert!(out.len() < 100, "too many pages");
        let page = seen(endpoint, &path).await;
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        next = page.link.as_deref().map(|link| {
            let start = link.find('<').expect("Link: <...>") + 1;
            let end = link.find('>').expect("Link: <...>");
            link[start..end].to_owned()
        });
        out.push((path, page));
    }
    out
}

/// A product's ETag and Last-Modified, a page's ETag and Last-Modified, and the bodies
/// are the same from every process, byte for byte; a validator one process handed out
/// gets 304 from every other.
#[tokio::test]
#[ignore = "needs PostgreSQL (set ETAG_TEST_POSTGRES)"]
async fn every_process_gives_the_same_validators_and_bodies() {
    let test = "every_process_gives_the_same_validators_and_bodies";
    let cluster = Cluster::start(test, 3, &[], None).await;
    let [a, b, c] = <[Endpoint; 3]>::try_from(cluster.direct()).unwrap();
    for i in 0..120 {
        a.create(&format!("Product {i}"), f64::from(i % 50) + 0.99)
            .await;
    }
    // A change made through one process, a delete through another.
    let reply = send(
        b.request(Method::PUT, "/products/5")
            .header("if-match", "\"1\"")
            .json(&json!({"name": "Changed", "price": 1.5})),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let reply = send(
        c.request(Method::DELETE, "/products/7")
            .header("if-match", "\"1\""),
    )
    .await;
    assert_eq!(reply.status, 204);

    let all = [&a, &b, &c];
    for id in [1, 5, 7, 60, 120] {
        let path = format!("/products/{id}");
        let first = seen(&a, &path).await;
        for other in [&b, &c] {
            assert_eq!(seen(other, &path).await, first, "{path}");
        }
        if first.status != 200 {
            assert_eq!(id, 7);
            continue;
        }
        let etag = first.etag.as_deref().expect("an ETag");
        let date = first.last_modified.as_deref().expect("a Last-Modified");
        for endpoint in all {
            let reply = send(endpoint.get(&path).header("if-none-match", etag)).await;
            assert_eq!(reply.status, 304, "{path} at {}", endpoint.base);
            assert_eq!(reply.header("etag"), Some(etag));
            let reply = send(endpoint.get(&path).header("if-modified-since", date)).await;
            assert_eq!(reply.status, 304, "{path} at {}", endpoint.base);
        }
    }

    let first = "/products?limit=50";
    let from_a = pages(&a, first).await;
    assert_eq!(from_a.len(), 3);
    for other in [&b, &c] {
        assert_eq!(pages(other, first).await, from_a);
    }
    for (path, page) in &from_a {
        let etag = page.etag.as_deref().expect("a page ETag");
        for endpoint in all {
            let reply = send(endpoint.get(path).header("if-none-match", etag)).await;
            assert_eq!(reply.status, 304, "{path} at {}", endpoint.base);
        }
    }

    // A write through one process changes the page it is on, for every process alike,
    // and no other page.
    let reply = send(
        c.request(Method::PUT, "/products/60")
            .header("if-match", "\"1\"")
            .json(&json!({"name": "Moved", "price": 2.0})),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let after = pages(&b, first).await;
    for other in [&a, &c] {
        assert_eq!(pages(other, first).await, after);
    }
    let etags = |pages: &[(String, Seen)]| -> Vec<Option<String>> {
        pages.iter().map(|(_, p)| p.etag.clone()).collect()
    };
    let (before, now) = (etags(&from_a), etags(&after));
    assert_eq!(now[0], before[0], "page 1 holds ids 1 to 51");
    assert_ne!(now[1], before[1], "page 2 holds id 60");
    assert_eq!(now[2], before[2]);
}

/// POSTs through three processes racing create-only PUTs of the ids they are about to
/// hand out: every id is created once and every POST gets one. (On PostgreSQL this needs
/// the id to be picked by a statement that starts after the collection row is locked.)
#[tokio::test]
#[ignore = "needs PostgreSQL (set ETAG_TEST_POSTGRES)"]
async fn posts_and_puts_through_three_processes_never_share_an_id() {
    const POSTERS: usize = 8;
    const POSTS: usize = 25;
    let test = "posts_and_puts_through_three_processes_never_share_an_id";
    let cluster = Cluster::start(test, 3, &[], None).await;
    let posters = (0..POSTERS).map(|i| cluster.endpoint(i)).collect();
    let total = races::posts_racing_create_only_puts(posters, cluster.direct(), POSTS).await;
    let list = send(cluster.endpoint(0).get("/products?limit=1000")).await;
    assert_eq!(list.json().as_array().unwrap().len(), total);
}

/// 16 clients make 50 changes each to one product, by GET then PUT with If-Match through
/// nginx's round-robin over three processes, retrying on 412: no change is lost, and the
/// version counts exactly the changes that succeeded.
#[tokio::test]
#[ignore = "needs PostgreSQL (set ETAG_TEST_POSTGRES) and nginx (installed, or ETAG_TEST_NGINX)"]
async fn sixteen_clients_through_the_balancer_lose_no_update() {
    const CLIENTS: usize = 16;
    const CYCLES: usize = 50;
    let test = "sixteen_clients_through_the_balancer_lose_no_update";
    let cluster = Cluster::start(test, 3, &[], Some("balancer.conf")).await;
    let created = cluster.endpoint(0).create("Counter", 10.0).await;
    let path = created.header("location").unwrap().to_owned();
    let start_cents = cents(&created.json());
    let started = Instant::now();
    let clients = (0..CLIENTS).map(|i| cluster.endpoint(i)).collect();
    let limit = Duration::from_secs(600);
    let tally = races::read_modify_write(clients, &path, CYCLES, limit).await;
    note(&format!(
        "{test}: {} changes, {} conflicts (412), {:.1} s",
        tally.successes,
        tally.conflicts,
        started.elapsed().as_secs_f64()
    ));
    for endpoint in cluster.direct() {
        races::assert_changes_counted(&endpoint, &path, start_cents, tally.successes).await;
    }
}

/// A DELETE races eight read-modify-write clients through the balancer: it wins once,
/// every change made before it counts exactly once, and no PUT sent after it succeeds.
#[tokio::test]
#[ignore = "needs PostgreSQL (set ETAG_TEST_POSTGRES) and nginx (installed, or ETAG_TEST_NGINX)"]
async fn delete_racing_puts_through_the_balancer() {
    const WRITERS: usize = 8;
    let test = "delete_racing_puts_through_the_balancer";
    let cluster = Cluster::start(test, 3, &[], Some("balancer.conf")).await;
    let created = cluster.endpoint(0).create("Doomed", 5.0).await;
    let path = created.header("location").unwrap().to_owned();
    let writers = (0..WRITERS).map(|i| cluster.endpoint(i)).collect();
    let deleter = cluster.endpoint(WRITERS);
    let limit = Duration::from_secs(300);
    races::delete_racing_puts(writers, deleter, &path, limit).await;
    for endpoint in cluster.direct() {
        send(endpoint.get(&path)).await.assert_problem(404);
    }
}

/// A process of deploy/run.sh, stopped with SIGTERM (which its trap passes on to nginx
/// and the processes) when dropped.
struct RunScript {
    child: tokio::process::Child,
    endpoint: Endpoint,
    /// nginx's prefix, removed when this is dropped.
    run_dir: std::path::PathBuf,
}

impl RunScript {
    async fn start(variant: &str, database_url: &str, processes: usize) -> Self {
        use tokio::io::AsyncBufReadExt as _;
        // Ports for nginx and for the processes, which deploy/run.sh numbers in a row.
        let port = free_port();
        let first = (0..200)
            .map(|i| 20_000 + (std::process::id() as u16 % 10_000) + i * 37)
            .find(|&p| {
                (p..p + processes as u16)
                    .all(|p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok())
            })
            .expect("free ports in a row");
        let run_dir = temp_dir();
        let mut child = tokio::process::Command::new("bash")
            .arg(deploy_dir().join("run.sh"))
            .arg(variant)
            .env("DATABASE_URL", database_url)
            .env("PROCESSES", processes.to_string())
            .env("PORT", port.to_string())
            .env("FIRST_PORT", first.to_string())
            .env("PRODUCTS", BIN)
            .env("RUN_DIR", &run_dir)
            .env("RUST_LOG", "warn")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("run deploy/run.sh");
        let stdout = child.stdout.take().unwrap();
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let line = tokio::time::timeout(START_TIMEOUT, lines.next_line())
            .await
            .expect("deploy/run.sh is ready in time")
            .expect("read its output")
            .expect("it prints a line");
        assert!(
            line.starts_with(&format!("ready on http://127.0.0.1:{port} ")),
            "{line}"
        );
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self {
            child,
            endpoint: Endpoint {
                base: format!("http://127.0.0.1:{port}"),
            },
            run_dir,
        }
    }
}

impl Drop for RunScript {
    fn drop(&mut self) {
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(20) {
                if matches!(self.child.try_wait(), Ok(Some(_))) {
                    let _ = std::fs::remove_dir_all(&self.run_dir);
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            note("deploy/run.sh did not stop within 20 s of SIGTERM");
        }
    }
}

/// deploy/run.sh starts three processes on PostgreSQL behind nginx, and through it every
/// conditional request is answered as by one process: 304 on revalidation (from whichever
/// process nginx picks), 412 for a stale If-Match, 428 without a precondition.
#[tokio::test]
#[ignore = "needs PostgreSQL (set ETAG_TEST_POSTGRES) and nginx (installed, or ETAG_TEST_NGINX)"]
async fn conditional_requests_through_the_balancer() {
    let test = "conditional_requests_through_the_balancer";
    let db = PgDatabase::create(test).await;
    nginx_binary(test);
    let run = RunScript::start("balancer", &db.url, 3).await;
    let api = &run.endpoint;
    let created = api.create("Lamp", 12.5).await;
    let path = created.header("location").unwrap().to_owned();

    let reply = send(api.get(&path)).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.etag(), "\"1\"", "strong, as the process sent it");
    assert_eq!(reply.header("cache-control"), Some("no-cache"));
    let date = reply.header("last-modified").unwrap().to_owned();
    // Round-robin: six requests reach each of the three processes twice.
    for _ in 0..6 {
        let reply = send(api.get(&path).header("if-none-match", "\"1\"")).await;
        assert_eq!(reply.status, 304);
        assert!(reply.body.is_empty());
        assert_eq!(reply.etag(), "\"1\"");
        let reply = send(api.get(&path).header("if-modified-since", &date)).await;
        assert_eq!(reply.status, 304);
        let reply = send(
            api.request(Method::HEAD, &path)
                .header("if-none-match", "\"1\""),
        )
        .await;
        assert_eq!(reply.status, 304);
    }
    let body = json!({"name": "Lamp", "price": 10.0});
    for _ in 0..3 {
        let reply = send(api.request(Method::PUT, &path).json(&body)).await;
        reply.assert_problem(428);
        send(api.request(Method::DELETE, &path))
            .await
            .assert_problem(428);
    }
    let reply = send(
        api.request(Method::PUT, &path)
            .header("if-match", "\"1\"")
            .json(&body),
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.etag(), "\"2\"");
    for _ in 0..6 {
        let reply = send(
            api.request(Method::PUT, &path)
                .header("if-match", "\"1\"")
                .json(&body),
        )
        .await;
        reply.assert_problem(412);
        let reply = send(api.get(&path).header("if-none-match", "\"1\"")).await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.etag(), "\"2\"");
    }
    let list = send(api.get("/products")).await;
    assert_eq!(list.status, 200);
    let tag = list.etag().to_owned();
    for _ in 0..6 {
        let reply = send(api.get("/products").header("if-none-match", &tag)).await;
        assert_eq!(reply.status, 304);
    }
    drop(run);
}

/// The processes' settings in the outage tests: a short wait for a connection, so that a
/// request during an outage gets its 503 soon.
const OUTAGE_ARGS: [&str; 6] = [
    "--db-acquire-timeout",
    "1s",
    "--db-statement-timeout",
    "2s",
    "--db-pool-size",
    "4",
];

/// While clients write through the balancer, the database refuses new sessions and kills
/// every open one (`ALLOW_CONNECTIONS false` and `pg_terminate_backend`, on the test's
/// own database only), five times over: see [`write_through_outages`].
#[tokio::test]
#[ignore = "needs PostgreSQL (set ETAG_TEST_POSTGRES) and nginx (installed, or ETAG_TEST_NGINX)"]
async fn database_outages_get_503_and_lose_no_acknowledged_write() {
    let test = "database_outages_get_503_and_lose_no_acknowledged_write";
    let cluster = Cluster::start(test, 3, &OUTAGE_ARGS, Some("balancer.conf")).await;
    let mut admin = cluster.db.admin().await;
    let db = &cluster.db;
    write_through_outages(test, &cluster, async {
        let mut killed = 0;
        for _ in 0..5 {
            tokio::time::sleep(Duration::from_millis(400)).await;
            db.allow_connections(&mut admin, false).await;
            killed += db.terminate_sessions(&mut admin).await;
            tokio::time::sleep(Duration::from_millis(800)).await;
            db.allow_connections(&mut admin, true).await;
            tokio::time::sleep(Duration::from_millis(300)).await;
            killed += db.terminate_sessions(&mut admin).await;
        }
        assert!(killed > 0, "no session was there to kill");
        format!("{killed} sessions killed")
    })
    .await;
}

/// The same while the processes reach PostgreSQL through a proxy that, five times over,
/// closes every connection and refuses new ones for 0.8 s: what the processes see of a
/// server that restarts.
#[tokio::test]
#[ignore = "needs PostgreSQL (set ETAG_TEST_POSTGRES) and nginx (installed, or ETAG_TEST_NGINX)"]
async fn a_restarting_database_gets_503_and_loses_no_acknowledged_write() {
    let test = "a_restarting_database_gets_503_and_loses_no_acknowledged_write";
    let db = PgDatabase::create(test).await;
    let mut url = reqwest::Url::parse(&db.url).expect("a URL");
    let target = format!(
        "{}:{}",
        url.host_str().expect("a host"),
        url.port().unwrap_or(5432)
    );
    let mut proxy = Proxy::start(target).await;
    url.set_port(Some(proxy.port)).expect("a port");
    let cluster = Cluster::start_on(
        test,
        db,
        url.as_str(),
        3,
        &OUTAGE_ARGS,
        Some("balancer.conf"),
    )
    .await;
    write_through_outages(test, &cluster, async {
        let mut closed = 0;
        for _ in 0..5 {
            tokio::time::sleep(Duration::from_millis(400)).await;
            closed += proxy.down();
            tokio::time::sleep(Duration::from_millis(800)).await;
            proxy.up().await;
        }
        assert!(closed > 0, "no connection was there to close");
        format!("{closed} connections closed")
    })
    .await;
}

/// Eight clients write through the balancer while `faults` runs: requests then get 503
/// with a problem body and Retry-After, the processes recover by themselves (every client
/// makes five more changes afterwards), no acknowledged write is lost and no write is
/// applied twice.
///
/// Each client owns one product and is its only writer, so it can tell, after a 503 on a
/// PUT, whether that PUT was applied (the connection can be lost between COMMIT and its
/// answer): the next read shows either the version it sent the PUT against, or the next
/// one with its marker in the name, and nothing else.
async fn write_through_outages(
    test: &str,
    cluster: &Cluster,
    faults: impl Future<Output = String>,
) {
    const CLIENTS: usize = 8;
    let faults_over = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut clients = Vec::new();
    for i in 0..CLIENTS {
        let endpoint = cluster.endpoint(i);
        let faults_over = faults_over.clone();
        let created = endpoint.create(&format!("client {i}"), 1.0).await;
        let path = created.header("location").unwrap().to_owned();
        clients.push(tokio::spawn(async move {
            let mut product = created.json();
            let start_cents = cents(&product);
            let (mut acknowledged, mut landed_unacknowledged, mut unavailable) = (0u64, 0u64, 0u64);
            let mut after_faults = 0;
            // (marker, version it was sent against) of a PUT whose outcome is unknown.
            let mut pending: Option<(String, i64)> = None;
            for attempt in 0..5_000 {
                assert!(
                    started.elapsed() < Duration::from_secs(180),
                    "client {i}: too slow"
                );
                if faults_over.load(Ordering::Relaxed) && after_faults >= 5 && pending.is_none() {
                    break;
                }
                if pending.is_some() {
                    let reply = send(endpoint.get(&path)).await;
                    if reply.status == 503 {
                        assert_unavailable(&reply);
                        unavailable += 1;
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                    assert_eq!(reply.status, 200, "{}", reply.body);
                    let now = reply.json();
                    let (marker, sent_against) = pending.take().unwrap();
                    let version = now["version"].as_i64().unwrap();
                    if version == sent_against + 1 && now["name"] == marker.as_str() {
                        landed_unacknowledged += 1;
                    } else {
                        assert_eq!(
                            version, sent_against,
                            "client {i}: after an unanswered PUT the product is {now}"
                        );
                    }
                    product = now;
                }
                let version = product["version"].as_i64().unwrap();
                let marker = format!("client {i} write {attempt}");
                let reply = send(
                    endpoint
                        .request(Method::PUT, &path)
                        .header("if-match", format!("\"{version}\""))
                        .json(&json!({
                            "name": marker,
                            "price": (cents(&product) + 1) as f64 / 100.0,
                        })),
                )
                .await;
                match reply.status {
                    200 => {
                        let now = reply.json();
                        assert_eq!(now["version"], version + 1);
                        assert_eq!(now["name"], marker.as_str());
                        acknowledged += 1;
                        if faults_over.load(Ordering::Relaxed) {
                            after_faults += 1;
                        }
                        product = now;
                    }
                    503 => {
                        assert_unavailable(&reply);
                        unavailable += 1;
                        pending = Some((marker, version));
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    other => panic!("client {i}: unexpected {other}: {}", reply.body),
                }
            }
            assert!(after_faults >= 5, "client {i} did not recover");
            (
                path,
                start_cents,
                acknowledged,
                landed_unacknowledged,
                unavailable,
            )
        }));
    }

    let what = faults.await;
    faults_over.store(true, Ordering::Relaxed);

    let (mut acknowledged, mut landed, mut unavailable) = (0, 0, 0);
    for client in clients {
        let (path, start_cents, acked, landed_unacked, refused) =
            client.await.expect("a client failed");
        let product = send(cluster.endpoint(0).get(&path)).await.json();
        let applied = acked + landed_unacked;
        assert_eq!(product["version"], json!(1 + applied), "{path}: {product}");
        assert_eq!(cents(&product), start_cents + applied as i64, "{path}");
        acknowledged += acked;
        landed += landed_unacked;
        unavailable += refused;
    }
    assert!(unavailable > 0, "no request met the outage");
    note(&format!(
        "{test}: {what}; {acknowledged} writes acknowledged, {landed} \
         applied but answered 503, {unavailable} requests answered 503, {:.1} s",
        started.elapsed().as_secs_f64()
    ));
}

fn assert_unavailable(reply: &Reply) {
    reply.assert_problem(503);
    assert_eq!(
        reply.header("retry-after"),
        Some("1"),
        "{:?}",
        reply.headers
    );
}

/// deploy/nginx/cache.conf stores what the processes send and revalidates it with them:
/// after its second of freshness, nginx sends a conditional request, a process answers 304
/// (whichever process it is: the validators are the database's), and nginx sends the body
/// it stored. PostgreSQL when configured, else a SQLite file shared by the processes.
#[tokio::test]
#[ignore = "needs nginx (installed, or ETAG_TEST_NGINX); on PostgreSQL when ETAG_TEST_POSTGRES is set"]
async fn the_cache_revalidates_with_the_processes() {
    let test = "the_cache_revalidates_with_the_processes";
    let binary = nginx_binary(test);
    let db = match PgDatabase::admin_url() {
        Some(_) => Some(PgDatabase::create(test).await),
        None => None,
    };
    let dir = temp_dir();
    let url = match &db {
        Some(db) => db.url.clone(),
        None => format!("sqlite://{}", dir.join("shared.db").display()),
    };
    let mut servers = Vec::new();
    for _ in 0..2 {
        servers.push(Server::start_logging(&["--database", &url], "error").await);
    }
    let upstreams: Vec<String> = servers.iter().map(Server::addr).collect();
    let nginx = Nginx::start(&binary, "cache.conf", &upstreams).await;
    let api = &nginx.endpoint;
    for i in 0..300 {
        api.create(&format!("Product {i}"), 3.0).await;
    }
    let cache = |reply: &Reply| reply.header("x-cache-status").unwrap_or("").to_owned();

    for path in ["/products/1", "/products?limit=300"] {
        let first = send(api.get(path)).await;
        assert_eq!(
            (first.status, cache(&first).as_str()),
            (200, "MISS"),
            "{path}"
        );
        // Stored: sent from the cache (HIT), or, on a machine slow enough for its second
        // of freshness to have passed already, after a 304 (REVALIDATED).
        let again = send(api.get(path)).await;
        assert_eq!(again.status, 200, "{path}");
        assert!(
            matches!(cache(&again).as_str(), "HIT" | "REVALIDATED"),
            "{path}: {:?}",
            again.headers
        );
        assert_eq!(again.body, first.body);
        // Past its second of freshness: nginx asks a process, which answers 304.
        tokio::time::sleep(Duration::from_millis(2_100)).await;
        let revalidated = send(api.get(path)).await;
        assert_eq!(revalidated.status, 200, "{path}");
        assert_eq!(cache(&revalidated), "REVALIDATED", "{path}");
        assert_eq!(revalidated.body, first.body);
        assert_eq!(revalidated.etag(), first.etag());
        // A client's own revalidation is answered by nginx from what it stored.
        let reply = send(api.get(path).header("if-none-match", first.etag())).await;
        assert_eq!(reply.status, 304, "{path}");
    }
    let log = nginx.access_log();
    for request in ["GET /products/1 ", "GET /products?limit=300 "] {
        assert!(
            log.lines()
                .any(|l| l.contains(request) && l.contains(" 200 cache=REVALIDATED upstream=304 ")),
            "no 200 sent after an upstream 304 for {request}:\n{log}"
        );
    }

    // A write goes to a process, never to the cache: a stale If-Match is refused even
    // while nginx holds the old version.
    let reply = send(
        api.request(Method::PUT, "/products/1")
            .header("if-match", "\"1\"")
            .json(&json!({"name": "Changed", "price": 4.0})),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let reply = send(
        api.request(Method::PUT, "/products/1")
            .header("if-match", "\"1\"")
            .json(&json!({"name": "Lost", "price": 5.0})),
    )
    .await;
    reply.assert_problem(412);
    // Once its copy is past its second, nginx asks again and gets the new version.
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let reply = send(api.get("/products/1")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.etag(), "\"2\"");
    assert_eq!(reply.json()["name"], "Changed");
    assert_eq!(cache(&reply), "EXPIRED");

    drop(nginx);
    drop(servers);
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A TCP proxy on loopback to PostgreSQL that can go down: close every connection it
/// carries and refuse new ones, as a restarting server does.
struct Proxy {
    port: u16,
    target: String,
    connections: Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
    accepting: Option<tokio::task::JoinHandle<()>>,
}

impl Proxy {
    async fn start(target: String) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let mut proxy = Self {
            port: listener.local_addr().unwrap().port(),
            target,
            connections: Arc::default(),
            accepting: None,
        };
        proxy.accept(listener);
        proxy
    }

    fn accept(&mut self, listener: tokio::net::TcpListener) {
        let (target, connections) = (self.target.clone(), self.connections.clone());
        self.accepting = Some(tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let target = target.clone();
                let carried = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                let mut connections = connections.lock().unwrap();
                connections.retain(|c| !c.is_finished());
                connections.push(carried.abort_handle());
            }
        }));
    }

    /// Stops accepting and closes every connection; how many were open.
    fn down(&mut self) -> usize {
        if let Some(accepting) = self.accepting.take() {
            accepting.abort();
        }
        let mut connections = self.connections.lock().unwrap();
        let open = connections.iter().filter(|c| !c.is_finished()).count();
        for connection in connections.drain(..) {
            connection.abort();
        }
        open
    }

    /// Accepts again, on the same port.
    async fn up(&mut self) {
        let started = Instant::now();
        let listener = loop {
            // The aborted accept loop drops its listener when the runtime next polls it.
            match tokio::net::TcpListener::bind(("127.0.0.1", self.port)).await {
                Ok(listener) => break listener,
                Err(e) => {
                    assert!(started.elapsed() < Duration::from_secs(10), "rebind: {e}");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        };
        self.accept(listener);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.down();
    }
}

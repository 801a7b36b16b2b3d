//! A real browser on another origin: headless Chromium loads a page from one loopback
//! origin (served by this test) whose script reads and writes a product on the `products`
//! binary, on another origin, run with `--cors-origin`.
//!
//! The browser is driven with its DevTools protocol over `--remote-debugging-pipe`: JSON
//! messages ended by a NUL byte, read from the browser's file descriptor 3 and written to
//! its 4, which a shell maps to the child's stdin and stdout. No websocket client, no
//! debugging port to find, and the browser's end of the pipe closes when it exits.
//!
//! The test needs Chromium and is `#[ignore]`d, so that a plain `cargo test` says it did
//! not run; with `--ignored` it fails when Chromium is missing. It looks for `chromium`
//! (Debian's package) or `chromium-browser` on `PATH`, or the binary `ETAG_TEST_CHROMIUM`
//! names. Nothing is downloaded.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use common::{START_TIMEOUT, client, note, send, temp_dir};
use etag_test_support::products::{binary, command, listening_address};

/// The variable that names the Chromium binary, when it is not `chromium` or
/// `chromium-browser` on `PATH`.
const CHROMIUM_VAR: &str = "ETAG_TEST_CHROMIUM";

/// How long one DevTools command, or the event awaited, may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(60);

/// The page whose script the test runs.
const PAGE: &str = include_str!("browser/page.html");

/// The Chromium binary: [`CHROMIUM_VAR`]'s path, else the first of `chromium` and
/// `chromium-browser` that runs. Panics, naming `test`, when there is none.
fn chromium_binary(test: &str) -> String {
    let configured = std::env::var(CHROMIUM_VAR).ok().filter(|v| !v.is_empty());
    let candidates = match &configured {
        Some(path) => vec![path.as_str()],
        None => vec!["chromium", "chromium-browser"],
    };
    for candidate in candidates {
        let runs = std::process::Command::new(candidate)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if runs {
            return candidate.to_owned();
        }
    }
    match configured {
        Some(path) => panic!("{test} needs chromium: {CHROMIUM_VAR}={path} does not run"),
        None => panic!(
            "{test} needs chromium, which is not installed (apt-get install chromium; \
             {CHROMIUM_VAR}=/path/to/chromium names another)"
        ),
    }
}

/// Headless Chromium with a profile of its own, driven over its DevTools pipe.
struct Browser {
    child: Child,
    to_browser: ChildStdin,
    from_browser: BufReader<ChildStdout>,
    next_id: u64,
    /// Events read while waiting for something else, oldest first.
    events: Vec<Value>,
    dir: PathBuf,
}

impl Browser {
    async fn launch(binary: &str) -> Self {
        let dir = temp_dir();
        let stderr = std::fs::File::create(dir.join("stderr.log")).expect("create stderr.log");
        // fd 3 is what the browser reads commands from, fd 4 where it writes replies.
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(r#"exec "$0" "$@" 3<&0 4>&1 0</dev/null 1>/dev/null"#)
            .arg(binary)
            .args([
                "--headless",
                "--remote-debugging-pipe",
                // Its sandbox cannot start as root in a container, where CI runs.
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
            ])
            .arg(format!("--user-data-dir={}", dir.join("profile").display()))
            .arg("about:blank")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .spawn()
            .unwrap_or_else(|e| panic!("start {binary}: {e}"));
        let to_browser = child.stdin.take().expect("piped stdin");
        let from_browser = BufReader::new(child.stdout.take().expect("piped stdout"));
        Self {
            child,
            to_browser,
            from_browser,
            next_id: 0,
            events: Vec::new(),
            dir,
        }
    }

    /// The browser's own error output so far, for a failure's message.
    fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.join("stderr.log")).unwrap_or_default()
    }

    /// The next message from the browser; panics when it has gone.
    async fn read(&mut self) -> Value {
        let mut message = Vec::new();
        let read =
            tokio::time::timeout(STEP_TIMEOUT, self.from_browser.read_until(0, &mut message)).await;
        match read {
            Ok(Ok(n)) if n > 0 && message.last() == Some(&0) => {
                message.pop();
                serde_json::from_slice(&message).expect("a JSON message from the browser")
            }
            Ok(_) => panic!("the browser closed its pipe:\n{}", self.stderr()),
            Err(_) => panic!(
                "the browser sent nothing for {STEP_TIMEOUT:?}:\n{}",
                self.stderr()
            ),
        }
    }

    /// Sends the command `method` (to the page of `session`, or to the browser) and returns
    /// its result; panics on an error.
    async fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut command = json!({"id": id, "method": method, "params": params});
        if let Some(session) = session {
            command["sessionId"] = session.into();
        }
        let mut bytes = serde_json::to_vec(&command).unwrap();
        bytes.push(0);
        self.to_browser
            .write_all(&bytes)
            .await
            .unwrap_or_else(|e| panic!("send {method} to the browser: {e}\n{}", self.stderr()));
        loop {
            let message = self.read().await;
            if message["id"] == id {
                assert!(message["error"].is_null(), "{method}: {message}");
                return message["result"].clone();
            }
            self.events.push(message);
        }
    }

    /// Waits for the event `method` of `session`, read already or still to come.
    async fn event(&mut self, session: &str, method: &str) -> Value {
        let is_it = |m: &Value| m["method"] == method && m["sessionId"] == session;
        if let Some(i) = self.events.iter().position(is_it) {
            return self.events.remove(i);
        }
        loop {
            let message = self.read().await;
            if is_it(&message) {
                return message;
            }
            self.events.push(message);
        }
    }

    /// A new tab, attached: the session its commands go to.
    async fn tab(&mut self) -> String {
        let target = self
            .call(None, "Target.createTarget", json!({"url": "about:blank"}))
            .await;
        let attached = self
            .call(
                None,
                "Target.attachToTarget",
                json!({"targetId": target["targetId"], "flatten": true}),
            )
            .await;
        let session = attached["sessionId"]
            .as_str()
            .expect("a session")
            .to_owned();
        self.call(Some(&session), "Page.enable", json!({})).await;
        session
    }

    /// Loads `url` in the tab and waits for its load event.
    async fn navigate(&mut self, session: &str, url: &str) {
        let navigated = self
            .call(Some(session), "Page.navigate", json!({"url": url}))
            .await;
        assert!(navigated["errorText"].is_null(), "{url}: {navigated}");
        self.event(session, "Page.loadEventFired").await;
    }

    /// What `expression` (a promise) resolves to in the tab's page, as JSON.
    async fn evaluate(&mut self, session: &str, expression: &str) -> Value {
        let evaluated = self
            .call(
                Some(session),
                "Runtime.evaluate",
                json!({"expression": expression, "awaitPromise": true, "returnByValue": true}),
            )
            .await;
        assert!(
            evaluated["exceptionDetails"].is_null(),
            "{expression}: {evaluated}"
        );
        evaluated["result"]["value"].clone()
    }

    /// Closes the browser and waits for it to exit (its renderers with it); what is left
    /// goes when it is dropped.
    async fn close(&mut self) {
        self.next_id += 1;
        let mut bytes =
            serde_json::to_vec(&json!({"id": self.next_id, "method": "Browser.close"})).unwrap();
        bytes.push(0);
        let _ = self.to_browser.write_all(&bytes).await;
        if tokio::time::timeout(Duration::from_secs(20), self.child.wait())
            .await
            .is_err()
        {
            note("the browser did not exit within 20 s of Browser.close");
        }
    }
}

impl Drop for Browser {
    /// Also after a failed assertion: the browser is killed and its profile removed.
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The `products` binary with `args`, logging each request (`RUST_LOG=info`); its log
/// lines are collected.
struct LoggedServer {
    _child: Child,
    base: String,
    log: Arc<Mutex<Vec<String>>>,
}

impl LoggedServer {
    async fn start(binary: &Path, args: &[&str]) -> Self {
        let mut child = Command::from(command(binary, args, "info"))
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn the products binary");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        let line = tokio::time::timeout(START_TIMEOUT, stdout.next_line())
            .await
            .expect("the server prints its address in time")
            .expect("read stdout")
            .expect("the server prints a line");
        let base = listening_address(&line).unwrap_or_else(|e| panic!("{e}"));
        tokio::spawn(async move { while let Ok(Some(_)) = stdout.next_line().await {} });
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut stderr = BufReader::new(child.stderr.take().expect("piped stderr")).lines();
        let lines = log.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = stderr.next_line().await {
                lines.lock().unwrap().push(line);
            }
        });
        Self {
            _child: child,
            base,
            log,
        }
    }

    /// `(method, status)` of each request to `path` the server has logged, in order.
    fn requests(&self, path: &str) -> Vec<(String, u16)> {
        let field = |line: &str, name: &str| {
            line.split_whitespace()
                .find_map(|f| f.strip_prefix(name)?.strip_prefix('='))
                .map(|v| v.trim_matches('"').to_owned())
        };
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|line| line.contains(" request "))
            .filter(|line| field(line, "path").as_deref() == Some(path))
            .filter_map(|line| {
                let status = field(line, "status")?.parse().ok()?;
                Some((field(line, "method")?, status))
            })
            .collect()
    }

    /// [`Self::requests`] once it holds `count` that are not preflights (the log line of
    /// the last may still be on its way); at most 10 s.
    async fn requests_when(&self, path: &str, count: usize) -> Vec<(String, u16)> {
        let started = Instant::now();
        loop {
            let seen = self.requests(path);
            let answered = seen
                .iter()
                .filter(|(method, _)| method != "OPTIONS")
                .count();
            if answered >= count || started.elapsed() > Duration::from_secs(10) {
                return seen;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A page on `http://127.0.0.1:P1` reads a product from the API on `http://127.0.0.1:P2`
/// (another origin: another port) and sees its ETag; reads it again, which the browser's
/// own cache revalidates: the server logs a 304 (RFC 9110 section 15.4.5, the request
/// conditional on the stored copy's tag, section 13.1.2) while the page sees a 200 with
/// the stored body (RFC 9111 section 4.3.4); writes it with `If-Match` from the ETag it
/// read (200, after a preflight the CORS layer answers); writes again with that now
/// stale tag and reads the 412's problem+json body (RFC 9110 section 13.1.1). A page on
/// an origin the server was not given gets no response at all.
#[tokio::test]
#[ignore = "needs chromium: apt-get install chromium, or ETAG_TEST_CHROMIUM=/path/to/chromium"]
async fn a_page_on_another_origin_revalidates_and_writes_with_if_match() {
    let test = "a_page_on_another_origin_revalidates_and_writes_with_if_match";
    let chromium = chromium_binary(test);

    // The page's origin: this test's own server.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("listen for the page");
    let page_port = listener.local_addr().unwrap().port();
    let page_origin = format!("http://127.0.0.1:{page_port}");
    let pages = Router::new().route("/", get(|| async { Html(PAGE) }));
    tokio::spawn(async move { axum::serve(listener, pages).await });

    let server = LoggedServer::start(
        binary(),
        &[
            "--database",
            "sqlite::memory:",
            "--cors-origin",
            &page_origin,
        ],
    )
    .await;
    assert_ne!(server.base, page_origin);
    let created = send(
        client()
            .post(format!("{}/products", server.base))
            .json(&json!({"name": "Desk lamp", "price": 24.5})),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let path = created.header("location").expect("Location").to_owned();
    let url = format!("{}{path}", server.base);

    let mut browser = Browser::launch(&chromium).await;
    let tab = browser.tab().await;
    browser.navigate(&tab, &format!("{page_origin}/")).await;
    let steps = browser
        .evaluate(&tab, &format!("scenario({})", json!(url)))
        .await;
    assert_eq!(steps["origin"], page_origin.as_str(), "{steps:#}");

    // The first read: the page can read the ETag, which CORS hides unless exposed.
    let first = &steps["first"];
    assert_eq!(first["status"], 200, "{steps:#}");
    let tag = first["etag"]
        .as_str()
        .unwrap_or_else(|| panic!("the page cannot read the ETag (not exposed?): {steps:#}"));
    assert!(first["lastModified"].is_string(), "{steps:#}");
    let product: Value = serde_json::from_str(first["body"].as_str().unwrap()).unwrap();
    assert_eq!(product["name"], "Desk lamp");

    // The second read: a 200 to the page, with the stored body and tag...
    let second = &steps["second"];
    assert_eq!(second["status"], 200, "{steps:#}");
    assert_eq!(second["body"], first["body"], "{steps:#}");
    assert_eq!(second["etag"], tag, "{steps:#}");

    // The write with the tag the page read, and the one with that tag once stale.
    let write = &steps["write"];
    assert_eq!(write["status"], 200, "{steps:#}");
    let written: Value = serde_json::from_str(write["body"].as_str().unwrap()).unwrap();
    assert_eq!(written["price"], 25.5, "{steps:#}");
    assert_ne!(write["etag"], tag, "{steps:#}");
    let stale = &steps["stale"];
    assert_eq!(stale["status"], 412, "{steps:#}");
    assert_eq!(
        stale["contentType"], "application/problem+json",
        "{steps:#}"
    );
    let problem: Value = serde_json::from_str(stale["body"].as_str().unwrap())
        .unwrap_or_else(|e| panic!("the 412's body is not JSON ({e}): {steps:#}"));
    assert_eq!(problem["status"], 412, "{problem:#}");
    assert!(problem["title"].is_string(), "{problem:#}");

    // ...while the server answered the second read 304: the browser revalidated its own
    // copy. Before each write, the preflight the CORS layer answered.
    let requests = server.requests_when(&path, 4).await;
    let answered: Vec<(&str, u16)> = requests
        .iter()
        .filter(|(method, _)| method != "OPTIONS")
        .map(|(method, status)| (method.as_str(), *status))
        .collect();
    assert_eq!(
        answered,
        [("GET", 200), ("GET", 304), ("PUT", 200), ("PUT", 412)],
        "the server's log for {path}: {requests:?}"
    );
    // Chromium keeps a preflight's answer for 5 s without Access-Control-Max-Age, so the
    // second write may or may not have its own.
    assert_eq!(
        requests.get(2..4),
        Some(&[("OPTIONS".to_owned(), 200), ("PUT".to_owned(), 200)][..]),
        "a preflight before the first write: {requests:?}"
    );

    // The same API from an origin it was not given: the browser keeps the response from
    // the page (`localhost` and `127.0.0.1` are different origins).
    let other = browser.tab().await;
    browser
        .navigate(&other, &format!("http://localhost:{page_port}/"))
        .await;
    let refused = browser
        .evaluate(&other, &format!("refused({})", json!(url)))
        .await;
    assert_eq!(refused, "TypeError: Failed to fetch", "{refused}");

    browser.close().await;
}

//! The `products` binary's environment variables, on the real process: each option falls
//! back to its variable, a flag beats its variable, an empty variable counts as unset, and a
//! bad value is one error line that names the variable.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_products");

/// Starts the binary with `args` and `env`, and returns the address it printed and its
/// `started` log line; the process is killed when this returns.
async fn started(args: &[&str], env: &[(&str, &str)]) -> (String, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .envs(env.iter().copied())
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn the products binary");
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let read = async {
        let address = stdout.next_line().await.unwrap().expect("a first line");
        loop {
            let line = stderr.next_line().await.unwrap().expect("a started line");
            if line.contains("started") {
                return (address, line);
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(60), read)
        .await
        .expect("the server starts in time")
}

#[tokio::test]
async fn every_option_falls_back_to_its_variable() {
    let (address, line) = started(
        &[],
        &[
            ("LISTEN", "127.0.0.1:0"),
            ("DATABASE_URL", "sqlite::memory:"),
            ("DB_POOL_SIZE", "3"),
            ("DB_ACQUIRE_TIMEOUT", "1.5"),
            ("DB_STATEMENT_TIMEOUT", "250ms"),
            ("HEADER_READ_TIMEOUT", "3"),
            ("IDLE_TIMEOUT", "250ms"),
            ("REQUEST_BODY_TIMEOUT", "1.5s"),
            ("MAX_CONNECTIONS", "8"),
            ("SHUTDOWN_TIMEOUT", "20"),
            (
                "CORS_ORIGIN",
                "http://127.0.0.1:5173,https://Shop.Example:443",
            ),
        ],
    )
    .await;
    assert!(
        address.starts_with("listening on http://127.0.0.1:"),
        "{address}"
    );
    assert!(!address.ends_with(":3000"), "{address}");
    for part in [
        "sqlite::memory:",
        "pool_size: Some(3)",
        "acquire_timeout: 1.5s",
        "statement_timeout: 250ms",
        "header_read_timeout: 3s",
        "idle_timeout: 250ms",
        "request_body_timeout: 1.5s",
        "max_connections: 8",
        "shutdown_timeout: 20s",
        r#"cors_origins=["http://127.0.0.1:5173", "https://shop.example"]"#,
    ] {
        assert!(line.contains(part), "{part:?} is not in {line}");
    }
}

#[tokio::test]
async fn a_flag_beats_its_variable_and_an_empty_variable_is_unset() {
    let (_, line) = started(
        &[
            "--listen",
            "127.0.0.1:0",
            "--database",
            "sqlite::memory:",
            "--idle-timeout",
            "2",
        ],
        &[
            ("LISTEN", "127.0.0.1:1"),
            ("IDLE_TIMEOUT", "forever"),
            ("MAX_CONNECTIONS", ""),
            ("HEADER_READ_TIMEOUT", ""),
        ],
    )
    .await;
    for part in [
        "idle_timeout: 2s",
        "max_connections: 512",
        "header_read_timeout: 10s",
    ] {
        assert!(line.contains(part), "{part:?} is not in {line}");
    }
}

#[tokio::test]
async fn a_bad_variable_is_one_line_that_names_it() {
    for (key, value) in [
        ("IDLE_TIMEOUT", "forever"),
        ("MAX_CONNECTIONS", "0"),
        ("DB_POOL_SIZE", "-1"),
        ("CORS_ORIGIN", "http://localhost:5173/"),
    ] {
        let output = Command::new(BIN)
            .env(key, value)
            .output()
            .await
            .expect("run the binary");
        assert_eq!(output.status.code(), Some(2), "{key}={value}");
        assert!(output.stdout.is_empty());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.starts_with("error: "), "{stderr}");
        assert!(stderr.contains(key), "{key}: {stderr}");
        assert!(stderr.trim_end().ends_with("(see --help)"), "{stderr}");
    }
}

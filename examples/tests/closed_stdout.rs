//! `products --help` and `products --openapi` into a pipe nobody reads (`| head -0`, a
//! reader that exited): the binary exits 0 without a word, rather than panicking on the
//! broken pipe.

#![cfg(unix)]

use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_products");

#[tokio::test]
async fn printing_into_a_closed_pipe_is_no_error() {
    for args in [&["--help"][..], &["-h"], &["--openapi"]] {
        let (writer, reader) = tokio::net::unix::pipe::pipe().expect("a pipe");
        // The read end is closed before the binary writes a byte.
        drop(reader);
        let stdout = writer.into_blocking_fd().expect("the pipe's write end");
        let child = Command::new(BIN)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::from(stdout))
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn the products binary");
        let output = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
            .await
            .expect("the binary exits")
            .expect("wait for the binary");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(stderr.is_empty(), "{args:?}: {stderr}");
    }
}

/// The same commands into a pipe that is read still print everything.
#[tokio::test]
async fn printing_into_a_read_pipe_prints_everything() {
    let help = Command::new(BIN).arg("--help").output().await.unwrap();
    assert!(help.status.success());
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.starts_with("products: "), "{help}");
    assert!(help.contains("--shutdown-timeout"), "{help}");
    let openapi = Command::new(BIN).arg("--openapi").output().await.unwrap();
    assert!(openapi.status.success());
    let document: serde_json::Value = serde_json::from_slice(&openapi.stdout).unwrap();
    assert_eq!(document["openapi"], "3.1.0");
}

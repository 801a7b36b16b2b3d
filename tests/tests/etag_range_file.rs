//! A file served in ranges reads only the ranges (RFC 9110 section 14): its own test binary,
//! so that no other test reads while the process's read count is taken.

mod common;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use common::fetch;
use etag_runtime::response::File;
use etag_runtime::{Conditions, ETag, Precondition, Validators, WithValidators, etag};

/// 8 MiB, each byte its offset modulo 251.
const LEN: usize = 8 * 1024 * 1024;

fn path() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("etag-range-file-{}", std::process::id()))
}

#[etag]
async fn export(conditions: Conditions) -> Result<WithValidators<File>, Precondition> {
    let checked = conditions.check(Validators::new().with_etag(ETag::from_version(&5_u8)))?;
    Ok(checked.respond(File::open(path()).await.expect("the file")))
}

/// Bytes this process has read through system calls so far (Linux's `rchar`).
fn bytes_read() -> Option<u64> {
    let io = std::fs::read_to_string("/proc/self/io").ok()?;
    io.lines()
        .find_map(|l| l.strip_prefix("rchar: "))
        .and_then(|n| n.trim().parse().ok())
}

#[tokio::test]
async fn rfc9110_14_a_file_is_read_only_for_the_requested_ranges() {
    let content: Vec<u8> = (0..LEN).map(|i| (i % 251) as u8).collect();
    std::fs::write(path(), &content).unwrap();
    let app = Router::new().route("/export", get(export));

    let full = fetch(&app, "/export", &[]).await;
    assert_eq!(full.status, StatusCode::OK);
    assert_eq!(full.expect_header("accept-ranges"), "bytes");
    assert_eq!(full.expect_header("content-length"), LEN.to_string());
    assert_eq!(full.body, content);

    let before = bytes_read();
    let part = fetch(&app, "/export", &[("range", "bytes=4000000-4001023")]).await;
    let after = bytes_read();
    assert_eq!(part.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        part.expect_header("content-range"),
        format!("bytes 4000000-4001023/{LEN}")
    );
    assert_eq!(part.expect_header("etag"), "\"5\"");
    assert_eq!(&part.body[..], &content[4_000_000..4_001_024]);
    if let (Some(before), Some(after)) = (before, after) {
        // 1 KiB asked for; far less than the 8 MiB file was read.
        assert!(after - before < 64 * 1024, "read {} bytes", after - before);
    }

    let multi = fetch(&app, "/export", &[("range", "bytes=0-1, -2")]).await;
    assert_eq!(multi.status, StatusCode::PARTIAL_CONTENT);
    let text = String::from_utf8_lossy(&multi.body).into_owned();
    assert!(
        text.contains(&format!("Content-Range: bytes 0-1/{LEN}")),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "Content-Range: bytes {}-{}/{LEN}",
            LEN - 2,
            LEN - 1
        )),
        "{text}"
    );

    let unsatisfiable = fetch(&app, "/export", &[("range", &format!("bytes={LEN}-"))]).await;
    assert_eq!(unsatisfiable.status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(
        unsatisfiable.expect_header("content-range"),
        format!("bytes */{LEN}")
    );

    // A changed file's old tag in If-Range: the whole file.
    let stale = fetch(
        &app,
        "/export",
        &[("range", "bytes=0-9"), ("if-range", "\"4\"")],
    )
    .await;
    assert_eq!(stale.status, StatusCode::OK);
    assert_eq!(stale.body.len(), LEN);
    std::fs::remove_file(path()).unwrap();
}

//! The walkthrough script: it runs, and the README shows it verbatim.
//!
//! Run against the binary, it gets the statuses its comments promise.
//!
//! The `products` binary, started as a real process on a free loopback port (an in-memory
//! database unless a test says otherwise), and driven over HTTP.

mod common;

use std::time::Duration;

use tokio::process::Command;

use common::*;

/// The walkthrough runs against the binary and gets the statuses its comments promise.
#[tokio::test]
async fn walkthrough_script_runs() {
    let server = Server::start().await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/walkthrough.sh");
    let output = tokio::time::timeout(
        Duration::from_secs(120),
        Command::new("bash")
            .arg(script)
            .env("BASE", &server.base)
            .output(),
    )
    .await
    .expect("the walkthrough finishes")
    .expect("run bash (and curl)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let statuses: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("=> "))
        .collect();
    assert_eq!(
        statuses,
        [
            "201", "200", "304", "428", "200", "412", "200", "200", "304", "200", "304", "204",
            "404", "200"
        ],
        "{stdout}"
    );
    // The responses it shows carry what the comments say.
    assert!(stdout.contains("cache-control: no-cache"), "{stdout}");
    assert!(stdout.contains("HTTP/1.1 304 Not Modified"), "{stdout}");
    assert!(stdout.contains("\"version\":3"), "{stdout}");
    assert!(stdout.contains("preference-applied: wait=2"), "{stdout}");
}

const WALKTHROUGH: &str = include_str!("../walkthrough.sh");

const MARKER: &str = "<!-- walkthrough -->";

/// The script as the README shows it: without its `#!` line, trimmed.
fn walkthrough_body() -> &'static str {
    match WALKTHROUGH.split_once('\n') {
        Some((first, rest)) if first.starts_with("#!") => rest.trim(),
        _ => WALKTHROUGH.trim(),
    }
}

/// The ```sh block between the `<!-- walkthrough -->` marker and the next
/// `<!-- /walkthrough -->` (or `<!-- walkthrough -->`) marker, trimmed; `None` without the
/// first marker.
fn readme_walkthrough(readme: &str) -> Option<Result<&str, &'static str>> {
    let start = readme.find(MARKER)? + MARKER.len();
    let rest = &readme[start..];
    let Some(end) = ["<!-- /walkthrough -->", MARKER]
        .iter()
        .filter_map(|m| rest.find(m))
        .min()
    else {
        return Some(Err("the walkthrough section has no end marker"));
    };
    let section = &rest[..end];
    let Some(open) = section.find("```sh\n") else {
        return Some(Err("no ```sh block in the walkthrough section"));
    };
    let block = &section[open + "```sh\n".len()..];
    let Some(close) = block.find("\n```") else {
        return Some(Err("the walkthrough's ```sh block is not closed"));
    };
    Some(Ok(block[..close].trim()))
}

/// The README shows the walkthrough verbatim: see [`readme_walkthrough`].
#[test]
fn readme_shows_the_walkthrough_verbatim() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md");
    let readme = std::fs::read_to_string(path).expect("the workspace README");
    match readme_walkthrough(&readme) {
        None => panic!("README.md has lost its {MARKER} marker"),
        Some(Err(e)) => panic!("README.md: {e}"),
        Some(Ok(block)) => assert_eq!(
            block,
            walkthrough_body(),
            "README.md's walkthrough differs from examples/walkthrough.sh"
        ),
    }
}

#[test]
fn readme_walkthrough_check_reads_the_marked_block() {
    let body = walkthrough_body();
    for end in ["<!-- /walkthrough -->", MARKER] {
        let readme = format!("# Title\n\n{MARKER}\n```sh\n{body}\n```\n{end}\n\nMore.\n");
        assert_eq!(readme_walkthrough(&readme), Some(Ok(body)));
        let changed = readme.replace("=> %{http_code}", "=> %{response_code}");
        assert_ne!(readme_walkthrough(&changed), Some(Ok(body)));
    }
    assert_eq!(readme_walkthrough("# Title\n```sh\necho\n```\n"), None);
    assert!(matches!(
        readme_walkthrough(&format!("{MARKER}\n```sh\necho\n```\n")),
        Some(Err(_))
    ));
    assert!(body.starts_with("# Start the server"));
    assert!(!body.contains("#!/"));
}

//! schemathesis, a property-based tester of OpenAPI documents, against `GET /openapi.json`
//! of the `products` binary on loopback: from the document alone it generates requests,
//! valid and invalid, and checks that every answer's status is documented for its
//! operation, every body matches its schema, nothing answers 5xx, and no request the
//! document says is valid is refused (see schemathesis.toml for the refusals that answer the
//! resource's state rather than the request).
//!
//! Needs schemathesis 4.32.5 (from PyPI): `.ci/run` installs it in a venv and sets
//! `ETAG_TEST_SCHEMATHESIS` to its `st` command; run with `--ignored`.

mod common;

use std::time::{Duration, Instant};

use common::*;

/// The version the configuration and the check names are written for.
const VERSION: &str = "4.32.5";
/// Examples per operation and phase, and the seed: a run of a few minutes that CI repeats
/// exactly.
const MAX_EXAMPLES: &str = "20";
const SEED: &str = "1";
/// What the whole run may take.
const TIME_BOUND: Duration = Duration::from_secs(600);

#[tokio::test]
#[ignore = "needs schemathesis: .ci/run installs it in a venv and sets ETAG_TEST_SCHEMATHESIS to its command"]
async fn schemathesis_finds_no_undocumented_status_and_no_valid_request_refused() {
    let st = std::env::var("ETAG_TEST_SCHEMATHESIS").unwrap_or_else(|_| {
        panic!(
            "set ETAG_TEST_SCHEMATHESIS to the command of schemathesis {VERSION} \
             (.ci/run installs it: python3 -m venv DIR && DIR/bin/pip install schemathesis=={VERSION})"
        )
    });
    let version = tokio::process::Command::new(&st)
        .arg("--version")
        .output()
        .await
        .unwrap_or_else(|e| panic!("run {st} --version: {e}"));
    let version = String::from_utf8_lossy(&version.stdout);
    assert!(
        version.trim().ends_with(&format!(", version {VERSION}")),
        "the pinned schemathesis {VERSION}: {version}"
    );

    let server = Server::start().await;
    let report = temp_dir();
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/schemathesis.toml");
    let mut command = tokio::process::Command::new(&st);
    command
        .args(["--config-file", config, "run", &server.url("/openapi.json")])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,response_schema_conformance,positive_data_acceptance",
            "--max-examples",
            MAX_EXAMPLES,
            "--seed",
            SEED,
            "--workers",
            "1",
            "--request-timeout",
            "10",
            // `/me/favorites` is the caller's: a name, so that its operations are run
            // rather than refused with 401.
            "--header",
            "Authorization: Bearer schemathesis",
            "--report",
            "ndjson",
            "--report-dir",
        ])
        .arg(&report)
        // Its cache (`.schemathesis/`) goes with the report, not into the package.
        .current_dir(&report)
        .kill_on_drop(true);
    let started = Instant::now();
    let output = tokio::time::timeout(TIME_BOUND, command.output())
        .await
        .unwrap_or_else(|_| panic!("schemathesis did not finish within {TIME_BOUND:?}"))
        .unwrap_or_else(|e| panic!("run {st}: {e}"));
    let took = started.elapsed();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // "Test cases:" is followed by "N generated, ...".
    let generated = stdout
        .lines()
        .skip_while(|line| !line.contains("Test cases:"))
        .find_map(|line| line.trim().split_once(" generated"))
        .and_then(|(n, _)| n.trim().parse::<u64>().ok())
        .unwrap_or_else(|| panic!("no count of test cases in:\n{stdout}\n{stderr}"));
    eprintln!("schemathesis generated {generated} test cases in {took:.1?}");
    assert!(
        output.status.success(),
        "schemathesis found failures ({generated} test cases, {took:.1?}):\n{stdout}\n{stderr}"
    );
    // A run that reached every operation: the document has eleven.
    assert!(stdout.contains("Tested: 11"), "{stdout}");
    assert!(generated >= 200, "only {generated} test cases:\n{stdout}");
}

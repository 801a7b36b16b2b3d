//! The fuzz targets' checks under `cargo test`: every committed corpus input, then random
//! inputs from a fixed seed (so that a failure reproduces), through each check.

use std::path::Path;

/// Random inputs per target; the request-level ones cost a few router calls each.
const RANDOM: usize = 300;

/// xorshift64*: a fixed, dependency-free stream of test inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn input(&mut self) -> Vec<u8> {
        let len = (self.next() % 160) as usize;
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// The committed corpus of a target (seeds from the conformance table and the parsing
/// tests, minimized with `cargo fuzz cmin`).
fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("libfuzzer/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("the corpus of {target} at {}: {e}", dir.display()))
        .map(|entry| entry.expect("a corpus entry").path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).expect("a corpus file");
            (p.display().to_string(), bytes)
        })
        .collect()
}

fn run(target: &str) {
    let check = etag_fuzz::TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .map(|(_, check)| *check)
        .expect("a known target");
    let seeds = corpus(target);
    assert!(!seeds.is_empty(), "the corpus of {target} is empty");
    for (path, bytes) in &seeds {
        let outcome = std::panic::catch_unwind(|| check(bytes));
        assert!(outcome.is_ok(), "{target} fails on the corpus file {path}");
    }
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ target.len() as u64);
    for i in 0..RANDOM {
        let input = rng.input();
        let outcome = std::panic::catch_unwind(|| check(&input));
        assert!(
            outcome.is_ok(),
            "{target} fails on random input {i}: {input:?}"
        );
    }
}

#[test]
fn every_target_has_a_test() {
    let names: Vec<&str> = etag_fuzz::TARGETS.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names,
        [
            "tag_list",
            "etag",
            "http_date",
            "range",
            "decision",
            "sealed_tags",
            "coded_tags",
            "request"
        ]
    );
}

#[test]
fn tag_list() {
    run("tag_list");
}

#[test]
fn etag() {
    run("etag");
}

#[test]
fn http_date() {
    run("http_date");
}

#[test]
fn range() {
    run("range");
}

#[test]
fn decision() {
    run("decision");
}

#[test]
fn sealed_tags() {
    run("sealed_tags");
}

#[test]
fn coded_tags() {
    run("coded_tags");
}

#[test]
fn request() {
    run("request");
}

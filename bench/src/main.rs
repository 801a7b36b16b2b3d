//! The benchmark command: `cargo run --release -p etag-bench` (add `--json` for JSON
//! lines, `--smoke` for a few iterations that only check every scenario runs,
//! `--callgrind` for instruction counts of the in-process paths under valgrind).

mod callgrind;
mod client;
mod e2e;
mod harness;
mod report;
mod scenarios;
mod varnish;
mod wait;

use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use std::alloc::System;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Heap allocations made while `f` runs.
fn count_allocations(f: impl FnOnce()) -> usize {
    let region = Region::new(GLOBAL);
    f();
    region.change().allocations
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some(callgrind::CHILD) {
        if let Err(e) = callgrind::child(&args[1..]) {
            eprintln!("{e}");
            std::process::exit(2);
        }
        return;
    }
    let json = args.iter().any(|a| a == "--json");
    let smoke = args.iter().any(|a| a == "--smoke");
    let with_callgrind = args.iter().any(|a| a == "--callgrind");
    if let Some(unknown) = args
        .iter()
        .find(|a| !matches!(a.as_str(), "--json" | "--smoke" | "--callgrind"))
    {
        eprintln!(
            "unknown argument {unknown}; usage: bench [--json] [--smoke] [--callgrind] \
             (ETAG_BENCH_ONLY=wait: the wait-for-change figures alone, nothing written)"
        );
        std::process::exit(2);
    }
    let budget = if smoke {
        harness::Budget::smoke()
    } else {
        harness::Budget::full()
    };
    if wait::alone(smoke, json) {
        return;
    }

    let mut figures = Vec::new();
    let mut notes = Vec::new();
    scenarios::run(budget, &mut figures);
    if let Err(e) = client::run(budget, &mut figures) {
        eprintln!("client benchmark failed: {e}");
        std::process::exit(1);
    }
    if with_callgrind {
        if callgrind::available() {
            let tags = scenarios::current_tags();
            if let Err(e) = callgrind::run(&tags.0, &tags.1, &tags.2, &mut figures) {
                eprintln!("callgrind: {e}");
                std::process::exit(1);
            }
        } else {
            notes.push("valgrind is not installed: the callgrind rows were skipped".to_owned());
        }
    }
    if let Err(e) = e2e::run(smoke, &mut figures, &mut notes) {
        eprintln!("loopback benchmark failed: {e}");
        std::process::exit(1);
    }
    if let Err(e) = varnish::run(smoke, &mut figures, &mut notes) {
        eprintln!("cache-group benchmark failed: {e}");
        std::process::exit(1);
    }
    if let Err(e) = wait::run(smoke, &mut figures, &mut notes) {
        eprintln!("wait-for-change benchmark failed: {e}");
        std::process::exit(1);
    }

    if json {
        for f in &figures {
            println!("{}", report::json_line(f));
        }
    } else {
        print!("{}", report::table(&figures));
        for note in &notes {
            println!("note: {note}");
        }
    }

    if smoke {
        return;
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let command = "cargo run --release -p etag-bench";
    let written = report::chart(&figures).and_then(|svg| {
        std::fs::write(root.join("benchmarks.svg"), svg).map_err(|e| e.to_string())?;
        std::fs::write(
            root.join("BENCHMARKS.md"),
            report::markdown(&figures, &notes, command),
        )
        .map_err(|e| e.to_string())
    });
    match written {
        Ok(()) => eprintln!("wrote BENCHMARKS.md and benchmarks.svg"),
        Err(e) => {
            eprintln!("could not write BENCHMARKS.md: {e}");
            std::process::exit(1);
        }
    }
}

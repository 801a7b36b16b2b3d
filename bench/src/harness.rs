//! Interleaved A/B timing: every figure is a ratio against a baseline measured in the
//! same rounds, so machine-wide noise cancels out rather than adding up.

use std::time::{Duration, Instant};

/// How long to measure.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Budget {
    /// Rounds of (baseline, candidate) pairs; the median per-round ratio is reported.
    pub(crate) rounds: usize,
    /// The target length of one batch, which sets the iterations per batch.
    pub(crate) batch: Duration,
}

impl Budget {
    pub(crate) fn full() -> Self {
        Self {
            rounds: 21,
            batch: Duration::from_millis(40),
        }
    }

    pub(crate) fn smoke() -> Self {
        Self {
            rounds: 1,
            batch: Duration::ZERO,
        }
    }
}

/// One measured comparison.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Comparison {
    /// Median of the per-round ratios candidate / baseline.
    pub(crate) ratio: f64,
    /// Median nanoseconds per iteration of the baseline and the candidate.
    pub(crate) baseline_ns: f64,
    pub(crate) candidate_ns: f64,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Times `run(iterations)` for both sides. Each closure runs the work `iterations` times
/// and returns the elapsed time.
pub(crate) fn compare(
    budget: Budget,
    mut baseline: impl FnMut(u64) -> Duration,
    mut candidate: impl FnMut(u64) -> Duration,
) -> Comparison {
    // Calibrate on the baseline: double until a batch is long enough (warming both up).
    let mut iters = 1u64;
    loop {
        let t = baseline(iters);
        candidate(iters);
        if t >= budget.batch || iters >= 1 << 24 {
            break;
        }
        iters *= 2;
    }
    let mut ratios = Vec::with_capacity(budget.rounds);
    let mut base_ns = Vec::with_capacity(budget.rounds);
    let mut cand_ns = Vec::with_capacity(budget.rounds);
    for round in 0..budget.rounds {
        // Alternate which side goes first, so that drift within a round cancels.
        let (b, c) = if round % 2 == 0 {
            let b = baseline(iters);
            (b, candidate(iters))
        } else {
            let c = candidate(iters);
            (baseline(iters), c)
        };
        let b = b.as_secs_f64().max(1e-12);
        let c = c.as_secs_f64();
        ratios.push(c / b);
        base_ns.push(b * 1e9 / iters as f64);
        cand_ns.push(c * 1e9 / iters as f64);
    }
    Comparison {
        ratio: median(ratios),
        baseline_ns: median(base_ns),
        candidate_ns: median(cand_ns),
    }
}

/// Times a synchronous closure `iterations` times.
pub(crate) fn time(iterations: u64, mut f: impl FnMut()) -> Duration {
    let start = Instant::now();
    for _ in 0..iterations {
        f();
    }
    start.elapsed()
}

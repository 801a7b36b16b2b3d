//! Pauses between attempts: exponential bounds, full jitter. An update's retries after a
//! 412 also have a number and a deadline; a watch reconnects for as long as it is polled.

use std::time::Duration;

/// Random pauses whose bound doubles with each failure in a row.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Backoff {
    pub(crate) first_delay: Duration,
    pub(crate) max_delay: Duration,
}

impl Backoff {
    /// The pause after the `failures`-th failure in a row: a random time up to
    /// `first_delay * 2^(failures - 1)`, at most `max_delay` ("full jitter").
    pub(crate) fn pause(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(31);
        let bound = self
            .first_delay
            .saturating_mul(1 << doublings)
            .min(self.max_delay);
        // A uniform fraction in [0, 1) from the thread's generator, seeded once per
        // thread: clients that failed at the same instant draw different pauses.
        bound.mul_f64(fastrand::f64())
    }
}

/// How an update retries after a 412.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Retry {
    pub(crate) attempts: u32,
    pub(crate) backoff: Backoff,
    pub(crate) deadline: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_grow_to_their_bound_and_are_spread() {
        let backoff = Backoff {
            first_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(100),
        };
        for failures in 1..=40 {
            let bound = Duration::from_millis(10 << (failures - 1).min(20)).min(backoff.max_delay);
            assert!(backoff.pause(failures) <= bound, "{failures}");
        }
        let pauses: std::collections::BTreeSet<Duration> =
            (0..50).map(|_| backoff.pause(5)).collect();
        assert!(pauses.len() > 40, "{pauses:?}");
        assert!(pauses.iter().any(|p| *p < Duration::from_millis(50)));
        assert!(pauses.iter().any(|p| *p >= Duration::from_millis(50)));
    }
}

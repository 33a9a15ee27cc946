//! What a reconcile says about the future: look again after a while, or only when something
//! changes. kube's `Action` hides its duration, and local mode's work queue needs it, so this
//! is ours; the Kubernetes module converts it.
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// Nothing to do until the object (or something it watches) changes.
    Wait,
    /// Look again after this long (a schedule tick, a deadline, a step to poll).
    After(Duration),
}

impl Next {
    pub fn secs(s: u64) -> Next {
        Next::After(Duration::from_secs(s))
    }

    /// The sooner of two.
    pub fn min(self, other: Next) -> Next {
        match (self, other) {
            (Next::Wait, o) | (o, Next::Wait) => o,
            (Next::After(a), Next::After(b)) => Next::After(a.min(b)),
        }
    }
}

/// Requeue delay after the `attempt`-th consecutive failure of one object's reconcile: 1 s
/// doubling to 5 min, with ±20 % jitter so a burst of failures does not retry in lockstep.
pub fn backoff(attempt: u32) -> Duration {
    let base = Duration::from_secs(1)
        .saturating_mul(1u32 << attempt.min(9))
        .min(Duration::from_secs(300));
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let jitter = 0.8 + 0.4 * (f64::from(nanos % 1000) / 1000.0);
    base.mul_f64(jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_prefers_a_time() {
        assert_eq!(Next::Wait.min(Next::secs(5)), Next::secs(5));
        assert_eq!(Next::secs(7).min(Next::secs(5)), Next::secs(5));
        assert_eq!(Next::Wait.min(Next::Wait), Next::Wait);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        for (attempt, lo, hi) in [(0, 0.8, 1.2), (3, 6.4, 9.6), (20, 240.0, 360.0)] {
            let s = backoff(attempt).as_secs_f64();
            assert!((lo..=hi).contains(&s), "attempt {attempt}: {s}");
        }
    }
}

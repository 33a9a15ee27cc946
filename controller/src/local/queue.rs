//! Local mode's work queue: which object to reconcile, and when. An object is in it at most
//! once, at the earliest time anyone asked for (a change now beats a requeue in five minutes),
//! as kube-runtime's scheduler de-duplicates; a reconcile's [`Next`] puts it back. Failures
//! back off per object and reset on the first success.
use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::next::{backoff, Next};
use crate::store::ObjRef;

#[derive(Debug, Default)]
pub struct WorkQueue {
    due: BTreeMap<ObjRef, DateTime<Utc>>,
    failures: BTreeMap<ObjRef, u32>,
}

impl WorkQueue {
    /// Asks for `r` at `at`, unless it is already asked for sooner.
    pub fn add(&mut self, r: ObjRef, at: DateTime<Utc>) {
        self.due
            .entry(r)
            .and_modify(|t| *t = (*t).min(at))
            .or_insert(at);
    }

    /// Takes every object due by `now`, earliest first.
    pub fn pop_due(&mut self, now: DateTime<Utc>) -> Vec<ObjRef> {
        let mut ready: Vec<(DateTime<Utc>, ObjRef)> = self
            .due
            .iter()
            .filter(|(_, t)| **t <= now)
            .map(|(r, t)| (*t, r.clone()))
            .collect();
        ready.sort();
        for (_, r) in &ready {
            self.due.remove(r);
        }
        ready.into_iter().map(|(_, r)| r).collect()
    }

    /// When the next object is due.
    pub fn next_at(&self) -> Option<DateTime<Utc>> {
        self.due.values().min().copied()
    }

    /// Whether anything is due by `at`.
    pub fn has_due_by(&self, at: DateTime<Utc>) -> bool {
        self.next_at().is_some_and(|t| t <= at)
    }

    /// Records a reconcile's outcome: success puts the object back when it asked to be looked
    /// at again; failure puts it back after a growing delay. Returns the failure count.
    pub fn done(&mut self, r: &ObjRef, outcome: Result<Next, ()>, now: DateTime<Utc>) -> u32 {
        match outcome {
            Ok(next) => {
                self.failures.remove(r);
                if let Next::After(d) = next {
                    self.add(r.clone(), now + to_chrono(d));
                }
                0
            }
            Err(()) => {
                let n = self.failures.entry(r.clone()).or_default();
                *n += 1;
                let n = *n;
                self.add(r.clone(), now + to_chrono(backoff(n - 1)));
                n
            }
        }
    }
}

fn to_chrono(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use stash::api::BackupSession;

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + s, 0).unwrap()
    }

    fn r(name: &str) -> ObjRef {
        ObjRef::of::<BackupSession>("default", name)
    }

    #[test]
    fn an_object_is_queued_once_at_its_earliest_time() {
        let mut q = WorkQueue::default();
        q.add(r("a"), at(10));
        q.add(r("a"), at(5));
        q.add(r("a"), at(20));
        q.add(r("b"), at(7));
        assert_eq!(q.next_at(), Some(at(5)));
        assert!(q.pop_due(at(4)).is_empty());
        assert_eq!(q.pop_due(at(8)), vec![r("a"), r("b")]);
        assert_eq!(q.next_at(), None);
    }

    #[test]
    fn outcomes_requeue_and_failures_back_off_until_a_success() {
        let mut q = WorkQueue::default();
        assert_eq!(q.done(&r("a"), Ok(Next::Wait), at(0)), 0);
        assert_eq!(q.next_at(), None);
        q.done(&r("a"), Ok(Next::secs(30)), at(0));
        assert_eq!(q.pop_due(at(30)), vec![r("a")]);
        assert_eq!(q.done(&r("a"), Err(()), at(0)), 1);
        assert_eq!(q.done(&r("a"), Err(()), at(0)), 2);
        let third = q.done(&r("a"), Err(()), at(0));
        assert_eq!(third, 3);
        // The first failure's ~1 s requeue is the earliest asked for.
        assert!(q.next_at().unwrap() <= at(2));
        q.pop_due(at(100));
        assert_eq!(q.done(&r("a"), Ok(Next::Wait), at(0)), 0);
        assert_eq!(
            q.done(&r("a"), Err(()), at(0)),
            1,
            "a success resets the count"
        );
    }
}

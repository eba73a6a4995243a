//! The same GCRA in process memory: the store when Redis isn't used for limits, and the
//! fallback when Redis fails mid-request (each replica then limits on its own).

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use super::{Bucket, Decision};

/// Past this many buckets, finished ones are dropped on the next check.
const PRUNE_ABOVE: usize = 10_000;

pub struct MemoryStore {
    origin: Instant,
    /// Theoretical arrival time of each bucket, in microseconds since `origin`.
    tats: Mutex<HashMap<String, i64>>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self {
            origin: Instant::now(),
            tats: Mutex::new(HashMap::new()),
        }
    }
}

impl MemoryStore {
    pub fn check(&self, buckets: &[Bucket]) -> Decision {
        let now = self.origin.elapsed().as_micros() as i64;
        let mut tats = self.tats.lock().unwrap_or_else(|p| p.into_inner());
        if tats.len() > PRUNE_ABOVE {
            tats.retain(|_, tat| *tat > now);
        }
        let current: Vec<i64> = buckets
            .iter()
            .map(|b| tats.get(&b.key).copied().unwrap_or(now))
            .collect();
        let (decision, new_tats) = evaluate(buckets, &current, now);
        if decision.allowed {
            for (b, tat) in buckets.iter().zip(new_tats) {
                tats.insert(b.key.clone(), tat);
            }
        }
        decision
    }
}

/// The GCRA decision for `buckets` whose stored arrival times are `tats`; mirrors `gcra.lua`.
pub(super) fn evaluate(buckets: &[Bucket], tats: &[i64], now: i64) -> (Decision, Vec<i64>) {
    let mut best: Option<Decision> = None;
    let mut allowed = true;
    let mut new_tats = Vec::with_capacity(buckets.len());
    for (b, &tat) in buckets.iter().zip(tats) {
        let period = b.period.as_micros() as i64;
        let limit = i64::from(b.limit);
        // At least a microsecond: a limit above one per microsecond (a "no limit" set as a
        // huge number) must not divide by zero below.
        let interval = (period / limit.max(1)).max(1);
        let capacity = interval * limit;
        let tat = tat.max(now);
        let new_tat = tat + interval;
        let ahead = new_tat - now;
        if ahead > capacity {
            let retry = ahead - capacity;
            let worse = allowed || best.as_ref().is_some_and(|d| micros(retry) > d.retry_after);
            if worse {
                best = Some(Decision::refused(b, micros(tat - now), micros(retry)));
            }
            allowed = false;
        } else if allowed {
            let remaining = ((capacity - ahead) / interval) as u32;
            if best.as_ref().is_none_or(|d| remaining < d.remaining) {
                best = Some(Decision::allowed(b, remaining, micros(ahead)));
            }
        }
        new_tats.push(new_tat);
    }
    let decision = best.unwrap_or_else(Decision::unlimited);
    (decision, new_tats)
}

fn micros(us: i64) -> Duration {
    Duration::from_micros(us.max(0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket(key: &str, limit: u32) -> Bucket {
        Bucket::per_minute(key, limit)
    }

    #[test]
    fn a_limit_finer_than_a_microsecond_allows_instead_of_panicking() {
        let store = MemoryStore::default();
        let b = [bucket("k", 1_000_000_000)];
        for _ in 0..3 {
            assert!(store.check(&b).allowed);
        }
    }

    #[test]
    fn allows_exactly_the_limit_then_refuses_with_a_wait() {
        let store = MemoryStore::default();
        let b = [bucket("k", 7)];
        for i in 0..7 {
            let d = store.check(&b);
            assert!(d.allowed, "request {i}");
            assert_eq!(d.remaining, 6 - i);
        }
        let refused = store.check(&b);
        assert!(!refused.allowed);
        assert_eq!(refused.remaining, 0);
        // One request is re-earned every 60/7 s.
        assert!(refused.retry_after > Duration::from_secs(8));
        assert!(refused.retry_after <= Duration::from_secs(9));
    }

    #[test]
    fn a_refusal_by_one_bucket_charges_none() {
        let store = MemoryStore::default();
        let org = bucket("org", 2);
        for _ in 0..2 {
            assert!(store.check(&[bucket("a", 5), org.clone()]).allowed);
        }
        let refused = store.check(&[bucket("a", 5), org.clone()]);
        assert!(!refused.allowed);
        assert_eq!(refused.bucket, "org");
        // `a` was charged twice, not three times.
        assert_eq!(store.check(&[bucket("a", 5)]).remaining, 2);
    }
}

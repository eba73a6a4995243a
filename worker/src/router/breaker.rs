//! A circuit breaker per deployment: closed → open (at once on a rate limit or overload, for
//! the provider's hinted delay; or when the failure rate over a sliding window passes the
//! threshold) → half-open after the cooldown, letting one probe through → closed on success.

use std::{collections::VecDeque, time::Duration};

use serde::Serialize;
use tokio::time::Instant;

use crate::provider::ErrorClass;

#[derive(Debug, Clone)]
pub struct BreakerConfig {
    pub window: usize,
    pub min_calls: usize,
    pub failure_rate: f64,
    pub cooldown: Duration,
    /// How long auth and quota failures keep a deployment out.
    pub hard_cooldown: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

#[derive(Debug)]
pub struct Breaker {
    config: BreakerConfig,
    state: BreakerState,
    open_until: Instant,
    probing: bool,
    window: VecDeque<bool>,
}

impl Breaker {
    pub fn new(config: BreakerConfig) -> Self {
        Self {
            config,
            state: BreakerState::Closed,
            open_until: Instant::now(),
            probing: false,
            window: VecDeque::new(),
        }
    }

    pub fn state(&self, now: Instant) -> BreakerState {
        match self.state {
            BreakerState::Open if now >= self.open_until => BreakerState::HalfOpen,
            s => s,
        }
    }

    /// May a call go out now? In half-open, only one probe at a time.
    pub fn try_acquire(&mut self, now: Instant) -> bool {
        match self.state(now) {
            BreakerState::Closed => true,
            BreakerState::Open => false,
            BreakerState::HalfOpen => {
                self.state = BreakerState::HalfOpen;
                if self.probing {
                    false
                } else {
                    self.probing = true;
                    true
                }
            }
        }
    }

    /// A probe slot taken by a call that never went out.
    pub fn release_probe(&mut self) {
        self.probing = false;
    }

    /// When a caller may try again, if the breaker is open.
    pub fn reopens_at(&self, now: Instant) -> Option<Instant> {
        (self.state(now) == BreakerState::Open).then_some(self.open_until)
    }

    pub fn on_success(&mut self) {
        match self.state {
            // Only the half-open probe closes the breaker; a call that was already in flight
            // when it opened says nothing about now.
            BreakerState::Open => {}
            BreakerState::HalfOpen => {
                self.probing = false;
                self.state = BreakerState::Closed;
                self.window.clear();
                self.push(true);
            }
            BreakerState::Closed => self.push(true),
        }
    }

    pub fn on_failure(&mut self, class: ErrorClass, hint: Option<Duration>, now: Instant) {
        self.probing = false;
        if !class.counts_against_deployment() {
            return;
        }
        // A provider's hint is believed up to the hard cooldown, never forever.
        let hint = hint.map(|h| h.min(self.config.hard_cooldown));
        let open_for = match class {
            ErrorClass::RateLimited | ErrorClass::Overloaded => {
                Some(hint.unwrap_or(self.config.cooldown))
            }
            ErrorClass::Auth | ErrorClass::QuotaExhausted | ErrorClass::ModelNotFound => {
                Some(self.config.hard_cooldown)
            }
            _ if self.state != BreakerState::Closed => Some(self.config.cooldown),
            _ => None,
        };
        self.push(false);
        let failures = self.window.iter().filter(|ok| !**ok).count();
        let tripped = self.window.len() >= self.config.min_calls
            && failures as f64 / self.window.len() as f64 >= self.config.failure_rate;
        if let Some(d) = open_for.or(tripped.then_some(self.config.cooldown)) {
            self.open(now + d);
        }
    }

    /// The fleet's current run of failures of this deployment (every process's calls, no
    /// success between them): a closed breaker opens once the run is `min_calls` long, so a
    /// deployment that goes down after a healthy spell is found by the fleet's first few
    /// failures, not after each process's own window has filled with them.
    pub fn on_fleet_failures(&mut self, run: u64, now: Instant) {
        if self.state(now) == BreakerState::Closed && run >= self.config.min_calls as u64 {
            self.open(now + self.config.cooldown);
        }
    }

    /// Opens until `until` because the fleet did (another process's breaker opened); a
    /// later end already in force stays.
    pub fn open_until(&mut self, until: Instant) {
        if self.reopens_at(Instant::now()).is_some_and(|u| u >= until) {
            return;
        }
        self.probing = false;
        self.open(until);
    }

    /// Opens until `until`, never shortening an opening already in force (a late, milder
    /// failure must not cut a quota lockout short).
    fn open(&mut self, until: Instant) {
        if self.state == BreakerState::Open {
            self.open_until = self.open_until.max(until);
        } else {
            self.open_until = until;
        }
        self.state = BreakerState::Open;
    }

    fn push(&mut self, ok: bool) {
        self.window.push_back(ok);
        while self.window.len() > self.config.window {
            self.window.pop_front();
        }
    }

    /// Share of successes over the window, for ops.
    pub fn success_rate(&self) -> Option<f64> {
        (!self.window.is_empty())
            .then(|| self.window.iter().filter(|ok| **ok).count() as f64 / self.window.len() as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker() -> Breaker {
        Breaker::new(BreakerConfig {
            window: 10,
            min_calls: 4,
            failure_rate: 0.5,
            cooldown: Duration::from_secs(30),
            hard_cooldown: Duration::from_secs(600),
        })
    }

    #[tokio::test(start_paused = true)]
    async fn opens_on_failure_rate_half_opens_and_closes() {
        let mut b = breaker();
        let now = Instant::now();
        for _ in 0..3 {
            assert!(b.try_acquire(now));
            b.on_failure(ErrorClass::Server, None, now);
        }
        assert_eq!(b.state(now), BreakerState::Closed, "below min_calls");
        b.on_failure(ErrorClass::Server, None, now);
        assert_eq!(b.state(now), BreakerState::Open);
        assert!(!b.try_acquire(now), "open rejects");
        let later = now + Duration::from_secs(30);
        assert_eq!(b.state(later), BreakerState::HalfOpen);
        assert!(b.try_acquire(later), "one probe");
        assert!(!b.try_acquire(later), "only one probe");
        b.on_success();
        assert_eq!(b.state(later), BreakerState::Closed);
        assert!(b.try_acquire(later));
    }

    #[tokio::test(start_paused = true)]
    async fn rate_limits_open_for_the_hint_and_failed_probes_reopen() {
        let mut b = breaker();
        let now = Instant::now();
        b.on_failure(ErrorClass::RateLimited, Some(Duration::from_secs(7)), now);
        assert_eq!(b.reopens_at(now), Some(now + Duration::from_secs(7)));
        let later = now + Duration::from_secs(7);
        assert!(b.try_acquire(later));
        b.on_failure(ErrorClass::Timeout, None, later);
        assert_eq!(b.state(later), BreakerState::Open, "a failed probe reopens");
        let mut b = breaker();
        b.on_failure(ErrorClass::QuotaExhausted, None, now);
        assert_eq!(b.reopens_at(now), Some(now + Duration::from_secs(600)));
        let mut b = breaker();
        b.on_failure(ErrorClass::BadRequest, None, now);
        assert_eq!(
            b.state(now),
            BreakerState::Closed,
            "the request's fault, not the deployment's"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn late_results_do_not_undo_an_opening() {
        let mut b = breaker();
        let now = Instant::now();
        b.on_failure(ErrorClass::QuotaExhausted, None, now);
        b.on_success();
        assert_eq!(
            b.state(now),
            BreakerState::Open,
            "an in-flight success does not close it"
        );
        b.on_failure(ErrorClass::RateLimited, Some(Duration::from_secs(1)), now);
        assert_eq!(
            b.reopens_at(now),
            Some(now + Duration::from_secs(600)),
            "not shortened"
        );
        let mut b = breaker();
        b.on_failure(
            ErrorClass::RateLimited,
            Some(Duration::from_secs(1_000_000)),
            now,
        );
        assert_eq!(
            b.reopens_at(now),
            Some(now + Duration::from_secs(600)),
            "hints are capped"
        );
    }
}

//! Breakers shared by the fleet: when one process's breaker opens, it writes the opening's end
//! (wall clock) to the backplane; every process reads the opening before each call (and a few
//! times a second besides) and opens its own breaker until then. So one worker's discovery of an outage keeps the others'
//! calls away within a second, and no process pays its own calls to learn it. The failure-rate
//! window stays local; besides openings, only the fleet's current run of consecutive failures
//! travels, so an outage after a healthy spell trips on the fleet's first few failures.
//!
//! An opening is tied to the deployment's configuration (a digest of its protocol, endpoint,
//! model and key): a worker started with a corrected key or another endpoint is not held back
//! by an opening that the old configuration earned.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

use bacowr_shared::backplane::Backplane;

use super::Router;

/// How often a process reads the fleet's openings.
pub const SYNC_EVERY: Duration = Duration::from_millis(250);

pub struct FleetBreakers {
    backplane: Backplane,
    namespace: String,
    /// Each deployment's configuration digest.
    digests: std::collections::HashMap<String, String>,
}

/// A short digest of what makes a deployment's calls succeed or fail the same way.
pub fn digest(d: &bacowr_shared::config::DeploymentSettings) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for part in [d.kind.as_str(), &d.base_url(), &d.model, &d.key()] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    h.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl FleetBreakers {
    pub fn new(
        backplane: Backplane,
        namespace: &str,
        digests: std::collections::HashMap<String, String>,
    ) -> Self {
        Self {
            backplane,
            namespace: namespace.to_owned(),
            digests,
        }
    }

    fn digest_of(&self, deployment: &str) -> &str {
        self.digests.get(deployment).map_or("", String::as_str)
    }

    fn key(&self, deployment: &str) -> String {
        bacowr_shared::backplane::fleet_breaker_key(&self.namespace, deployment)
    }

    /// This process's breaker of `deployment` opened until `until`.
    pub async fn tell(&self, deployment: &str, until: Instant) {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        let ends = now_ms() + left.as_millis() as i64;
        let ttl = left.max(Duration::from_secs(1));
        let value = format!("{ends}:{}", self.digest_of(deployment));
        if let Err(e) = self
            .backplane
            .set_ex(&self.key(deployment), &value, ttl)
            .await
        {
            tracing::debug!(error = %e, deployment, "breaker opening not shared");
        }
    }

    // Like openings, a run of failures belongs to the configuration that earned it.
    fn run_key(&self, deployment: &str) -> String {
        format!(
            "{}:failures:{}",
            self.key(deployment),
            self.digest_of(deployment)
        )
    }

    fn last_failure_key(&self, deployment: &str) -> String {
        format!(
            "{}:last_failure:{}",
            self.key(deployment),
            self.digest_of(deployment)
        )
    }

    /// A failure the breaker counts, added to the fleet's run of them; the run's length (0
    /// when the backplane can't say: the local window still guards).
    pub async fn failed(&self, deployment: &str, forget_after: Duration) -> u64 {
        let stamp = self
            .backplane
            .set_ex(
                &self.last_failure_key(deployment),
                &now_ms().to_string(),
                forget_after,
            )
            .await;
        match (
            stamp,
            self.backplane
                .incr_ex(&self.run_key(deployment), forget_after)
                .await,
        ) {
            (Ok(()), Ok(n)) => n.max(0) as u64,
            (Err(e), _) | (_, Err(e)) => {
                tracing::debug!(error = %e, deployment, "failure run not shared");
                0
            }
        }
    }

    /// A success ends the fleet's run of failures, if the call was sent after the run's last
    /// failure: a call that left before the outage began says nothing about now (and a fleet
    /// of busy slots has many of those still landing as an outage starts).
    pub async fn succeeded(&self, deployment: &str, sent: Duration) {
        let sent_ms = now_ms() - sent.as_millis() as i64;
        let last = match self.backplane.get(&self.last_failure_key(deployment)).await {
            Ok(Some(v)) => v.parse::<i64>().unwrap_or(0),
            Ok(None) => return,
            Err(e) => {
                tracing::debug!(error = %e, deployment, "failure run not read");
                return;
            }
        };
        if sent_ms > last
            && let Err(e) = self.backplane.del(&self.run_key(deployment)).await
        {
            tracing::debug!(error = %e, deployment, "failure run not reset");
        }
    }

    /// When the fleet's opening of `deployment` ends, if one is in force.
    async fn opening(&self, deployment: &str) -> Option<Instant> {
        let value = self.backplane.get(&self.key(deployment)).await.ok()??;
        let (ends, digest) = value.split_once(':')?;
        if digest != self.digest_of(deployment) {
            return None;
        }
        let ends: i64 = ends.parse().ok()?;
        let left = ends - now_ms();
        (left > 0).then(|| Instant::now() + Duration::from_millis(left as u64))
    }
}

impl Router {
    /// Opens this process's breakers that the fleet has opened. Run every [`SYNC_EVERY`].
    pub async fn sync_breakers(&self) {
        for d in &self.deployments {
            self.learn_opening(d).await;
        }
    }

    /// Opens this process's breaker of `d` if the fleet has opened it: asked just before each
    /// call, so a call never goes into an outage another process has already found (one
    /// backplane read, nothing beside a provider call's seconds). The periodic sync keeps the
    /// state of idle processes, and `/api/v1/providers`, current.
    pub(super) async fn learn_opening(&self, d: &super::Deployment) {
        if let Some(until) = self.fleet.opening(&d.name).await {
            self.breaker(&d.name, |b| b.open_until(until));
        }
    }

    /// May a call of `d` go out now (its breaker closed, or this call the half-open probe)?
    pub(super) fn admits(&self, d: &super::Deployment) -> bool {
        self.breaker(&d.name, |b| b.try_acquire(Instant::now()))
    }
}

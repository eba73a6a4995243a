//! The worker process's own figures, served on `/metrics` in the Prometheus (OpenMetrics)
//! text format. Labels are bounded: final statuses, configured deployments and models, error
//! classes and QC check names; never job or batch ids.

use std::sync::atomic::{AtomicI64, Ordering};

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{Histogram, exponential_buckets},
    },
    registry::Registry,
};

use bacowr_shared::domain::JobStatus;

use crate::{
    pipeline::CallRecord,
    router::{DeploymentStatus, breaker::BreakerState},
};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    /// The provider's wire protocol (`anthropic`, `openai`, `gemini`, `openai_compatible`).
    provider: String,
    deployment: String,
    model: String,
    /// `ok` or the error class.
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TokenLabels {
    provider: String,
    deployment: String,
    model: String,
    outcome: String,
    direction: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabel {
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CheckLabel {
    check: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeploymentLabel {
    deployment: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency_buckets() -> Histogram {
    // 50 ms to ~100 s: a cached reply to a slow long article.
    Histogram::new(exponential_buckets(0.05, 2.0, 12))
}

fn cost_buckets() -> Histogram {
    // $0.0001 to ~$0.38 per call.
    Histogram::new(exponential_buckets(0.0001, 2.5, 10))
}

pub struct Metrics {
    registry: Registry,
    active_jobs: Gauge,
    jobs: Family<StatusLabel, Counter>,
    released: Counter,
    dispatched: Counter,
    leader_gauge: Gauge,
    queue_depth: Gauge,
    /// The last depth the dispatcher saw, for processes that can't read it at scrape time.
    queue_depth_seen: AtomicI64,
    call_duration: HistogramFamily<CallLabels>,
    call_cost: HistogramFamily<CallLabels>,
    tokens: Family<TokenLabels, Counter>,
    breaker_state: Family<DeploymentLabel, Gauge>,
    qc_failed: Family<CheckLabel, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let active_jobs = Gauge::default();
        registry.register(
            "active_jobs",
            "Jobs this worker process is running now",
            active_jobs.clone(),
        );
        let jobs = Family::<StatusLabel, Counter>::default();
        registry.register(
            "jobs",
            "Jobs this worker process finished, by final status",
            jobs.clone(),
        );
        let released = Counter::default();
        registry.register(
            "jobs_released",
            "Running jobs handed back to the queue at shutdown",
            released.clone(),
        );
        let leader_gauge = Gauge::default();
        registry.register(
            "dispatcher_leader",
            "1 while this process is the fleet's active dispatcher",
            leader_gauge.clone(),
        );
        let dispatched = Counter::default();
        registry.register(
            "dispatched",
            "Tasks this process pushed to Redis as dispatcher",
            dispatched.clone(),
        );
        let queue_depth = Gauge::default();
        registry.register(
            "queue_depth",
            "Tasks waiting in Redis for a worker (read at scrape time)",
            queue_depth.clone(),
        );
        let call_duration = HistogramFamily::<CallLabels>::new_with_constructor(latency_buckets);
        registry.register(
            "llm_generation_duration_seconds",
            "Provider call latency, one observation per attempt",
            call_duration.clone(),
        );
        let call_cost = HistogramFamily::<CallLabels>::new_with_constructor(cost_buckets);
        registry.register(
            "llm_generation_cost_dollars",
            "Cost of each provider call in US dollars (the sum is the spend)",
            call_cost.clone(),
        );
        let tokens = Family::<TokenLabels, Counter>::default();
        registry.register(
            "llm_tokens",
            "Tokens billed by providers, by direction (input includes cached input)",
            tokens.clone(),
        );
        let breaker_state = Family::<DeploymentLabel, Gauge>::default();
        registry.register(
            "llm_breaker_state",
            "Circuit breaker per deployment in this process: 0 closed, 1 half-open, 2 open",
            breaker_state.clone(),
        );
        let qc_failed = Family::<CheckLabel, Counter>::default();
        registry.register(
            "qc_checks_failed",
            "Quality checks failed by generated drafts before autofix, by check",
            qc_failed.clone(),
        );
        Self {
            registry,
            active_jobs,
            jobs,
            released,
            dispatched,
            leader_gauge,
            queue_depth,
            queue_depth_seen: AtomicI64::new(0),
            call_duration,
            call_cost,
            tokens,
            breaker_state,
            qc_failed,
        }
    }
}

impl Metrics {
    pub fn job_started(&self) {
        self.active_jobs.inc();
    }

    pub fn job_ended(&self) {
        self.active_jobs.dec();
    }

    pub fn active_jobs(&self) -> i64 {
        self.active_jobs.get()
    }

    pub fn job_finished(&self, status: JobStatus) {
        let status = match status {
            JobStatus::Succeeded => "succeeded",
            JobStatus::NeedsReview => "needs_review",
            JobStatus::Failed => "failed",
            JobStatus::Cancelled => "cancelled",
            JobStatus::Queued | JobStatus::Running => return,
        };
        self.jobs.get_or_create(&StatusLabel { status }).inc();
    }

    pub fn jobs_released(&self, n: u64) {
        self.released.inc_by(n);
    }

    pub fn add_dispatched(&self, n: u64) {
        self.dispatched.inc_by(n);
    }

    pub fn set_leader(&self, leader: bool) {
        self.leader_gauge.set(i64::from(leader));
    }

    pub fn set_queue_depth(&self, depth: i64) {
        self.queue_depth_seen.store(depth, Ordering::Relaxed);
    }

    /// One provider call, as the router recorded it.
    pub fn record_call(&self, kind: &str, call: &CallRecord) {
        let labels = CallLabels {
            provider: kind.to_owned(),
            deployment: call.provider.clone(),
            model: call.model.clone(),
            outcome: call.outcome.to_owned(),
        };
        self.call_duration
            .get_or_create(&labels)
            .observe(call.latency_ms as f64 / 1000.0);
        self.call_cost
            .get_or_create(&labels)
            .observe(call.cost_micros as f64 / 1_000_000.0);
        for (direction, n) in [
            // tokens_in counts the cached ones too.
            ("input", call.tokens_in),
            ("output", call.tokens_out),
        ] {
            self.tokens
                .get_or_create(&TokenLabels {
                    provider: labels.provider.clone(),
                    deployment: labels.deployment.clone(),
                    model: labels.model.clone(),
                    outcome: labels.outcome.clone(),
                    direction,
                })
                .inc_by(n.max(0) as u64);
        }
    }

    /// The checks a finished article failed.
    pub fn qc_failed<'a>(&self, checks: impl IntoIterator<Item = &'a str>) {
        for check in checks {
            self.qc_failed
                .get_or_create(&CheckLabel {
                    check: check.to_owned(),
                })
                .inc();
        }
    }

    /// The exposition, with the scrape-time gauges brought up to date first: breaker states
    /// from the router, and the queue depth read now (`None`: the dispatcher's last reading).
    pub fn render(&self, deployments: &[DeploymentStatus], queue_depth: Option<i64>) -> String {
        for d in deployments {
            let value = match d.breaker {
                BreakerState::Closed => 0,
                BreakerState::HalfOpen => 1,
                BreakerState::Open => 2,
            };
            self.breaker_state
                .get_or_create(&DeploymentLabel {
                    deployment: d.name.clone(),
                })
                .set(value);
        }
        self.queue_depth
            .set(queue_depth.unwrap_or_else(|| self.queue_depth_seen.load(Ordering::Relaxed)));
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// The OpenMetrics content type the exposition is written in.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

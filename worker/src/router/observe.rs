//! What the router tells about every provider call: span fields, one log line, metrics.

use std::sync::Arc;

use crate::{metrics::Metrics, pipeline::CallRecord};

use super::{Deployment, Router};

impl Router {
    /// Records every call in `metrics` (the process's `/metrics`) instead of a private set.
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    /// Every call's figures: on its span (for traces), in one info line (never a body), and in
    /// the process's metrics.
    pub(super) fn observe(&self, d: &Deployment, span: &tracing::Span, call: &CallRecord) {
        let cost_usd = call.cost_micros as f64 / 1_000_000.0;
        span.record("outcome", call.outcome);
        span.record("tokens_in", call.tokens_in);
        span.record("tokens_out", call.tokens_out);
        span.record("cost_usd", cost_usd);
        span.record("latency_ms", call.latency_ms);
        if let Some(status) = call.http_status {
            span.record("http_status", status);
        }
        tracing::info!(
            parent: span,
            deployment = %call.provider,
            model = %call.model,
            outcome = call.outcome,
            http_status = call.http_status,
            tokens_in = call.tokens_in,
            tokens_out = call.tokens_out,
            cost_usd,
            latency_ms = call.latency_ms,
            "provider call"
        );
        self.metrics.record_call(d.settings.kind.as_str(), call);
    }
}

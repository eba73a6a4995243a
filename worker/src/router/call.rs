//! One call's record, for `llm_calls`, the metrics and the budget: what it cost and how it
//! ended, built the same way for a usable answer and for every kind of failure.

use std::time::Instant as StdInstant;

use super::{Deployment, Router};
use crate::{
    pipeline::CallRecord,
    provider::{Billed, Generation, ProviderError},
};

/// The longest `llm_calls.error`: a class and a short description, never a body.
const MAX_ERROR_CHARS: usize = 300;

impl Router {
    pub(super) fn record(
        &self,
        d: &Deployment,
        started: StdInstant,
        result: &Result<Generation, ProviderError>,
    ) -> CallRecord {
        let latency_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let (usage, model, outcome, http_status, error, retry_after_ms) = match result {
            Ok(g) => (g.usage, g.model.clone(), "ok", Some(200), None, None),
            Err(e) => (
                // A rejected 2xx answer is still billed; it counts like any other.
                e.billed.unwrap_or_default(),
                d.client.model().to_owned(),
                e.outcome(),
                e.http_status,
                Some(e.message.chars().take(MAX_ERROR_CHARS).collect()),
                e.retry_after.map(|r| r.as_millis() as i64),
            ),
        };
        CallRecord {
            provider: d.name.clone(),
            kind: d.settings.kind,
            model,
            outcome,
            http_status,
            tokens_in: usage.tokens_in,
            tokens_cached: usage.tokens_cached,
            tokens_cache_write: usage.tokens_cache_write,
            tokens_out: usage.tokens_out,
            tokens_reasoning: usage.tokens_reasoning,
            cost_micros: self.cost(d, usage),
            latency_ms,
            error,
            retry_after_ms,
            purpose: None,
        }
    }

    pub(super) fn cost(&self, d: &Deployment, usage: Billed) -> i64 {
        self.cost_of(d, usage.usage())
    }
}

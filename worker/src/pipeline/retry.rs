//! The retry loop around one provider: exponential backoff with jitter (backon), honouring a
//! provider's retry-after, never retrying what cannot succeed. Every attempt is recorded.
//! The provider router (#4) replaces this with fallbacks and circuit breakers.

use std::time::{Duration, Instant};

use backon::{BackoffBuilder, ExponentialBuilder};

use crate::provider::{FailureKind, Generation, GenerationRequest, ProviderError, TextGenerator};
use bacowr_shared::{
    config::ProviderSettings,
    pricing::{PriceTable, Usage},
};

/// One provider call, as stored in `llm_calls`.
#[derive(Debug, Clone)]
pub struct CallRecord {
    pub provider: String,
    pub model: String,
    pub outcome: &'static str,
    pub http_status: Option<u16>,
    pub tokens_in: i64,
    pub tokens_cached: i64,
    pub tokens_out: i64,
    pub cost_micros: i64,
    pub latency_ms: i64,
    pub error: Option<String>,
}

pub async fn generate_with_retries<G: TextGenerator>(
    generator: &G,
    request: &GenerationRequest,
    settings: &ProviderSettings,
    prices: &PriceTable,
    calls: &mut Vec<CallRecord>,
) -> Result<Generation, ProviderError> {
    let mut backoff = ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(settings.backoff_initial_ms))
        .with_max_delay(Duration::from_millis(settings.backoff_max_ms))
        .with_jitter()
        .with_max_times(settings.max_attempts.saturating_sub(1))
        .build();
    loop {
        let started = Instant::now();
        let result = generator.generate(request).await;
        let latency_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        match result {
            Ok(generation) => {
                calls.push(CallRecord {
                    provider: generator.provider().to_owned(),
                    model: generation.model.clone(),
                    outcome: "ok",
                    http_status: Some(200),
                    tokens_in: generation.tokens_in,
                    tokens_cached: generation.tokens_cached,
                    tokens_out: generation.tokens_out,
                    cost_micros: settings
                        .price(prices, chrono::Utc::now().date_naive())
                        .cost_micros(Usage {
                            input: generation.tokens_in,
                            cached_input: generation.tokens_cached,
                            output: generation.tokens_out,
                        }),
                    latency_ms,
                    error: None,
                });
                return Ok(generation);
            }
            Err(error) => {
                calls.push(CallRecord {
                    provider: generator.provider().to_owned(),
                    model: generator.model().to_owned(),
                    outcome: error.outcome(),
                    http_status: error.http_status,
                    tokens_in: 0,
                    tokens_cached: 0,
                    tokens_out: 0,
                    cost_micros: 0,
                    latency_ms,
                    error: Some(error.message.chars().take(2000).collect()),
                });
                if error.kind == FailureKind::Fatal {
                    return Err(error);
                }
                let Some(delay) = backoff.next() else {
                    return Err(error);
                };
                let delay = error.retry_after.map_or(delay, |after| after.max(delay));
                tracing::warn!(error = %error, ?delay, "provider call failed; retrying");
                tokio::time::sleep(delay).await;
            }
        }
    }
}

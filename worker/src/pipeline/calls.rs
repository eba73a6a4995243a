/// One provider call, as stored in `llm_calls`.
#[derive(Debug, Clone)]
pub struct CallRecord {
    /// The deployment's name.
    pub provider: String,
    pub model: String,
    /// `ok` or the error class (`rate_limited`, `server_error`, …).
    pub outcome: &'static str,
    pub http_status: Option<u16>,
    pub tokens_in: i64,
    pub tokens_cached: i64,
    pub tokens_out: i64,
    pub cost_micros: i64,
    pub latency_ms: i64,
    pub error: Option<String>,
    /// The provider's retry hint, if it gave one.
    pub retry_after_ms: Option<i64>,
}

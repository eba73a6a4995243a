use bacowr_shared::config::ProviderKind;

/// One provider call, as stored in `llm_calls`.
#[derive(Debug, Clone)]
pub struct CallRecord {
    /// The deployment's name.
    pub provider: String,
    /// The deployment's wire protocol.
    pub kind: ProviderKind,
    pub model: String,
    /// `ok` or the error class (`rate_limited`, `server_error`, `truncated`, …).
    pub outcome: &'static str,
    pub http_status: Option<u16>,
    /// Every prompt token, cached and cache-written ones included.
    pub tokens_in: i64,
    pub tokens_cached: i64,
    pub tokens_cache_write: i64,
    /// Every output token, reasoning ones included.
    pub tokens_out: i64,
    pub tokens_reasoning: i64,
    pub cost_micros: i64,
    pub latency_ms: i64,
    pub error: Option<String>,
    /// The provider's retry hint, if it gave one.
    pub retry_after_ms: Option<i64>,
    /// Which draft of the attempt the call was for, set by the pipeline.
    pub purpose: Option<Purpose>,
}

/// Why a call was made: the attempt's first draft, or a regeneration for failed checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Purpose {
    Draft,
    /// The QC checks the previous draft failed.
    Regeneration(Vec<String>),
}

impl Purpose {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Regeneration(_) => "regeneration",
        }
    }

    /// The failed checks a regeneration was for, comma-separated.
    pub fn reason(&self) -> Option<String> {
        match self {
            Self::Draft => None,
            Self::Regeneration(checks) => Some(checks.join(",")),
        }
    }
}

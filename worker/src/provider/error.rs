//! The error taxonomy every protocol maps into, and what the router does with each class.

use std::time::{Duration, SystemTime};

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// 429, Gemini `RESOURCE_EXHAUSTED` per minute.
    RateLimited,
    /// Anthropic 529, Gemini 503 `UNAVAILABLE`.
    Overloaded,
    /// Other 5xx.
    Server,
    Timeout,
    Connection,
    /// 200 with a body that is not the protocol's answer, or truncated.
    Malformed,
    /// 400/413/422: the request as this provider saw it (another may take it).
    BadRequest,
    /// 404: the model (or endpoint) does not exist here, e.g. a retired model name.
    ModelNotFound,
    /// 401/403: a bad or revoked key.
    Auth,
    /// Quota or spend limit exhausted: OpenAI `insufficient_quota`, Anthropic credit balance,
    /// Gemini per-day quota.
    QuotaExhausted,
    /// Refused or blocked by a content policy: an HTTP refusal, or a 200 whose stop reason
    /// says refusal, safety, recitation, blocklist or prohibited content.
    ContentPolicy,
    ContextTooLong,
    /// 200, stopped at the output-token limit (OpenAI `length`, Anthropic `max_tokens`,
    /// Gemini `MAX_TOKENS`): the article is cut off.
    Truncated,
    /// 200 with no text at all.
    EmptyResponse,
    /// 200 with text that holds no article: prose, broken JSON.
    Unparseable,
    /// 200 with JSON that parses but is not the article's shape, or a tool call nobody asked for.
    WrongShape,
    /// Not the provider's: our own budget gate refused the call before it was made. The router
    /// returns it at once (no retry, no fallback: every deployment spends the same budget).
    BudgetExceeded,
    /// Not the provider's: the budget gate could not reach Postgres within the job's wait
    /// budget, so no call was made.
    BudgetUnavailable,
}

/// What the router does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Retry on this deployment after a backoff (then fall back).
    Retry,
    /// Never retry here; try the next deployment.
    FallBack,
    /// One more try on this deployment at once (no backoff: it answered), then fall back.
    RetryOnce,
}

impl ErrorClass {
    pub fn action(self) -> Action {
        match self {
            Self::Server | Self::Timeout | Self::Connection | Self::Malformed => Action::Retry,
            // A usable answer may come on a second try here (the router allows one, with a
            // larger output budget for a truncated one), then the next deployment.
            Self::Truncated | Self::EmptyResponse | Self::Unparseable | Self::WrongShape => {
                Action::RetryOnce
            }
            // The breaker opens for the hinted delay; other deployments go on meanwhile.
            Self::RateLimited | Self::Overloaded => Action::FallBack,
            // One provider's refusal of a parameter or of the content is not another's, so
            // even a bad request moves on; the router stops once every deployment refused.
            Self::Auth
            | Self::QuotaExhausted
            | Self::ModelNotFound
            | Self::ContentPolicy
            | Self::ContextTooLong
            | Self::BadRequest => Action::FallBack,
            // Never seen by the retry loop: the router returns these before any call.
            Self::BudgetExceeded | Self::BudgetUnavailable => Action::FallBack,
        }
    }

    /// The budget gate stopped the call: nothing was sent, and nothing more may be.
    pub fn is_budget(self) -> bool {
        matches!(self, Self::BudgetExceeded | Self::BudgetUnavailable)
    }

    /// Failures caused by this request rather than the deployment's health: the breaker does
    /// not count them, and the deployment is not asked again for this request.
    pub fn is_request_specific(self) -> bool {
        matches!(
            self,
            Self::BadRequest | Self::ContentPolicy | Self::ContextTooLong
        )
    }

    /// Failures that say something about the deployment's health (the breaker counts them).
    /// A content-policy refusal is counted too: a model that refuses this kind of article is
    /// of no use for the batch, although this request alone is not retried there.
    pub fn counts_against_deployment(self) -> bool {
        !matches!(self, Self::BadRequest | Self::ContextTooLong) && !self.is_budget()
    }

    /// An answer that arrived (HTTP 200) but cannot be used as an article.
    pub fn is_unusable_output(self) -> bool {
        matches!(
            self,
            Self::Truncated
                | Self::EmptyResponse
                | Self::Unparseable
                | Self::WrongShape
                | Self::Malformed
                | Self::ContentPolicy
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::RateLimited => "rate_limited",
            Self::Overloaded => "overloaded",
            Self::Server => "server_error",
            Self::Timeout => "timeout",
            Self::Connection => "connection_error",
            Self::Malformed => "malformed_response",
            Self::BadRequest => "bad_request",
            Self::ModelNotFound => "model_not_found",
            Self::Auth => "auth_error",
            Self::QuotaExhausted => "quota_exhausted",
            Self::ContentPolicy => "content_policy",
            Self::ContextTooLong => "context_too_long",
            Self::Truncated => "truncated",
            Self::EmptyResponse => "empty_response",
            Self::Unparseable => "unparseable",
            Self::WrongShape => "wrong_shape",
            Self::BudgetExceeded => "budget_exceeded",
            Self::BudgetUnavailable => "budget_unavailable",
        }
    }

    /// From an HTTP status and the provider's error text, where the protocol has no better
    /// signal of its own.
    pub fn from_status(status: u16, text: &str) -> Self {
        let t = text.to_ascii_lowercase();
        if t.contains("context length")
            || t.contains("context_length")
            || t.contains("too many tokens")
            || t.contains("prompt is too long")
            // Gemini: "The input token count (…) exceeds the maximum number of tokens allowed".
            || (t.contains("input token count") && t.contains("exceeds"))
        {
            return Self::ContextTooLong;
        }
        if t.contains("content policy") || t.contains("content_policy") || t.contains("safety") {
            return Self::ContentPolicy;
        }
        match status {
            // OpenAI's 503 is "the engine is currently overloaded": shed load, like a 529.
            503 => Self::Overloaded,
            401 | 403 => Self::Auth,
            404 | 410 => Self::ModelNotFound,
            408 => Self::Timeout,
            429 => Self::RateLimited,
            529 => Self::Overloaded,
            500..=599 => Self::Server,
            _ => Self::BadRequest,
        }
    }
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("{class:?}: {message}")]
pub struct ProviderError {
    pub class: ErrorClass,
    pub http_status: Option<u16>,
    pub message: String,
    /// The provider's own hint of when to come back.
    pub retry_after: Option<Duration>,
    /// Tokens a rejected 2xx answer was still billed for (empty text, blocked content).
    pub billed: Option<Billed>,
}

/// Token usage of an answer, as the provider billed it (also for answers that could not be
/// used: they are paid for all the same).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Billed {
    /// Every prompt token, cached and cache-written ones included.
    pub tokens_in: i64,
    /// Of `tokens_in`, those read from the provider's prompt cache.
    pub tokens_cached: i64,
    /// Of `tokens_in`, those written to the prompt cache (Anthropic bills them higher).
    pub tokens_cache_write: i64,
    /// Every output token, reasoning/thinking ones included (all three bill them as output).
    pub tokens_out: i64,
    /// Of `tokens_out`, the model's reasoning or thinking.
    pub tokens_reasoning: i64,
}

impl Billed {
    pub fn usage(&self) -> bacowr_shared::pricing::Usage {
        bacowr_shared::pricing::Usage {
            input: self.tokens_in,
            cached_input: self.tokens_cached,
            cache_write_input: self.tokens_cache_write,
            output: self.tokens_out,
        }
    }
}

impl ProviderError {
    pub fn new(class: ErrorClass, http_status: Option<u16>, message: impl Into<String>) -> Self {
        Self {
            class,
            http_status,
            message: message.into(),
            retry_after: None,
            billed: None,
        }
    }

    pub fn with_billed(mut self, billed: Billed) -> Self {
        self.billed = Some(billed);
        self
    }

    pub fn outcome(&self) -> &'static str {
        self.class.as_str()
    }
}

/// `retry-after-ms`, or `retry-after` as seconds or an HTTP date.
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(ms) = get("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        return Some(Duration::from_millis(ms.max(0.0) as u64));
    }
    let value = get("retry-after")?;
    if let Ok(secs) = value.parse::<f64>() {
        return Some(Duration::from_millis((secs.max(0.0) * 1000.0) as u64));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(
        date.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// Gemini's `RetryInfo.retryDelay`, e.g. `"12s"` or `"1.5s"`.
pub fn parse_retry_delay(value: &str) -> Option<Duration> {
    let secs: f64 = value.trim().strip_suffix('s')?.parse().ok()?;
    Some(Duration::from_millis((secs.max(0.0) * 1000.0) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue};

    #[test]
    fn retry_hints() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert("retry-after-ms", HeaderValue::from_static("1500"));
        assert_eq!(retry_after(&h), Some(Duration::from_millis(1500)));
        let mut h = HeaderMap::new();
        let later = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(30));
        h.insert("retry-after", HeaderValue::from_str(&later).unwrap());
        let d = retry_after(&h).unwrap();
        assert!(
            d > Duration::from_secs(27) && d <= Duration::from_secs(30),
            "{d:?}"
        );
        assert_eq!(parse_retry_delay("12s"), Some(Duration::from_secs(12)));
        assert_eq!(parse_retry_delay("0.5s"), Some(Duration::from_millis(500)));
    }

    #[test]
    fn classes_and_actions() {
        assert_eq!(ErrorClass::from_status(401, ""), ErrorClass::Auth);
        assert_eq!(ErrorClass::from_status(529, ""), ErrorClass::Overloaded);
        assert_eq!(
            ErrorClass::from_status(400, "This model's maximum context length is 8192 tokens"),
            ErrorClass::ContextTooLong
        );
        assert_eq!(ErrorClass::from_status(400, "bad"), ErrorClass::BadRequest);
        assert_eq!(ErrorClass::Server.action(), Action::Retry);
        assert_eq!(ErrorClass::QuotaExhausted.action(), Action::FallBack);
        assert_eq!(ErrorClass::BadRequest.action(), Action::FallBack);
        assert_eq!(
            ErrorClass::from_status(404, "model not found"),
            ErrorClass::ModelNotFound
        );
        assert!(ErrorClass::ContentPolicy.is_request_specific());
        assert!(ErrorClass::ModelNotFound.counts_against_deployment());
    }
}

//! Text generation behind one trait, so the router (#4) can chain providers, and every call is
//! measured the same way.

mod openai;

use std::time::Duration;

pub use openai::OpenAiCompatible;

#[derive(Debug, Clone)]
pub struct GenerationRequest {
    pub system: String,
    pub user: String,
    pub max_output_tokens: u32,
    pub temperature: f32,
    /// Ask for the structured article (JSON) where the provider supports it.
    pub structured: bool,
}

#[derive(Debug, Clone)]
pub struct Generation {
    pub text: String,
    pub tokens_in: i64,
    /// Of `tokens_in`, those served from the provider's prompt cache.
    pub tokens_cached: i64,
    pub tokens_out: i64,
    pub model: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// Worth another try: 5xx, 429, timeouts, connection errors, truncated bodies.
    Retryable,
    /// Can never succeed as sent: bad key, invalid request, exhausted quota.
    Fatal,
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct ProviderError {
    pub kind: FailureKind,
    pub http_status: Option<u16>,
    pub message: String,
    pub retry_after: Option<Duration>,
}

impl ProviderError {
    pub fn outcome(&self) -> &'static str {
        match self.kind {
            FailureKind::Retryable => "retryable_error",
            FailureKind::Fatal => "fatal_error",
        }
    }
}

/// One provider+model. Implementations make exactly one HTTP call per `generate`: retries are
/// the caller's, so each attempt is recorded.
pub trait TextGenerator: Send + Sync {
    fn provider(&self) -> &str;
    fn model(&self) -> &str;
    fn generate(
        &self,
        request: &GenerationRequest,
    ) -> impl Future<Output = Result<Generation, ProviderError>> + Send;
}

//! Text generation behind one trait, with native clients for OpenAI (and OpenAI-compatible
//! servers), Anthropic and Gemini, and one error taxonomy. Retries, fallbacks, circuit
//! breakers and rate limits live in the router, not in the clients.

mod anthropic;
pub mod error;
pub mod family;
mod gemini;
mod http;
mod openai;

pub use anthropic::Anthropic;
pub use error::{Action, Billed, ErrorClass, ProviderError};
pub use gemini::Gemini;
pub use openai::OpenAiCompatible;

use bacowr_shared::config::{DeploymentSettings, ProviderKind};

#[derive(Debug, Clone)]
pub struct GenerationRequest {
    pub system: String,
    pub user: String,
    pub max_output_tokens: u32,
    pub temperature: f32,
    /// Ask for the structured article (JSON) where the provider supports it.
    pub structured: bool,
}

impl GenerationRequest {
    /// Prompt tokens, roughly, for rate budgets before the provider says.
    pub fn estimated_tokens(&self) -> u32 {
        let words = self.system.split_whitespace().count() + self.user.split_whitespace().count();
        (words as u32 * 4).div_ceil(3) + self.max_output_tokens / 2
    }
}

#[derive(Debug, Clone)]
pub struct Generation {
    /// The answer's text: the article as JSON (or Markdown where no schema was asked for).
    pub text: String,
    pub usage: Billed,
    pub model: String,
}

/// One provider+model. Implementations make exactly one HTTP call per `generate`: retries are
/// the router's, so each attempt is recorded.
pub trait TextGenerator: Send + Sync {
    fn provider(&self) -> &str;
    fn model(&self) -> &str;
    fn generate(
        &self,
        request: &GenerationRequest,
    ) -> impl Future<Output = Result<Generation, ProviderError>> + Send;
}

/// A configured client of any protocol.
pub enum Client {
    OpenAi(OpenAiCompatible),
    Anthropic(Anthropic),
    Gemini(Gemini),
}

impl Client {
    pub fn new(name: &str, d: &DeploymentSettings) -> Result<Self, reqwest::Error> {
        Ok(match d.kind {
            ProviderKind::Anthropic => Self::Anthropic(Anthropic::new(name, d)?),
            ProviderKind::Gemini => Self::Gemini(Gemini::new(name, d)?),
            ProviderKind::OpenAi => Self::OpenAi(OpenAiCompatible::new(name, d)?),
        })
    }

    pub async fn generate(&self, request: &GenerationRequest) -> Result<Generation, ProviderError> {
        match self {
            Self::OpenAi(c) => c.generate(request).await,
            Self::Anthropic(c) => c.generate(request).await,
            Self::Gemini(c) => c.generate(request).await,
        }
    }

    pub fn model(&self) -> &str {
        match self {
            Self::OpenAi(c) => c.model(),
            Self::Anthropic(c) => c.model(),
            Self::Gemini(c) => c.model(),
        }
    }
}

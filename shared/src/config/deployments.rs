//! The provider router's settings: the chain, breakers, and named deployments.

use std::time::Duration;

use serde::Deserialize;

#[derive(Clone, Deserialize)]
pub struct RouterSettings {
    pub chain: Vec<String>,
    pub max_wait_secs: u64,
    pub breaker_window: usize,
    pub breaker_min_calls: usize,
    pub breaker_failure_rate: f64,
    pub breaker_cooldown_secs: u64,
    pub hard_failure_cooldown_secs: u64,
}

fn default_timeout_secs() -> u64 {
    120
}

fn default_structured_output() -> String {
    "json_schema".to_owned()
}

/// The wire protocol a deployment speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// OpenAI chat completions, and any server that speaks it (OpenRouter, vLLM, Ollama).
    #[serde(rename = "openai")]
    OpenAi,
    Anthropic,
    Gemini,
}

impl ProviderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OpenAi => "openai",
            Self::Anthropic => "anthropic",
            Self::Gemini => "gemini",
        }
    }
}

impl std::str::FromStr for ProviderKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "openai" => Ok(Self::OpenAi),
            "anthropic" => Ok(Self::Anthropic),
            "gemini" => Ok(Self::Gemini),
            other => Err(format!(
                "unknown provider kind {other:?}: use openai, anthropic or gemini"
            )),
        }
    }
}

impl std::fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One provider + model the router may call.
#[derive(Clone, Deserialize)]
pub struct DeploymentSettings {
    /// `openai` (and any OpenAI-compatible server), `anthropic` or `gemini`.
    pub kind: ProviderKind,
    pub model: String,
    /// Empty: the provider's public endpoint.
    #[serde(default)]
    pub base_url: String,
    #[serde(default)]
    pub api_key: String,
    /// Read the key from this environment variable (preferred over `api_key`).
    #[serde(default)]
    pub api_key_env: String,
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    /// Fleet-wide requests and tokens per minute; 0 means no limit.
    #[serde(default)]
    pub rpm: u32,
    #[serde(default)]
    pub tpm: u32,
    /// The provider's name in the price table; defaults to `kind`.
    #[serde(default)]
    pub price_provider: String,
    #[serde(default = "default_structured_output")]
    pub structured_output: String,
    /// The model's own output-token limit, for the one retry of a truncated answer with a
    /// larger budget; unset: known per model family.
    #[serde(default)]
    pub max_output_tokens: Option<u32>,
    /// OpenAI reasoning models' `reasoning_effort` (default `low`), Gemini 3's thinking level.
    #[serde(default)]
    pub reasoning_effort: Option<String>,
    /// Thinking tokens: Gemini 2.5's `thinkingBudget` (default 1024 on Pro, 0 on Flash),
    /// Anthropic extended thinking (off unless set), headroom for OpenAI reasoning (4000).
    #[serde(default)]
    pub thinking_budget: Option<u32>,
    /// Overrides `[provider].temperature` where the model takes one.
    #[serde(default)]
    pub temperature: Option<f32>,
    /// Prices of this deployment's model, USD per million tokens, where the price table has
    /// none (a private model, a negotiated rate). Input and output go together.
    #[serde(default)]
    pub price_input_per_mtok: Option<f64>,
    #[serde(default)]
    pub price_cached_input_per_mtok: Option<f64>,
    #[serde(default)]
    pub price_output_per_mtok: Option<f64>,
    /// The model costs nothing (a self-hosted server): no price needed.
    #[serde(default)]
    pub free: bool,
}

impl DeploymentSettings {
    /// A deployment of `model` on `kind`'s public endpoint, every other setting at its default.
    pub fn new(kind: ProviderKind, model: &str) -> Self {
        Self {
            kind,
            model: model.to_owned(),
            base_url: String::new(),
            api_key: String::new(),
            api_key_env: String::new(),
            timeout_secs: default_timeout_secs(),
            rpm: 0,
            tpm: 0,
            price_provider: String::new(),
            structured_output: default_structured_output(),
            max_output_tokens: None,
            reasoning_effort: None,
            thinking_budget: None,
            temperature: None,
            price_input_per_mtok: None,
            price_cached_input_per_mtok: None,
            price_output_per_mtok: None,
            free: false,
        }
    }

    pub fn key(&self) -> String {
        if !self.api_key_env.is_empty()
            && let Ok(key) = std::env::var(&self.api_key_env)
        {
            return key;
        }
        self.api_key.clone()
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }

    pub fn base_url(&self) -> String {
        if !self.base_url.is_empty() {
            return self.base_url.clone();
        }
        match self.kind {
            ProviderKind::Anthropic => "https://api.anthropic.com",
            ProviderKind::Gemini => "https://generativelanguage.googleapis.com",
            ProviderKind::OpenAi => "https://api.openai.com/v1",
        }
        .to_owned()
    }

    pub fn price_provider(&self) -> &str {
        if self.price_provider.is_empty() {
            self.kind.as_str()
        } else {
            &self.price_provider
        }
    }

    /// The price of this deployment's model on `date`: the table's, else the deployment's own,
    /// else nothing for a free model. An error names the deployment when neither is known: a
    /// call must never be charged at a made-up rate.
    pub fn price(
        &self,
        name: &str,
        table: &crate::pricing::PriceTable,
        date: chrono::NaiveDate,
    ) -> Result<crate::pricing::Price, String> {
        if let (Some(input), Some(output)) = (self.price_input_per_mtok, self.price_output_per_mtok)
        {
            return Ok(crate::pricing::Price::flat(
                input,
                self.price_cached_input_per_mtok.unwrap_or(input),
                output,
            ));
        }
        if let Some(price) = table.price(self.price_provider(), &self.model, date) {
            return Ok(price);
        }
        if self.free {
            return Ok(crate::pricing::Price::flat(0.0, 0.0, 0.0));
        }
        Err(format!(
            "deployment {name:?}: the price table has no price for {} model {:?} on {date}; \
             set price_input_per_mtok and price_output_per_mtok on the deployment, add it to \
             the price table (provider.price_table), or set free = true for a model that costs nothing",
            self.price_provider(),
            self.model
        ))
    }
}

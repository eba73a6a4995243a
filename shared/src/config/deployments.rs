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

/// One provider + model the router may call.
#[derive(Clone, Deserialize)]
pub struct DeploymentSettings {
    /// `openai` (and any OpenAI-compatible server), `anthropic` or `gemini`.
    pub kind: String,
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
}

impl DeploymentSettings {
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
        match self.kind.as_str() {
            "anthropic" => "https://api.anthropic.com",
            "gemini" => "https://generativelanguage.googleapis.com",
            _ => "https://api.openai.com/v1",
        }
        .to_owned()
    }

    pub fn price_provider(&self) -> &str {
        if self.price_provider.is_empty() {
            &self.kind
        } else {
            &self.price_provider
        }
    }
}

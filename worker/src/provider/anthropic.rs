//! Anthropic Messages API: `POST /v1/messages` with `x-api-key` and `anthropic-version`.

use serde_json::{Value, json};

use super::{
    Generation, GenerationRequest, TextGenerator,
    error::{Billed, ErrorClass, ProviderError},
    http,
};
use bacowr_shared::config::DeploymentSettings;

const API_VERSION: &str = "2023-06-01";

pub struct Anthropic {
    http: reqwest::Client,
    base_url: String,
    api_key: String,
    model: String,
    name: String,
}

impl Anthropic {
    pub fn new(name: &str, d: &DeploymentSettings) -> Result<Self, reqwest::Error> {
        Ok(Self {
            http: http::client(d.timeout())?,
            base_url: d.base_url().trim_end_matches('/').to_owned(),
            api_key: d.key(),
            model: d.model.clone(),
            name: name.to_owned(),
        })
    }
}

fn classify(mut error: ProviderError, body: Option<&Value>) -> ProviderError {
    let kind = body
        .and_then(|b| b["error"]["type"].as_str())
        .unwrap_or_default();
    let message = body
        .and_then(|b| b["error"]["message"].as_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    error.class = match kind {
        "rate_limit_error" => ErrorClass::RateLimited,
        "overloaded_error" => ErrorClass::Overloaded,
        "authentication_error" | "permission_error" => ErrorClass::Auth,
        "invalid_request_error"
            if message.contains("credit balance")
                || message.contains("spend limit")
                || message.contains("billing") =>
        {
            ErrorClass::QuotaExhausted
        }
        _ => error.class,
    };
    error
}

impl TextGenerator for Anthropic {
    fn provider(&self) -> &str {
        &self.name
    }

    fn model(&self) -> &str {
        &self.model
    }

    async fn generate(&self, request: &GenerationRequest) -> Result<Generation, ProviderError> {
        let body = json!({
            "model": self.model,
            "max_tokens": request.max_output_tokens,
            "temperature": request.temperature,
            "system": request.system,
            "messages": [{"role": "user", "content": request.user}],
        });
        let call = self
            .http
            .post(format!("{}/v1/messages", self.base_url))
            .header("x-api-key", &self.api_key)
            .header("anthropic-version", API_VERSION)
            .json(&body);
        let answer = http::send(call)
            .await
            .map_err(|(e, body)| classify(e, body.as_ref()))?;
        let text: String = answer["content"]
            .as_array()
            .map(|blocks| {
                blocks
                    .iter()
                    .filter(|b| b["type"] == "text")
                    .filter_map(|b| b["text"].as_str())
                    .collect::<Vec<_>>()
                    .join("")
            })
            .unwrap_or_default();
        let usage = &answer["usage"];
        let n = |k: &str| usage[k].as_i64().unwrap_or(0);
        // input_tokens excludes cache reads and writes; all three are prompt tokens.
        let cached = n("cache_read_input_tokens");
        let tokens_in = n("input_tokens") + cached + n("cache_creation_input_tokens");
        if text.trim().is_empty() {
            let billed = Billed {
                tokens_in,
                tokens_cached: cached,
                tokens_out: n("output_tokens"),
            };
            return Err(ProviderError::new(
                ErrorClass::Malformed,
                Some(200),
                "no text in the answer",
            )
            .with_billed(billed));
        }
        Ok(Generation {
            text,
            tokens_in,
            tokens_cached: cached,
            tokens_out: n("output_tokens"),
            model: answer["model"].as_str().unwrap_or(&self.model).to_owned(),
        })
    }
}

//! Anthropic Messages API: `POST /v1/messages` with `x-api-key` and `anthropic-version`. The
//! article's schema is enforced by a forced tool call (`tool_choice: {type: tool}`), the
//! answer read from the `tool_use` block's `input`. Extended thinking, when a deployment turns
//! it on, cannot be combined with a forced tool, so the tool is then offered with `auto`.

use serde_json::{Value, json};

use super::{
    Generation, GenerationRequest, TextGenerator,
    error::{Billed, ErrorClass, ProviderError},
    family, http,
};
use bacowr_shared::config::DeploymentSettings;

const API_VERSION: &str = "2023-06-01";

pub struct Anthropic {
    http: reqwest::Client,
    base_url: String,
    api_key: String,
    name: String,
    settings: DeploymentSettings,
}

/// The one tool the model is asked to call: its input is the article.
const TOOL: &str = "article";

impl Anthropic {
    pub fn new(name: &str, d: &DeploymentSettings) -> Result<Self, reqwest::Error> {
        Ok(Self {
            http: http::client(d.timeout())?,
            base_url: d.base_url().trim_end_matches('/').to_owned(),
            api_key: d.key(),
            name: name.to_owned(),
            settings: d.clone(),
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
    // A tier's monthly spend cap answers 429 with `enforced_spend_limit_reached`: nothing
    // works until the month turns, so it is a spent quota, not a rate to wait out.
    let detail = body
        .and_then(|b| b["error"]["details"]["error_code"].as_str())
        .unwrap_or_default();
    error.class = match kind {
        _ if detail.contains("spend_limit") => ErrorClass::QuotaExhausted,
        "rate_limit_error" => ErrorClass::RateLimited,
        "overloaded_error" => ErrorClass::Overloaded,
        "authentication_error" | "permission_error" => ErrorClass::Auth,
        "not_found_error" => ErrorClass::ModelNotFound,
        "request_too_large" => ErrorClass::ContextTooLong,
        // Payment details the account must fix: no request of this key will pass.
        "billing_error" => ErrorClass::QuotaExhausted,
        "api_error" if error.http_status.is_some_and(|s| s >= 500) => ErrorClass::Server,
        "invalid_request_error"
            if message.contains("credit balance")
                || message.contains("spend limit")
                || message.contains("usage limits")
                || message.contains("billing") =>
        {
            ErrorClass::QuotaExhausted
        }
        _ => error.class,
    };
    error
}

impl Anthropic {
    fn body(&self, request: &GenerationRequest) -> Value {
        let d = &self.settings;
        let mut body = json!({
            "model": d.model,
            "max_tokens": request.max_output_tokens,
            "system": request.system,
            "messages": [{"role": "user", "content": request.user}],
        });
        if let Some(t) = family::temperature(d, request.temperature) {
            body["temperature"] = json!(t);
        }
        let thinking = family::anthropic_thinking(d);
        if let Some(budget) = thinking {
            body["thinking"] = json!({"type": "enabled", "budget_tokens": budget});
        }
        if request.structured && d.structured_output != "none" {
            body["tools"] = json!([{
                "name": TOOL,
                "description": "Submit the finished article.",
                "input_schema": crate::pipeline::structured::schema(),
            }]);
            body["tool_choice"] = if thinking.is_some() {
                json!({"type": "auto"})
            } else {
                json!({"type": "tool", "name": TOOL})
            };
        }
        body
    }
}

/// The answer's article: the `article` tool call's input as JSON text, else the text blocks.
fn answer_text(content: &[Value]) -> String {
    if let Some(input) = content
        .iter()
        .find(|b| b["type"] == "tool_use" && b["name"] == TOOL)
        .map(|b| &b["input"])
    {
        return input.to_string();
    }
    content
        .iter()
        .filter(|b| b["type"] == "text")
        .filter_map(|b| b["text"].as_str())
        .collect::<Vec<_>>()
        .join("")
}

impl TextGenerator for Anthropic {
    fn provider(&self) -> &str {
        &self.name
    }

    fn model(&self) -> &str {
        &self.settings.model
    }

    async fn generate(&self, request: &GenerationRequest) -> Result<Generation, ProviderError> {
        let call = self
            .http
            .post(format!("{}/v1/messages", self.base_url))
            .header("x-api-key", &self.api_key)
            .header("anthropic-version", API_VERSION)
            .json(&self.body(request));
        let answer = http::send(call)
            .await
            .map_err(|(e, body)| classify(e, body.as_ref()))?;
        let usage = &answer["usage"];
        let n = |k: &str| usage[k].as_i64().unwrap_or(0);
        // input_tokens excludes cache reads and writes; all three are prompt tokens. Thinking
        // is billed within output_tokens, which the API does not split.
        let billed = Billed {
            tokens_in: n("input_tokens")
                + n("cache_read_input_tokens")
                + n("cache_creation_input_tokens"),
            tokens_cached: n("cache_read_input_tokens"),
            tokens_cache_write: n("cache_creation_input_tokens"),
            tokens_out: n("output_tokens"),
            tokens_reasoning: 0,
        };
        let unusable = |class, message: String| {
            ProviderError::new(class, Some(200), message).with_billed(billed)
        };
        let content = answer["content"].as_array().cloned().unwrap_or_default();
        let stop = answer["stop_reason"].as_str().unwrap_or_default();
        match stop {
            "max_tokens" | "model_context_window_exceeded" => {
                return Err(unusable(
                    ErrorClass::Truncated,
                    format!("stopped at the output-token limit (stop_reason {stop})"),
                ));
            }
            "refusal" => {
                return Err(unusable(
                    ErrorClass::ContentPolicy,
                    "the model refused (stop_reason refusal)".into(),
                ));
            }
            // A server tool's long turn paused mid-way: what came so far is not the article.
            "pause_turn" => {
                return Err(unusable(
                    ErrorClass::Truncated,
                    "the turn was paused before the answer ended (stop_reason pause_turn)".into(),
                ));
            }
            "tool_use"
                if !content
                    .iter()
                    .any(|b| b["type"] == "tool_use" && b["name"] == TOOL) =>
            {
                return Err(unusable(
                    ErrorClass::WrongShape,
                    "a call of a tool nobody offered".into(),
                ));
            }
            _ => {}
        }
        let text = answer_text(&content);
        if text.trim().is_empty() {
            return Err(unusable(
                ErrorClass::EmptyResponse,
                "no text in the answer".into(),
            ));
        }
        Ok(Generation {
            text,
            usage: billed,
            model: answer["model"]
                .as_str()
                .unwrap_or(&self.settings.model)
                .to_owned(),
        })
    }
}

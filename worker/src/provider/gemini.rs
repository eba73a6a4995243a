//! Gemini `generateContent`: `POST /v1beta/models/{model}:generateContent` with the key in
//! `x-goog-api-key`, `systemInstruction`, and a response schema in `generationConfig`.

use serde_json::{Value, json};

use super::{
    Generation, GenerationRequest, TextGenerator,
    error::{Billed, ErrorClass, ProviderError, parse_retry_delay},
    family, http,
};
use bacowr_shared::config::DeploymentSettings;

pub struct Gemini {
    http: reqwest::Client,
    base_url: String,
    api_key: String,
    name: String,
    settings: DeploymentSettings,
}

impl Gemini {
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

/// Gemini's schema dialect (an OpenAPI subset: no `additionalProperties`).
fn schema() -> Value {
    json!({
        "type": "OBJECT",
        "required": ["title", "meta_description", "body_markdown", "trust_links"],
        "properties": {
            "title": {"type": "STRING"},
            "meta_description": {"type": "STRING"},
            "body_markdown": {"type": "STRING"},
            "trust_links": {"type": "ARRAY", "items": {"type": "OBJECT", "properties": {"url": {"type": "STRING"}}, "required": ["url"]}}
        }
    })
}

fn classify(mut error: ProviderError, body: Option<&Value>) -> ProviderError {
    let Some(e) = body.map(|b| &b["error"]) else {
        return error;
    };
    let status = e["status"].as_str().unwrap_or_default();
    let details = e["details"].as_array().cloned().unwrap_or_default();
    let detail_of = |suffix: &str| {
        details
            .iter()
            .find(|d| d["@type"].as_str().is_some_and(|t| t.ends_with(suffix)))
    };
    let per_day = detail_of("QuotaFailure")
        .and_then(|q| q["violations"].as_array())
        .is_some_and(|v| {
            v.iter().any(|v| {
                v["quotaId"]
                    .as_str()
                    .is_some_and(|id| id.contains("PerDay"))
            })
        });
    let key_invalid = detail_of("ErrorInfo").is_some_and(|i| i["reason"] == "API_KEY_INVALID");
    error.class = match status {
        "RESOURCE_EXHAUSTED" if per_day => ErrorClass::QuotaExhausted,
        "RESOURCE_EXHAUSTED" => ErrorClass::RateLimited,
        "UNAVAILABLE" => ErrorClass::Overloaded,
        "UNAUTHENTICATED" | "PERMISSION_DENIED" => ErrorClass::Auth,
        "INVALID_ARGUMENT" if key_invalid => ErrorClass::Auth,
        "NOT_FOUND" => ErrorClass::ModelNotFound,
        "INTERNAL" if error.http_status.is_some_and(|s| s >= 500) => ErrorClass::Server,
        "DEADLINE_EXCEEDED" => ErrorClass::Timeout,
        _ => error.class,
    };
    if let Some(delay) = detail_of("RetryInfo")
        .and_then(|r| r["retryDelay"].as_str())
        .and_then(parse_retry_delay)
    {
        error.retry_after = Some(delay);
    }
    error
}

impl TextGenerator for Gemini {
    fn provider(&self) -> &str {
        &self.name
    }

    fn model(&self) -> &str {
        &self.settings.model
    }

    async fn generate(&self, request: &GenerationRequest) -> Result<Generation, ProviderError> {
        let call = self
            .http
            .post(format!(
                "{}/v1beta/models/{}:generateContent",
                self.base_url, self.settings.model
            ))
            .header("x-goog-api-key", &self.api_key)
            .json(&self.body(request));
        let answer = http::send(call)
            .await
            .map_err(|(e, body)| classify(e, body.as_ref()))?;
        let usage = &answer["usageMetadata"];
        let n = |k: &str| usage[k].as_i64().unwrap_or(0);
        // Thoughts are billed at the output rate; promptTokenCount includes the cached part.
        let billed = Billed {
            tokens_in: n("promptTokenCount"),
            tokens_cached: n("cachedContentTokenCount"),
            tokens_cache_write: 0,
            tokens_out: n("candidatesTokenCount") + n("thoughtsTokenCount"),
            tokens_reasoning: n("thoughtsTokenCount"),
        };
        let unusable = |class, message: String| {
            ProviderError::new(class, Some(200), message).with_billed(billed)
        };
        if let Some(reason) = answer["promptFeedback"]["blockReason"].as_str() {
            return Err(unusable(
                ErrorClass::ContentPolicy,
                format!("the prompt was blocked (blockReason {reason})"),
            ));
        }
        let candidate = &answer["candidates"][0];
        let finish = candidate["finishReason"].as_str().unwrap_or_default();
        if let Some(class) = finish_class(finish) {
            return Err(unusable(class, format!("finishReason {finish}")));
        }
        // Thought summaries (`thought: true`) are not the answer.
        let text: String = candidate["content"]["parts"]
            .as_array()
            .map(|parts| {
                parts
                    .iter()
                    .filter(|p| p["thought"] != true)
                    .filter_map(|p| p["text"].as_str())
                    .collect::<Vec<_>>()
                    .join("")
            })
            .unwrap_or_default();
        if text.trim().is_empty() {
            return Err(unusable(
                ErrorClass::EmptyResponse,
                "no text in the answer".into(),
            ));
        }
        Ok(Generation {
            text,
            usage: billed,
            model: answer["modelVersion"]
                .as_str()
                .unwrap_or(&self.settings.model)
                .to_owned(),
        })
    }
}

impl Gemini {
    fn body(&self, request: &GenerationRequest) -> Value {
        let d = &self.settings;
        let mut config = json!({ "maxOutputTokens": request.max_output_tokens });
        if let Some(t) = family::temperature(d, request.temperature) {
            config["temperature"] = json!(t);
        }
        if request.structured && d.structured_output != "none" {
            config["responseMimeType"] = json!("application/json");
            config["responseSchema"] = schema();
        }
        if let Some(budget) = family::gemini_thinking_budget(d) {
            config["thinkingConfig"] = json!({ "thinkingBudget": budget });
        } else if let Some(level) = family::gemini_thinking_level(d) {
            config["thinkingConfig"] = json!({ "thinkingLevel": level });
        }
        json!({
            "systemInstruction": {"parts": [{"text": request.system}]},
            "contents": [{"role": "user", "parts": [{"text": request.user}]}],
            "generationConfig": config,
        })
    }
}

/// What a candidate's `finishReason` says about its answer: `None` for a whole answer.
fn finish_class(reason: &str) -> Option<ErrorClass> {
    Some(match reason {
        "" | "STOP" | "FINISH_REASON_UNSPECIFIED" => return None,
        "MAX_TOKENS" => ErrorClass::Truncated,
        "SAFETY" | "RECITATION" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII" | "IMAGE_SAFETY"
        | "LANGUAGE" => ErrorClass::ContentPolicy,
        "MALFORMED_FUNCTION_CALL" | "UNEXPECTED_TOOL_CALL" | "TOO_MANY_TOOL_CALLS" => {
            ErrorClass::WrongShape
        }
        // OTHER and whatever the API adds later: no usable answer we can vouch for.
        _ => ErrorClass::EmptyResponse,
    })
}

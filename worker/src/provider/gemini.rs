//! Gemini `generateContent`: `POST /v1beta/models/{model}:generateContent` with the key in
//! `x-goog-api-key`, `systemInstruction`, and a response schema in `generationConfig`.

use serde_json::{Value, json};

use super::{
    Generation, GenerationRequest, TextGenerator,
    error::{Billed, ErrorClass, ProviderError, parse_retry_delay},
    http,
};
use bacowr_shared::config::DeploymentSettings;

pub struct Gemini {
    http: reqwest::Client,
    base_url: String,
    api_key: String,
    model: String,
    name: String,
}

impl Gemini {
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
        &self.model
    }

    async fn generate(&self, request: &GenerationRequest) -> Result<Generation, ProviderError> {
        let mut config = json!({
            "temperature": request.temperature,
            "maxOutputTokens": request.max_output_tokens,
        });
        if request.structured {
            config["responseMimeType"] = json!("application/json");
            config["responseSchema"] = schema();
        }
        let body = json!({
            "systemInstruction": {"parts": [{"text": request.system}]},
            "contents": [{"role": "user", "parts": [{"text": request.user}]}],
            "generationConfig": config,
        });
        let call = self
            .http
            .post(format!(
                "{}/v1beta/models/{}:generateContent",
                self.base_url, self.model
            ))
            .header("x-goog-api-key", &self.api_key)
            .json(&body);
        let answer = http::send(call)
            .await
            .map_err(|(e, body)| classify(e, body.as_ref()))?;
        let usage = &answer["usageMetadata"];
        let n = |k: &str| usage[k].as_i64().unwrap_or(0);
        // Thinking models bill their thoughts at the output rate.
        let billed = Billed {
            tokens_in: n("promptTokenCount"),
            tokens_cached: n("cachedContentTokenCount"),
            tokens_out: n("candidatesTokenCount") + n("thoughtsTokenCount"),
        };
        let refused = |class, message: &str| {
            ProviderError::new(class, Some(200), message.to_owned()).with_billed(billed)
        };
        if answer["promptFeedback"]["blockReason"].is_string() {
            return Err(refused(ErrorClass::ContentPolicy, "the prompt was blocked"));
        }
        let candidate = &answer["candidates"][0];
        if matches!(
            candidate["finishReason"].as_str(),
            Some("SAFETY" | "PROHIBITED_CONTENT" | "BLOCKLIST")
        ) {
            return Err(refused(ErrorClass::ContentPolicy, "the answer was blocked"));
        }
        let text: String = candidate["content"]["parts"]
            .as_array()
            .map(|parts| {
                parts
                    .iter()
                    .filter_map(|p| p["text"].as_str())
                    .collect::<Vec<_>>()
                    .join("")
            })
            .unwrap_or_default();
        if text.trim().is_empty() {
            return Err(refused(ErrorClass::Malformed, "no text in the answer"));
        }
        Ok(Generation {
            text,
            tokens_in: billed.tokens_in,
            tokens_cached: billed.tokens_cached,
            tokens_out: billed.tokens_out,
            model: answer["modelVersion"]
                .as_str()
                .unwrap_or(&self.model)
                .to_owned(),
        })
    }
}

//! OpenAI and any OpenAI-compatible server (OpenRouter, vLLM, Ollama, llm-sim), through
//! async-openai with its own retry layer replaced by a plain service that also keeps the
//! `retry-after` hint: retries live in one place, the router.

use std::{
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll},
    time::Duration,
};

use async_openai::{
    Client,
    config::OpenAIConfig,
    error::OpenAIError,
    middleware::HttpRequestFactory,
    types::chat::{
        ChatCompletionRequestSystemMessageArgs, ChatCompletionRequestUserMessageArgs,
        CreateChatCompletionRequestArgs, FinishReason, ReasoningEffort, ResponseFormat,
        ResponseFormatJsonSchema,
    },
};

use super::{
    Generation, GenerationRequest, TextGenerator,
    error::{Billed, ErrorClass, ProviderError, retry_after},
    family,
};
use bacowr_shared::config::DeploymentSettings;

pub struct OpenAiCompatible {
    http: reqwest::Client,
    config: OpenAIConfig,
    name: String,
    settings: DeploymentSettings,
}

/// What the HTTP layer saw of the answer, for errors async-openai can't parse (OpenRouter,
/// vLLM, Ollama and plain-text error bodies differ from OpenAI's).
#[derive(Default)]
struct Seen {
    status: Option<u16>,
    retry_after: Option<Duration>,
}

/// The HTTP layer under async-openai: one request, no retries, status and retry hint kept.
#[derive(Clone)]
struct Plain {
    http: reqwest::Client,
    seen: Arc<Mutex<Seen>>,
}

impl tower::Service<HttpRequestFactory> for Plain {
    type Response = reqwest::Response;
    type Error = OpenAIError;
    type Future = Pin<Box<dyn Future<Output = Result<reqwest::Response, OpenAIError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, factory: HttpRequestFactory) -> Self::Future {
        let http = self.http.clone();
        let seen = self.seen.clone();
        Box::pin(async move {
            let request = factory.build().await?;
            let response = http.execute(request).await.map_err(OpenAIError::Reqwest)?;
            if let Ok(mut seen) = seen.lock() {
                seen.status = Some(response.status().as_u16());
                seen.retry_after = retry_after(response.headers());
            }
            Ok(response)
        })
    }
}

impl OpenAiCompatible {
    pub fn new(name: &str, d: &DeploymentSettings) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(d.timeout())
            .connect_timeout(Duration::from_secs(10))
            .build()?;
        let config = OpenAIConfig::new()
            .with_api_base(d.base_url().trim_end_matches('/'))
            .with_api_key(d.key());
        Ok(Self {
            http,
            config,
            name: name.to_owned(),
            settings: d.clone(),
        })
    }
}

impl TextGenerator for OpenAiCompatible {
    fn provider(&self) -> &str {
        &self.name
    }

    fn model(&self) -> &str {
        &self.settings.model
    }

    async fn generate(&self, request: &GenerationRequest) -> Result<Generation, ProviderError> {
        let invalid = |message: String| ProviderError::new(ErrorClass::BadRequest, None, message);
        let messages = vec![
            ChatCompletionRequestSystemMessageArgs::default()
                .content(request.system.clone())
                .build()
                .map_err(|e| invalid(e.to_string()))?
                .into(),
            ChatCompletionRequestUserMessageArgs::default()
                .content(request.user.clone())
                .build()
                .map_err(|e| invalid(e.to_string()))?
                .into(),
        ];
        let d = &self.settings;
        let mut args = CreateChatCompletionRequestArgs::default();
        args.model(d.model.clone())
            .messages(messages)
            .max_completion_tokens(request.max_output_tokens);
        if let Some(t) = family::temperature(d, request.temperature) {
            args.temperature(t);
        }
        if let Some(effort) = family::reasoning_effort(d) {
            args.reasoning_effort(reasoning_effort(effort));
        }
        match d.structured_output.as_str() {
            "json_schema" if request.structured => {
                args.response_format(ResponseFormat::JsonSchema {
                    json_schema: ResponseFormatJsonSchema {
                        description: Some("A backlink article".into()),
                        name: "article".into(),
                        schema: crate::pipeline::structured::schema(),
                        strict: Some(true),
                    },
                });
            }
            "json_object" if request.structured => {
                args.response_format(ResponseFormat::JsonObject);
            }
            _ => {}
        }
        let body = args.build().map_err(|e| invalid(e.to_string()))?;
        // A client per call, so the retry hint belongs to this call alone; the reqwest client
        // (and its connection pool) is shared. `Client::build`, not `with_config`: the latter
        // builds a fresh reqwest client first, loading every system root certificate, which
        // profiling showed was most of a worker's CPU per job.
        let seen = Arc::new(Mutex::new(Seen::default()));
        let client =
            Client::build(self.http.clone(), self.config.clone()).with_http_service(Plain {
                http: self.http.clone(),
                seen: seen.clone(),
            });
        let response = client.chat().create(body).await.map_err(|e| {
            let (status, hint) = seen
                .lock()
                .map(|s| (s.status, s.retry_after))
                .unwrap_or_default();
            let mut error = classify(e, status);
            error.retry_after = hint;
            error
        })?;
        let usage = response.usage.clone().unwrap_or_default();
        let billed = Billed {
            tokens_in: i64::from(usage.prompt_tokens),
            tokens_cached: usage
                .prompt_tokens_details
                .as_ref()
                .and_then(|d| d.cached_tokens)
                .map_or(0, i64::from),
            tokens_cache_write: 0,
            tokens_out: i64::from(usage.completion_tokens),
            tokens_reasoning: usage
                .completion_tokens_details
                .as_ref()
                .and_then(|d| d.reasoning_tokens)
                .map_or(0, i64::from),
        };
        let unusable = |class, message: &str| {
            ProviderError::new(class, Some(200), message.to_owned()).with_billed(billed)
        };
        let Some(choice) = response.choices.into_iter().next() else {
            return Err(unusable(
                ErrorClass::EmptyResponse,
                "the answer has no choices",
            ));
        };
        if choice
            .message
            .refusal
            .as_deref()
            .is_some_and(|r| !r.trim().is_empty())
        {
            return Err(unusable(
                ErrorClass::ContentPolicy,
                "the model refused (message.refusal)",
            ));
        }
        match choice.finish_reason {
            Some(FinishReason::Length) => {
                return Err(unusable(
                    ErrorClass::Truncated,
                    "stopped at the output-token limit (finish_reason length)",
                ));
            }
            Some(FinishReason::ContentFilter) => {
                return Err(unusable(
                    ErrorClass::ContentPolicy,
                    "the content filter withheld the answer (finish_reason content_filter)",
                ));
            }
            Some(FinishReason::ToolCalls | FinishReason::FunctionCall) => {
                return Err(unusable(
                    ErrorClass::WrongShape,
                    "a tool call instead of the article (finish_reason tool_calls)",
                ));
            }
            Some(FinishReason::Stop) | None => {}
        }
        let text = choice
            .message
            .content
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| unusable(ErrorClass::EmptyResponse, "the answer holds no text"))?;
        Ok(Generation {
            text,
            usage: billed,
            model: response.model,
        })
    }
}

fn reasoning_effort(effort: &str) -> ReasoningEffort {
    match effort {
        "none" => ReasoningEffort::None,
        "minimal" => ReasoningEffort::Minimal,
        "medium" => ReasoningEffort::Medium,
        "high" => ReasoningEffort::High,
        _ => ReasoningEffort::Low,
    }
}

fn classify(error: OpenAIError, status: Option<u16>) -> ProviderError {
    // A body async-openai could not deserialize is kept out of the message: on a 200 it is
    // the article, and the message is stored and logged. serde's own error names the place.
    if let OpenAIError::JSONDeserialize(e, body) = &error {
        return match status {
            Some(status) if status >= 400 => ProviderError::new(
                ErrorClass::from_status(status, &error_text(body)),
                Some(status),
                format!("HTTP {status}: {}", error_text(body)),
            ),
            _ => ProviderError::new(
                ErrorClass::Malformed,
                status.or(Some(200)),
                format!("the answer is not a chat completion ({e})"),
            ),
        };
    }
    let message = error.to_string();
    match error {
        OpenAIError::ApiError(api) => {
            let status = api.status_code.as_u16();
            let code = api.api_error.code.as_deref().unwrap_or_default();
            let kind = api.api_error.r#type.as_deref().unwrap_or_default();
            let class = if code == "insufficient_quota"
                || kind == "insufficient_quota"
                || code == "billing_hard_limit_reached"
            {
                // A 429 for an exhausted quota never clears by waiting.
                ErrorClass::QuotaExhausted
            } else if code == "context_length_exceeded" {
                ErrorClass::ContextTooLong
            } else if code == "content_policy_violation" || code == "content_filter" {
                ErrorClass::ContentPolicy
            } else {
                ErrorClass::from_status(status, &api.api_error.message)
            };
            ProviderError::new(class, Some(status), message)
        }
        OpenAIError::Reqwest(e) => super::http::transport(e),
        // A broken stream: the next answer may be whole.
        OpenAIError::StreamError(_) => {
            ProviderError::new(ErrorClass::Malformed, Some(200), message)
        }
        _ => ProviderError::new(ErrorClass::BadRequest, None, message),
    }
}

/// The message of an error body another server shaped its own way: its `error.message` or
/// `message` or `detail`, else a short cut of the text (error bodies hold no article).
fn error_text(body: &str) -> String {
    let json: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let found = json.as_ref().and_then(|j| {
        [
            &j["error"]["message"],
            &j["error"],
            &j["message"],
            &j["detail"],
        ]
        .into_iter()
        .find_map(|v| v.as_str().map(str::to_owned))
    });
    found.unwrap_or_else(|| body.chars().take(200).collect())
}

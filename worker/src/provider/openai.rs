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
        CreateChatCompletionRequestArgs, ResponseFormat, ResponseFormatJsonSchema,
    },
};

use super::{
    Generation, GenerationRequest, TextGenerator,
    error::{Billed, ErrorClass, ProviderError, retry_after},
};
use bacowr_shared::config::DeploymentSettings;

pub struct OpenAiCompatible {
    http: reqwest::Client,
    config: OpenAIConfig,
    name: String,
    model: String,
    structured_output: String,
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
            model: d.model.clone(),
            structured_output: d.structured_output.clone(),
        })
    }
}

impl TextGenerator for OpenAiCompatible {
    fn provider(&self) -> &str {
        &self.name
    }

    fn model(&self) -> &str {
        &self.model
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
        let mut args = CreateChatCompletionRequestArgs::default();
        args.model(self.model.clone())
            .messages(messages)
            .max_completion_tokens(request.max_output_tokens)
            .temperature(request.temperature);
        match self.structured_output.as_str() {
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
            tokens_out: i64::from(usage.completion_tokens),
        };
        let text = response
            .choices
            .into_iter()
            .next()
            .and_then(|c| c.message.content)
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| {
                ProviderError::new(
                    ErrorClass::Malformed,
                    Some(200),
                    "the provider answered without any text",
                )
                .with_billed(billed)
            })?;
        Ok(Generation {
            text,
            tokens_in: billed.tokens_in,
            tokens_cached: billed.tokens_cached,
            tokens_out: billed.tokens_out,
            model: response.model,
        })
    }
}

fn classify(error: OpenAIError, status: Option<u16>) -> ProviderError {
    let message = error.to_string();
    // An error body async-openai could not parse still came with an HTTP status.
    if let (OpenAIError::JSONDeserialize(..), Some(status)) = (&error, status)
        && status >= 400
    {
        return ProviderError::new(
            ErrorClass::from_status(status, &message),
            Some(status),
            message,
        );
    }
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
        // Truncated or malformed JSON: the next answer may be whole.
        OpenAIError::JSONDeserialize(..) | OpenAIError::StreamError(_) => {
            ProviderError::new(ErrorClass::Malformed, Some(200), message)
        }
        _ => ProviderError::new(ErrorClass::BadRequest, None, message),
    }
}

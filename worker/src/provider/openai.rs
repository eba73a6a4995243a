//! OpenAI and any OpenAI-compatible server (OpenRouter, vLLM, Ollama, llm-sim), through
//! async-openai with its own retry layer removed: retries live in one place, ours.

use std::time::Duration;

use async_openai::{
    Client,
    config::OpenAIConfig,
    error::OpenAIError,
    middleware::ReqwestService,
    types::chat::{
        ChatCompletionRequestSystemMessageArgs, ChatCompletionRequestUserMessageArgs,
        CreateChatCompletionRequestArgs, ResponseFormat, ResponseFormatJsonSchema,
    },
};

use super::{FailureKind, Generation, GenerationRequest, ProviderError, TextGenerator};
use bacowr_shared::config::ProviderSettings;

pub struct OpenAiCompatible {
    client: Client<OpenAIConfig>,
    name: String,
    model: String,
    structured_output: String,
}

impl OpenAiCompatible {
    pub fn new(settings: &ProviderSettings) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(settings.timeout_secs))
            .connect_timeout(Duration::from_secs(10))
            .build()?;
        let config = OpenAIConfig::new()
            .with_api_base(settings.base_url.trim_end_matches('/'))
            .with_api_key(settings.api_key.clone());
        // The plain service, without async-openai's default retry layer.
        let client = Client::with_config(config)
            .with_http_client(http.clone())
            .with_http_service(ReqwestService::new(http));
        Ok(Self {
            client,
            name: settings.name.clone(),
            model: settings.model.clone(),
            structured_output: settings.structured_output.clone(),
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
        let fatal = |message: String| ProviderError {
            kind: FailureKind::Fatal,
            http_status: None,
            message,
            retry_after: None,
        };
        let messages = vec![
            ChatCompletionRequestSystemMessageArgs::default()
                .content(request.system.clone())
                .build()
                .map_err(|e| fatal(e.to_string()))?
                .into(),
            ChatCompletionRequestUserMessageArgs::default()
                .content(request.user.clone())
                .build()
                .map_err(|e| fatal(e.to_string()))?
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
        let body = args.build().map_err(|e| fatal(e.to_string()))?;
        let response = self.client.chat().create(body).await.map_err(classify)?;
        let text = response
            .choices
            .into_iter()
            .next()
            .and_then(|c| c.message.content)
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| ProviderError {
                kind: FailureKind::Retryable,
                http_status: Some(200),
                message: "the provider answered without any text".into(),
                retry_after: None,
            })?;
        let usage = response.usage.unwrap_or_default();
        Ok(Generation {
            text,
            tokens_in: i64::from(usage.prompt_tokens),
            tokens_cached: usage
                .prompt_tokens_details
                .and_then(|d| d.cached_tokens)
                .map_or(0, i64::from),
            tokens_out: i64::from(usage.completion_tokens),
            model: response.model,
        })
    }
}

fn classify(error: OpenAIError) -> ProviderError {
    let message = error.to_string();
    match error {
        OpenAIError::ApiError(api) => {
            let status = api.status_code.as_u16();
            let code = api.api_error.code.as_deref().unwrap_or_default();
            // A 429 for an exhausted quota never clears by waiting.
            let quota = code == "insufficient_quota" || code == "billing_hard_limit_reached";
            let kind = match status {
                429 if quota => FailureKind::Fatal,
                408 | 409 | 429 | 500..=599 => FailureKind::Retryable,
                _ => FailureKind::Fatal,
            };
            ProviderError {
                kind,
                http_status: Some(status),
                message,
                retry_after: None,
            }
        }
        OpenAIError::Reqwest(e) => ProviderError {
            kind: FailureKind::Retryable,
            http_status: e.status().map(|s| s.as_u16()),
            message,
            retry_after: None,
        },
        // Truncated or malformed JSON: the next answer may be whole.
        OpenAIError::JSONDeserialize(..) | OpenAIError::StreamError(_) => ProviderError {
            kind: FailureKind::Retryable,
            http_status: Some(200),
            message,
            retry_after: None,
        },
        _ => ProviderError {
            kind: FailureKind::Fatal,
            http_status: None,
            message,
            retry_after: None,
        },
    }
}

//! OpenAI chat completions: `POST /v1/chat/completions`.

use hyper::StatusCode;
use serde_json::{Value, json};

use super::{Answer, Parsed, Refusal, text_of};
use crate::chaos::Fault;

pub fn parse(body: &[u8]) -> Result<Parsed, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("invalid body: {e}"))?;
    let model = v["model"].as_str().ok_or("model is required")?.to_owned();
    let messages = v["messages"].as_array().ok_or("messages is required")?;
    let of_role = |role: &str| {
        messages
            .iter()
            .filter(|m| m["role"] == role)
            .map(|m| text_of(m.get("content")))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let kind = v["response_format"]["type"].as_str().unwrap_or("text");
    Ok(Parsed {
        model,
        system: of_role("system"),
        user: of_role("user"),
        wants_json: kind == "json_schema" || kind == "json_object",
        tool: None,
    })
}

pub fn ok(p: &Parsed, a: &Answer, created: u64) -> Value {
    json!({
        "id": format!("chatcmpl-sim{:016x}", crate::article::fnv(&p.user)),
        "object": "chat.completion",
        "created": created,
        "model": p.model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": a.content},
            "finish_reason": "stop",
            "logprobs": null
        }],
        "usage": {
            "prompt_tokens": a.prompt_tokens,
            "completion_tokens": a.completion_tokens,
            "total_tokens": a.prompt_tokens + a.completion_tokens,
            "prompt_tokens_details": {"cached_tokens": a.cached_tokens}
        }
    })
}

pub fn error(kind: &str, message: &str, code: &str) -> Value {
    json!({"error": {"message": message, "type": kind, "param": null, "code": code}})
}

pub fn refuse(r: &Refusal) -> (StatusCode, Value, Vec<(&'static str, String)>) {
    match r {
        Refusal::Unauthorized => (
            StatusCode::UNAUTHORIZED,
            error(
                "invalid_request_error",
                "Incorrect API key provided",
                "invalid_api_key",
            ),
            vec![],
        ),
        Refusal::BadRequest(m) => (
            StatusCode::BAD_REQUEST,
            error("invalid_request_error", m, "invalid_request"),
            vec![],
        ),
        Refusal::Fault(Fault::RateLimited { retry_after_secs }) => (
            StatusCode::TOO_MANY_REQUESTS,
            error(
                "requests",
                "Rate limit reached for requests",
                "rate_limit_exceeded",
            ),
            retry_after_secs
                .map(|s| vec![("retry-after", s.to_string())])
                .unwrap_or_default(),
        ),
        Refusal::Fault(Fault::QuotaExhausted) => (
            StatusCode::TOO_MANY_REQUESTS,
            error(
                "insufficient_quota",
                "You exceeded your current quota",
                "insufficient_quota",
            ),
            vec![],
        ),
        Refusal::Fault(Fault::Status(s)) => (
            StatusCode::from_u16(*s).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            error(
                "server_error",
                "The server had an error while processing your request",
                "server_error",
            ),
            vec![],
        ),
        Refusal::Fault(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            error("server_error", "unexpected", "server_error"),
            vec![],
        ),
    }
}

//! Anthropic Messages: `POST /v1/messages`, `x-api-key`, `anthropic-version`.

use hyper::StatusCode;
use serde_json::{Value, json};

use super::{Answer, Parsed, Refusal, text_of};
use crate::chaos::Fault;

pub fn parse(body: &[u8]) -> Result<Parsed, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("invalid body: {e}"))?;
    let model = v["model"]
        .as_str()
        .ok_or("model: field required")?
        .to_owned();
    if v["max_tokens"].as_u64().is_none() {
        return Err("max_tokens: field required".into());
    }
    let messages = v["messages"].as_array().ok_or("messages: field required")?;
    let user = messages
        .iter()
        .filter(|m| m["role"] == "user")
        .map(|m| text_of(m.get("content")))
        .collect::<Vec<_>>()
        .join("\n");
    // A forced tool call carries the article as JSON; else the prompt asks for JSON.
    let tool = (v["tool_choice"]["type"] == "tool")
        .then(|| v["tool_choice"]["name"].as_str().map(str::to_owned))
        .flatten();
    let wants_json = tool.is_some() || user.contains("body_markdown");
    Ok(Parsed {
        model,
        system: text_of(v.get("system")),
        user,
        wants_json,
        tool,
    })
}

pub fn ok(p: &Parsed, a: &Answer) -> Value {
    json!({
        "id": format!("msg_sim{:016x}", crate::article::fnv(&p.user)),
        "type": "message",
        "role": "assistant",
        "model": p.model,
        "content": match &p.tool {
            Some(name) => json!([{
                "type": "tool_use",
                "id": format!("toolu_sim{:016x}", crate::article::fnv(&p.user)),
                "name": name,
                "input": serde_json::from_str::<Value>(&a.content).unwrap_or(json!({})),
            }]),
            None => json!([{"type": "text", "text": a.content}]),
        },
        "stop_reason": if p.tool.is_some() { "tool_use" } else { "end_turn" },
        "stop_sequence": null,
        "usage": {
            "input_tokens": a.prompt_tokens - a.cached_tokens,
            "output_tokens": a.completion_tokens,
            "cache_read_input_tokens": a.cached_tokens,
            "cache_creation_input_tokens": 0
        }
    })
}

fn error(kind: &str, message: &str) -> Value {
    json!({"type": "error", "error": {"type": kind, "message": message}})
}

pub fn refuse(r: &Refusal) -> (StatusCode, Value, Vec<(&'static str, String)>) {
    match r {
        Refusal::Unauthorized => (
            StatusCode::UNAUTHORIZED,
            error("authentication_error", "invalid x-api-key"),
            vec![],
        ),
        Refusal::BadRequest(m) => (
            StatusCode::BAD_REQUEST,
            error("invalid_request_error", m),
            vec![],
        ),
        Refusal::Fault(Fault::RateLimited { retry_after_secs }) => (
            StatusCode::TOO_MANY_REQUESTS,
            error(
                "rate_limit_error",
                "Number of request tokens has exceeded your per-minute rate limit",
            ),
            retry_after_secs
                .map(|s| vec![("retry-after", s.to_string())])
                .unwrap_or_default(),
        ),
        Refusal::Fault(Fault::QuotaExhausted) => (
            StatusCode::BAD_REQUEST,
            error(
                "invalid_request_error",
                "Your credit balance is too low to access the Anthropic API.",
            ),
            vec![],
        ),
        Refusal::Fault(Fault::Status(529)) => (
            StatusCode::from_u16(529).expect("valid status"),
            error("overloaded_error", "Overloaded"),
            vec![],
        ),
        Refusal::Fault(Fault::Status(s)) => (
            StatusCode::from_u16(*s).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            // The error types the API reference pairs with each status.
            match *s {
                400 => error(
                    "invalid_request_error",
                    "There was an issue with your request.",
                ),
                401 => error("authentication_error", "invalid x-api-key"),
                403 => error("permission_error", "Your API key does not have permission."),
                404 => error("not_found_error", "model: not found"),
                413 => error(
                    "request_too_large",
                    "Request exceeds the maximum allowed size.",
                ),
                _ => error("api_error", "Internal server error"),
            },
            vec![],
        ),
        Refusal::Fault(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            error("api_error", "unexpected"),
            vec![],
        ),
    }
}

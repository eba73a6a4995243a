//! Gemini: `POST /v1beta/models/{model}:generateContent`, key in `x-goog-api-key` or `?key=`.

use hyper::StatusCode;
use serde_json::{Value, json};

use super::{Answer, Parsed, Refusal};
use crate::chaos::Fault;

fn parts_text(v: &Value) -> String {
    v["parts"]
        .as_array()
        .map(|parts| {
            parts
                .iter()
                .filter_map(|p| p["text"].as_str())
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

pub fn parse(path: &str, body: &[u8]) -> Result<Parsed, String> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| format!("Invalid JSON payload received. {e}"))?;
    let model = path
        .rsplit("/models/")
        .next()
        .and_then(|m| m.strip_suffix(":generateContent"))
        .ok_or("no model in path")?
        .to_owned();
    let contents = v["contents"]
        .as_array()
        .ok_or("contents is not specified")?;
    let user = contents
        .iter()
        .filter(|c| c["role"].as_str().unwrap_or("user") == "user")
        .map(parts_text)
        .collect::<Vec<_>>()
        .join("\n");
    Ok(Parsed {
        model,
        system: parts_text(&v["systemInstruction"]),
        user,
        wants_json: v["generationConfig"]["responseMimeType"] == "application/json",
        tool: None,
    })
}

pub fn ok(p: &Parsed, a: &Answer) -> Value {
    json!({
        "candidates": [{
            "content": {"role": "model", "parts": [{"text": a.content}]},
            "finishReason": "STOP",
            "index": 0
        }],
        "usageMetadata": {
            "promptTokenCount": a.prompt_tokens,
            "candidatesTokenCount": a.completion_tokens,
            "totalTokenCount": a.prompt_tokens + a.completion_tokens,
            "cachedContentTokenCount": a.cached_tokens
        },
        "modelVersion": p.model
    })
}

fn error(code: u16, status: &str, message: &str, details: Value) -> Value {
    json!({"error": {"code": code, "message": message, "status": status, "details": details}})
}

pub fn refuse(r: &Refusal) -> (StatusCode, Value, Vec<(&'static str, String)>) {
    match r {
        Refusal::Unauthorized => (
            StatusCode::BAD_REQUEST,
            error(
                400,
                "INVALID_ARGUMENT",
                "API key not valid. Please pass a valid API key.",
                json!([
                    {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}
                ]),
            ),
            vec![],
        ),
        Refusal::BadRequest(m) => (
            StatusCode::BAD_REQUEST,
            error(400, "INVALID_ARGUMENT", m, json!([])),
            vec![],
        ),
        Refusal::Fault(Fault::RateLimited { retry_after_secs }) => (
            StatusCode::TOO_MANY_REQUESTS,
            error(
                429,
                "RESOURCE_EXHAUSTED",
                "You exceeded your current quota, please check your plan.",
                json!([
                    {"@type": "type.googleapis.com/google.rpc.QuotaFailure",
                     "violations": [{"quotaId": "GenerateRequestsPerMinutePerProjectPerModel"}]},
                    {"@type": "type.googleapis.com/google.rpc.RetryInfo",
                     "retryDelay": format!("{}s", retry_after_secs.unwrap_or(1))}
                ]),
            ),
            vec![],
        ),
        Refusal::Fault(Fault::QuotaExhausted) => (
            StatusCode::TOO_MANY_REQUESTS,
            error(
                429,
                "RESOURCE_EXHAUSTED",
                "You exceeded your current quota, please check your plan.",
                json!([
                    {"@type": "type.googleapis.com/google.rpc.QuotaFailure",
                     "violations": [{"quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier"}]}
                ]),
            ),
            vec![],
        ),
        Refusal::Fault(Fault::Status(s)) => {
            let status = StatusCode::from_u16(*s).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            // google.rpc status names, as the API reference pairs them with HTTP codes.
            let name = match *s {
                400 => "INVALID_ARGUMENT",
                403 => "PERMISSION_DENIED",
                404 => "NOT_FOUND",
                429 => "RESOURCE_EXHAUSTED",
                503 => "UNAVAILABLE",
                504 => "DEADLINE_EXCEEDED",
                _ => "INTERNAL",
            };
            (
                status,
                error(
                    *s,
                    name,
                    "The model is overloaded. Please try again later.",
                    json!([]),
                ),
                vec![],
            )
        }
        Refusal::Fault(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            error(500, "INTERNAL", "unexpected", json!([])),
            vec![],
        ),
    }
}

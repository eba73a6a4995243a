//! The OpenAI chat-completions wire format (the subset clients send and read).

use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    article::{self, Brief},
    faults::{self, Violation},
};

/// How the simulator misbehaves, if at all.
#[derive(Debug, Clone, Copy, Default)]
pub struct Behaviour {
    pub violation: Option<Violation>,
    /// Comply once the prompt carries QC feedback.
    pub once: bool,
}

#[derive(Debug, Deserialize)]
pub struct ChatRequest {
    pub model: String,
    pub messages: Vec<Message>,
    #[serde(default)]
    pub max_tokens: Option<u32>,
    #[serde(default)]
    pub max_completion_tokens: Option<u32>,
    /// `{"type": "json_schema" | "json_object" | "text", ...}`
    #[serde(default)]
    pub response_format: Option<Value>,
}

impl ChatRequest {
    fn wants_json(&self) -> bool {
        self.response_format
            .as_ref()
            .and_then(|f| f.get("type"))
            .and_then(Value::as_str)
            .is_some_and(|t| t == "json_schema" || t == "json_object")
    }
}

#[derive(Debug, Deserialize)]
pub struct Message {
    pub role: String,
    #[serde(default)]
    pub content: Option<Value>,
}

impl Message {
    /// `content` is either a string or an array of `{type: "text", text}` parts.
    fn text(&self) -> String {
        match &self.content {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Array(parts)) => parts
                .iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join("\n"),
            _ => String::new(),
        }
    }
}

/// Roughly what a BPE tokenizer gives for European languages.
fn tokens(text: &str) -> u64 {
    (text.split_whitespace().count() as u64 * 4).div_ceil(3)
}

pub fn complete(request: &ChatRequest, created: u64, words: usize, behaviour: Behaviour) -> Value {
    let prompt: String = request
        .messages
        .iter()
        .map(|m| format!("{}: {}", m.role, m.text()))
        .collect::<Vec<_>>()
        .join("\n");
    let user = request
        .messages
        .iter()
        .filter(|m| m.role == "user")
        .map(Message::text)
        .collect::<Vec<_>>()
        .join("\n");
    let brief = Brief::from_prompt(&user);
    let draft = article::compose(&brief, &prompt, words);
    let violation = behaviour
        .violation
        .filter(|_| !(behaviour.once && brief.has_feedback));
    let draft = match violation {
        Some(v) => faults::apply(
            draft,
            v,
            brief.anchor_text.as_deref().unwrap_or_default(),
            brief.target_url.as_deref().unwrap_or_default(),
        ),
        None => Some(draft),
    };
    let content = match draft {
        None => "{\"title\": \"Half an answ".to_owned(),
        Some(d) if request.wants_json() => d.json(),
        Some(d) => d.markdown(),
    };
    let prompt_tokens = tokens(&prompt);
    let completion_tokens = tokens(&content);
    // Like real providers' prompt caches: the shared system prefix is served from cache.
    let cached_tokens = request
        .messages
        .iter()
        .filter(|m| m.role == "system")
        .map(|m| tokens(&m.text()))
        .sum::<u64>()
        .min(prompt_tokens);
    json!({
        "id": format!("chatcmpl-sim{:016x}", article::fnv(&prompt)),
        "object": "chat.completion",
        "created": created,
        "model": request.model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": content},
            "finish_reason": "stop",
            "logprobs": null
        }],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": cached_tokens}
        }
    })
}

/// OpenAI's error envelope.
pub fn error(status_type: &str, message: &str, code: &str) -> Value {
    json!({"error": {"message": message, "type": status_type, "param": null, "code": code}})
}

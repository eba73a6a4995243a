//! The three wire protocols the simulator speaks on their real paths, around one generator:
//! OpenAI chat completions, Anthropic Messages and Gemini generateContent.

pub mod anthropic;
pub mod content;
pub mod gemini;
pub mod openai;

use hyper::{HeaderMap, StatusCode};
use serde_json::Value;

use crate::{
    article::{self, Brief},
    chaos::Fault,
    faults::{self, Violation},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    OpenAi,
    Anthropic,
    Gemini,
}

impl Protocol {
    pub fn route(path: &str) -> Option<Self> {
        if path.ends_with("/chat/completions") {
            Some(Self::OpenAi)
        } else if path.ends_with("/v1/messages") {
            Some(Self::Anthropic)
        } else if path.contains("/models/") && path.ends_with(":generateContent") {
            Some(Self::Gemini)
        } else {
            None
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::OpenAi => "openai",
            Self::Anthropic => "anthropic",
            Self::Gemini => "gemini",
        }
    }
}

/// A request, protocol aside.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub model: String,
    pub system: String,
    pub user: String,
    pub wants_json: bool,
    /// A tool the request forces the model to call (Anthropic `tool_choice: {type: tool}`):
    /// the answer is that tool's call with the article as its input.
    pub tool: Option<String>,
}

pub struct Answer {
    pub content: String,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub cached_tokens: u64,
}

/// What can go wrong besides the chaos faults.
pub enum Refusal {
    Unauthorized,
    BadRequest(String),
    Fault(Fault),
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Behaviour {
    pub violation: Option<Violation>,
    /// Comply once the prompt carries QC feedback.
    pub once: bool,
}

/// Roughly what a BPE tokenizer gives for European languages.
pub fn tokens(text: &str) -> u64 {
    (text.split_whitespace().count() as u64 * 4).div_ceil(3)
}

pub fn answer(p: &Parsed, words: usize, behaviour: Behaviour) -> Answer {
    let prompt = format!("system: {}\nuser: {}", p.system, p.user);
    let brief = Brief::from_prompt(&p.user);
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
        Some(d) if p.wants_json => d.json(),
        Some(d) => d.markdown(),
    };
    let prompt_tokens = tokens(&prompt);
    Answer {
        completion_tokens: tokens(&content),
        // Like real prompt caches: the shared system prefix is served from cache.
        cached_tokens: tokens(&p.system).min(prompt_tokens),
        prompt_tokens,
        content,
    }
}

impl Protocol {
    pub fn authorised(self, headers: &HeaderMap, query: &str, key: &str) -> bool {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        match self {
            Self::OpenAi => header("authorization") == Some(&format!("Bearer {key}")),
            Self::Anthropic => header("x-api-key") == Some(key),
            Self::Gemini => {
                header("x-goog-api-key") == Some(key)
                    || query.split('&').any(|kv| kv == format!("key={key}"))
            }
        }
    }

    pub fn parse(self, path: &str, body: &[u8]) -> Result<Parsed, String> {
        match self {
            Self::OpenAi => openai::parse(body),
            Self::Anthropic => anthropic::parse(body),
            Self::Gemini => gemini::parse(path, body),
        }
    }

    pub fn ok(self, p: &Parsed, a: &Answer, created: u64) -> Value {
        match self {
            Self::OpenAi => openai::ok(p, a, created),
            Self::Anthropic => anthropic::ok(p, a),
            Self::Gemini => gemini::ok(p, a),
        }
    }

    /// Status, body and extra headers of a refusal in this protocol's own error format.
    pub fn refuse(self, r: &Refusal) -> (StatusCode, Value, Vec<(&'static str, String)>) {
        match self {
            Self::OpenAi => openai::refuse(r),
            Self::Anthropic => anthropic::refuse(r),
            Self::Gemini => gemini::refuse(r),
        }
    }
}

/// Text of a message `content`: a string, or an array of `{text}` parts.
pub fn text_of(content: Option<&Value>) -> String {
    match content {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

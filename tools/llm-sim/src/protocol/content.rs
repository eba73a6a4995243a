//! Unusable answers in valid envelopes, as each protocol shapes them: the text a model might
//! write instead of the article, and each API's own stop reasons for truncation, refusal and
//! safety blocks. Applied to the answer the simulator would otherwise give.

use serde_json::{Value, json};

use super::Protocol;
use crate::chaos::ContentFault;

const PROSE: &str = "Sure! Here is an article about the topic you asked for. Gardening is a \
                     rewarding hobby that brings people together.\n\nI hope this helps!";
const BROKEN_JSON: &str = "{\"title\": \"A guide\", \"meta_description\": \"All you need\", \
                           \"body_markdown\": \"The first paragraph starts here and";
const WRONG_SHAPE: &str = "{\"headline\": \"A guide\", \"text\": \"An article in another shape.\"}";
const REFUSAL: &str = "I'm sorry, but I can't help with that request.";

/// The first half of `text`, cut at a character boundary.
fn half(text: &str) -> String {
    let cut = text
        .char_indices()
        .nth(text.chars().count() / 2)
        .map_or(0, |(i, _)| i);
    text[..cut].to_owned()
}

pub fn apply(protocol: Protocol, mut body: Value, fault: ContentFault) -> Value {
    match protocol {
        Protocol::OpenAi => {
            let choice = &mut body["choices"][0];
            let text = choice["message"]["content"]
                .as_str()
                .unwrap_or("")
                .to_owned();
            let (content, finish, refusal) = match fault {
                ContentFault::Prose => (json!(PROSE), "stop", Value::Null),
                ContentFault::BrokenJson => (json!(BROKEN_JSON), "stop", Value::Null),
                ContentFault::WrongShape => (json!(WRONG_SHAPE), "stop", Value::Null),
                ContentFault::Truncated => (json!(half(&text)), "length", Value::Null),
                ContentFault::Refusal => (Value::Null, "stop", json!(REFUSAL)),
                ContentFault::Empty => (json!(""), "stop", Value::Null),
                ContentFault::Safety => (Value::Null, "content_filter", Value::Null),
            };
            choice["message"]["content"] = content;
            choice["message"]["refusal"] = refusal;
            choice["finish_reason"] = json!(finish);
        }
        Protocol::Anthropic => {
            let text = article_text(&body["content"]);
            let (content, stop) = match fault {
                ContentFault::Prose => (json!([{"type": "text", "text": PROSE}]), "end_turn"),
                ContentFault::BrokenJson => {
                    (json!([{"type": "text", "text": BROKEN_JSON}]), "end_turn")
                }
                ContentFault::WrongShape => (
                    json!([{"type": "tool_use", "id": "toolu_sim_wrong", "name": "article",
                            "input": {"headline": "A guide", "text": "Another shape."}}]),
                    "tool_use",
                ),
                ContentFault::Truncated => {
                    (json!([{"type": "text", "text": half(&text)}]), "max_tokens")
                }
                ContentFault::Refusal | ContentFault::Safety => {
                    (json!([{"type": "text", "text": REFUSAL}]), "refusal")
                }
                ContentFault::Empty => (json!([]), "end_turn"),
            };
            body["content"] = content;
            body["stop_reason"] = json!(stop);
        }
        Protocol::Gemini => {
            let text = body["candidates"][0]["content"]["parts"][0]["text"]
                .as_str()
                .unwrap_or("")
                .to_owned();
            let set = |body: &mut Value, parts: Value, finish: &str| {
                body["candidates"][0]["content"]["parts"] = parts;
                body["candidates"][0]["finishReason"] = json!(finish);
            };
            match fault {
                ContentFault::Prose => set(&mut body, json!([{"text": PROSE}]), "STOP"),
                ContentFault::BrokenJson => set(&mut body, json!([{"text": BROKEN_JSON}]), "STOP"),
                ContentFault::WrongShape => set(&mut body, json!([{"text": WRONG_SHAPE}]), "STOP"),
                ContentFault::Truncated => {
                    set(&mut body, json!([{"text": half(&text)}]), "MAX_TOKENS")
                }
                ContentFault::Empty => set(&mut body, json!([]), "STOP"),
                ContentFault::Safety => {
                    body["candidates"][0] = json!({
                        "finishReason": "SAFETY",
                        "index": 0,
                        "safetyRatings": [
                            {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH", "blocked": true}
                        ]
                    });
                }
                ContentFault::Refusal => {
                    body.as_object_mut().map(|o| o.remove("candidates"));
                    body["promptFeedback"] = json!({
                        "blockReason": "SAFETY",
                        "safetyRatings": [
                            {"category": "HARM_CATEGORY_HARASSMENT", "probability": "HIGH"}
                        ]
                    });
                }
            }
        }
    }
    body
}

/// The article an Anthropic answer carries: a text block's text, or the tool input as JSON.
fn article_text(content: &Value) -> String {
    let blocks = content.as_array().cloned().unwrap_or_default();
    blocks
        .iter()
        .find_map(|b| match b["type"].as_str() {
            Some("text") => b["text"].as_str().map(str::to_owned),
            Some("tool_use") => Some(b["input"].to_string()),
            _ => None,
        })
        .unwrap_or_default()
}

/// A recorded answer (`recorded/<protocol>/*.json`) with its placeholders filled: a string
/// `"{{article}}"` becomes the article's JSON text, `"{{article_object}}"` the article object,
/// `"{{article_truncated}}"` the first half of its text, `"{{model}}"` the requested model.
pub fn fill(template: &Value, article: &str, model: &str) -> Value {
    match template {
        Value::String(s) => match s.as_str() {
            "{{article}}" => json!(article),
            "{{article_object}}" => serde_json::from_str(article).unwrap_or(json!({})),
            "{{article_truncated}}" => json!(half(article)),
            "{{model}}" => json!(model),
            _ => template.clone(),
        },
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| fill(v, article, model)).collect())
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), fill(v, article, model)))
                .collect(),
        ),
        other => other.clone(),
    }
}

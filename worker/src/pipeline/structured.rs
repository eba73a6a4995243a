//! The structured answer: `{title, meta_description, body_markdown, trust_links}`. Asked for
//! with the provider's JSON-schema support, validated, and repaired only where that is safe
//! (code fences, prose around the object). A plain Markdown answer is still accepted.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::provider::ErrorClass;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StructuredArticle {
    pub title: String,
    pub meta_description: Option<String>,
    pub body_markdown: String,
    pub trust_links: Vec<String>,
}

/// The JSON Schema sent as the response format.
pub fn schema() -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["title", "meta_description", "body_markdown", "trust_links"],
        "properties": {
            "title": {"type": "string"},
            "meta_description": {"type": "string"},
            "body_markdown": {"type": "string"},
            "trust_links": {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["url"],
                    "properties": {"url": {"type": "string"}}
                }
            }
        }
    })
}

#[derive(Deserialize)]
struct Wire {
    title: String,
    #[serde(default)]
    meta_description: Option<String>,
    body_markdown: String,
    #[serde(default)]
    trust_links: Vec<WireLink>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum WireLink {
    Url(String),
    Object { url: String },
}

fn strip_fence(text: &str) -> &str {
    let t = text.trim();
    let Some(rest) = t.strip_prefix("```") else {
        return t;
    };
    let rest = rest.split_once('\n').map_or("", |(_, r)| r);
    rest.trim_end().strip_suffix("```").unwrap_or(rest).trim()
}

/// The outermost `{…}` of a text that wraps its JSON in prose.
fn outer_object(text: &str) -> Option<&str> {
    let start = text.find('{')?;
    let end = text.rfind('}')?;
    (end > start).then(|| &text[start..=end])
}

pub fn parse(text: &str) -> Option<StructuredArticle> {
    check(text).ok()
}

/// The article in an answer's text, or why there is none: `Unparseable` for prose and broken
/// JSON, `WrongShape` for JSON that is not the article. The description names no content.
pub fn check(text: &str) -> Result<StructuredArticle, (ErrorClass, String)> {
    let text = strip_fence(text);
    let trimmed = text.trim_start();
    if let Some(object) = outer_object(text) {
        match serde_json::from_str::<Value>(object) {
            Ok(value) => {
                return serde_json::from_value::<Wire>(value)
                    .ok()
                    .and_then(from_wire)
                    .ok_or_else(|| {
                        (
                            ErrorClass::WrongShape,
                            "JSON without a non-empty title and body_markdown".to_owned(),
                        )
                    });
            }
            Err(e) if trimmed.starts_with('{') => {
                return Err((ErrorClass::Unparseable, format!("broken JSON ({e})")));
            }
            Err(_) => {}
        }
    }
    if trimmed.starts_with('[') {
        return Err((
            ErrorClass::WrongShape,
            "a JSON array, not the article object".to_owned(),
        ));
    }
    if trimmed.starts_with('{') {
        return Err((ErrorClass::Unparseable, "broken JSON".to_owned()));
    }
    // Some servers ignore the response format and answer in Markdown: a titled article
    // (a heading first) is accepted; prose is not.
    if trimmed.starts_with('#')
        && let Some(parsed) = super::article::parse(text)
    {
        return Ok(StructuredArticle {
            title: parsed.title,
            meta_description: None,
            body_markdown: parsed.body_markdown,
            trust_links: Vec::new(),
        });
    }
    Err((
        ErrorClass::Unparseable,
        "prose, not the article's JSON".to_owned(),
    ))
}

fn from_wire(w: Wire) -> Option<StructuredArticle> {
    let title = w.title.trim().trim_start_matches('#').trim().to_owned();
    let body = strip_fence(&w.body_markdown).trim().to_owned();
    if title.is_empty() || body.is_empty() {
        return None;
    }
    Some(StructuredArticle {
        title,
        meta_description: w
            .meta_description
            .map(|m| m.trim().to_owned())
            .filter(|m| !m.is_empty()),
        body_markdown: body,
        trust_links: w
            .trust_links
            .into_iter()
            .map(|l| match l {
                WireLink::Url(u) | WireLink::Object { url: u } => u,
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_repairs() {
        let json = r#"{"title":"T","meta_description":"M","body_markdown":"Body.","trust_links":[{"url":"https://a.org/x"}]}"#;
        let a = parse(json).unwrap();
        assert_eq!(a.trust_links, ["https://a.org/x"]);
        assert_eq!(parse(&format!("```json\n{json}\n```")).unwrap(), a);
        assert_eq!(
            parse(&format!("Here is the article:\n{json}\nHope it helps!")).unwrap(),
            a
        );
        assert!(
            parse(r#"{"title": "Half an answ"#).is_none(),
            "truncated JSON is a failed attempt"
        );
        assert!(parse(r#"{"title":"","body_markdown":"x"}"#).is_none());
        let md = parse("# Title\n\nBody text.").unwrap();
        assert_eq!(md.title, "Title");
    }

    #[test]
    fn classifies_what_is_not_an_article() {
        let class = |t: &str| check(t).unwrap_err().0;
        assert_eq!(
            class("Sure! Here is an article about gardening.\n\nIt is long."),
            ErrorClass::Unparseable
        );
        assert_eq!(
            class(r#"{"title": "Gardening", "body_markdown": "Start"#),
            ErrorClass::Unparseable
        );
        assert_eq!(
            class(r#"{"headline": "x", "text": "y"}"#),
            ErrorClass::WrongShape
        );
        assert_eq!(class(r#"[{"title": "x"}]"#), ErrorClass::WrongShape);
        assert_eq!(
            class(r#"{"title": "x", "body_markdown": ""}"#),
            ErrorClass::WrongShape
        );
    }
}

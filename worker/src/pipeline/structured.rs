//! The structured answer: `{title, meta_description, body_markdown, trust_links}`. Asked for
//! with the provider's JSON-schema support, validated, and repaired only where that is safe
//! (code fences, prose around the object). A plain Markdown answer is still accepted.

use serde::Deserialize;
use serde_json::{Value, json};

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
    let text = strip_fence(text);
    if let Some(article) = outer_object(text)
        .and_then(|o| serde_json::from_str::<Wire>(o).ok())
        .and_then(from_wire)
    {
        return Some(article);
    }
    // Some servers ignore the response format and answer in Markdown; accept a titled article.
    if text.trim_start().starts_with('{') {
        return None;
    }
    let parsed = super::article::parse(text)?;
    Some(StructuredArticle {
        title: parsed.title,
        meta_description: None,
        body_markdown: parsed.body_markdown,
        trust_links: Vec::new(),
    })
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
}

//! Turning a provider's Markdown answer into a title, a body and a word count.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedArticle {
    pub title: String,
    pub body_markdown: String,
    pub word_count: i32,
}

/// `None` when the answer holds no article: no body text after the title.
pub fn parse(text: &str) -> Option<ParsedArticle> {
    let text = strip_code_fence(text.trim());
    let mut lines = text.lines();
    let first = lines.by_ref().find(|l| !l.trim().is_empty())?.trim();
    let title = first
        .trim_start_matches('#')
        .trim()
        .trim_matches('*')
        .trim();
    let body = lines.collect::<Vec<_>>().join("\n").trim().to_owned();
    if title.is_empty() || body.is_empty() {
        return None;
    }
    let word_count = i32::try_from(count_words(&body)).unwrap_or(i32::MAX);
    Some(ParsedArticle {
        title: title.chars().take(1000).collect(),
        body_markdown: body,
        word_count,
    })
}

/// Some models wrap their answer in a ```markdown fence.
fn strip_code_fence(text: &str) -> &str {
    let Some(rest) = text.strip_prefix("```") else {
        return text;
    };
    let rest = rest.split_once('\n').map_or("", |(_, r)| r);
    rest.trim_end().strip_suffix("```").unwrap_or(rest).trim()
}

/// Words of the text as a reader sees it: link targets and Markdown markup don't count.
pub fn count_words(markdown: &str) -> usize {
    let mut plain = String::with_capacity(markdown.len());
    let mut rest = markdown;
    while let Some(start) = rest.find("](") {
        plain.push_str(&rest[..start]);
        match rest[start..].find(')') {
            Some(end) => rest = &rest[start + end + 1..],
            None => {
                rest = "";
            }
        }
    }
    plain.push_str(rest);
    plain
        .split_whitespace()
        .filter(|w| w.chars().any(char::is_alphanumeric))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_title_body_and_words() {
        let a =
            parse("# Hello world\n\nOne two [three four](https://x.se/a b) five.\n\nSix.").unwrap();
        assert_eq!(a.title, "Hello world");
        assert_eq!(a.word_count, 6);
        assert!(parse("# Only a title").is_none());
        assert!(parse("   ").is_none());
    }

    #[test]
    fn strips_fences() {
        let a = parse("```markdown\n# T\n\nBody text here.\n```").unwrap();
        assert_eq!(a.title, "T");
        assert_eq!(a.body_markdown, "Body text here.");
    }
}

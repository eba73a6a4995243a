//! `format=html`: one complete HTML document per article (`lang`, title, meta description),
//! the body rendered from its Markdown with pulldown-cmark. Model output is not trusted: raw
//! HTML in it is shown as text and links other than http(s)/mailto lose their link.

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

use super::{markdown, source::ExportRow};

/// Text for an HTML text node or a double-quoted attribute.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

pub fn safe_url(url: &str) -> bool {
    let lower = url.trim_start().to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://") || lower.starts_with("mailto:")
}

/// Markdown to an HTML fragment, with the safety rules above.
pub fn fragment(markdown: &str) -> String {
    let parser = Parser::new_ext(markdown, Options::ENABLE_STRIKETHROUGH);
    let mut dropped_link = false;
    let mut dropped_image = false;
    let events = parser.filter_map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Some(Event::Text(raw)),
        Event::Start(Tag::Link { ref dest_url, .. }) if !safe_url(dest_url) => {
            dropped_link = true;
            None
        }
        Event::End(TagEnd::Link) if dropped_link => {
            dropped_link = false;
            None
        }
        Event::Start(Tag::Image { ref dest_url, .. }) if !safe_url(dest_url) => {
            dropped_image = true;
            None
        }
        Event::End(TagEnd::Image) if dropped_image => {
            dropped_image = false;
            None
        }
        other => Some(other),
    });
    let mut out = String::with_capacity(markdown.len() * 5 / 4);
    pulldown_cmark::html::push_html(&mut out, events);
    out
}

pub fn render(row: &ExportRow) -> String {
    let (job, article) = (&row.job, &row.article);
    let lang = article
        .language
        .as_deref()
        .or(job.language.as_deref())
        .unwrap_or("en");
    let body = fragment(&markdown::document_body(row));
    let mut out = String::with_capacity(body.len() + 1024);
    out.push_str("<!DOCTYPE html>\n<html lang=\"");
    out.push_str(&escape(lang));
    out.push_str("\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str("<title>");
    out.push_str(&escape(&article.title));
    out.push_str("</title>\n");
    if let Some(description) = article.meta_description.as_deref() {
        out.push_str("<meta name=\"description\" content=\"");
        out.push_str(&escape(description));
        out.push_str("\">\n");
    }
    out.push_str("</head>\n<body>\n<article>\n");
    out.push_str(&body);
    out.push_str("</article>\n</body>\n</html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_becomes_html_and_raw_html_is_text() {
        let html = fragment(
            "Some **bold** and [best bikes](https://client.se/cyklar?a=1&b=2).\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1))",
        );
        assert!(html.contains("<strong>bold</strong>"), "{html}");
        assert!(
            html.contains(r#"<a href="https://client.se/cyklar?a=1&amp;b=2">best bikes</a>"#),
            "{html}"
        );
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
    }

    #[test]
    fn attributes_are_escaped() {
        assert_eq!(
            escape(r#"a "b" <c> & 'd'"#),
            "a &quot;b&quot; &lt;c&gt; &amp; &#39;d&#39;"
        );
    }
}

//! The readable essentials of an HTML page.

use scraper::{Html, Selector};
use url::Url;

use super::PageSummary;

const MAX_HEADINGS: usize = 10;
const EXCERPT_WORDS: usize = 300;
const MAX_LINKS: usize = 50;

fn selector(css: &str) -> Selector {
    Selector::parse(css).expect("static selector")
}

fn squash(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn non_empty(text: String) -> Option<String> {
    let t = squash(&text);
    (!t.is_empty()).then_some(t)
}

pub fn summarise(html: &str, url: &Url) -> PageSummary {
    let doc = Html::parse_document(html);
    let text_of = |css: &str| {
        doc.select(&selector(css))
            .next()
            .and_then(|e| non_empty(e.text().collect()))
    };
    let description = doc
        .select(&selector(
            r#"meta[name="description"], meta[property="og:description"]"#,
        ))
        .find_map(|e| e.value().attr("content").map(str::to_owned))
        .and_then(non_empty);
    let headings = doc
        .select(&selector("h2, h3"))
        .filter_map(|e| non_empty(e.text().collect()))
        .take(MAX_HEADINGS)
        .collect();
    let language = doc
        .select(&selector("html"))
        .next()
        .and_then(|e| e.value().attr("lang"))
        .and_then(|l| l.split(['-', '_']).next())
        .map(str::to_ascii_lowercase)
        .filter(|l| !l.is_empty());
    // Main text: paragraphs inside <main>/<article> if there are any, else every paragraph.
    let scoped: Vec<String> = doc
        .select(&selector("main p, article p"))
        .filter_map(|e| non_empty(e.text().collect()))
        .collect();
    let paragraphs = if scoped.is_empty() {
        doc.select(&selector("p"))
            .filter_map(|e| non_empty(e.text().collect()))
            .collect()
    } else {
        scoped
    };
    let excerpt = paragraphs
        .join(" ")
        .split_whitespace()
        .take(EXCERPT_WORDS)
        .collect::<Vec<_>>()
        .join(" ");
    let mut outbound_links: Vec<String> = Vec::new();
    for a in doc.select(&selector("a[href]")) {
        let Some(href) = a.value().attr("href") else {
            continue;
        };
        let Ok(mut link) = url.join(href) else {
            continue;
        };
        if !matches!(link.scheme(), "http" | "https") {
            continue;
        }
        link.set_fragment(None);
        // Only links to other sites: navigation would fill the cap before any source.
        if link.host_str() == url.host_str() {
            continue;
        }
        let link = link.to_string();
        if !outbound_links.contains(&link) {
            outbound_links.push(link);
        }
        if outbound_links.len() >= MAX_LINKS {
            break;
        }
    }
    PageSummary {
        url: url.to_string(),
        title: text_of("title"),
        description,
        h1: text_of("h1"),
        headings,
        excerpt,
        language,
        outbound_links,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extracts_the_essentials() {
        let html = r#"<!doctype html><html lang="sv-SE"><head><title> Cyklar  i Stockholm </title>
            <meta name="description" content="Allt om cyklar."></head><body>
            <nav><p>Meny</p></nav><main><h1>Bästa cyklarna</h1><h2>Stadscyklar</h2><h3>Elcyklar</h3>
            <p>Första stycket om cyklar.</p><p>Andra <a href="/guide#x">stycket</a>.</p></main>
            <a href="https://other.org/research/bikes">studie</a><a href="mailto:x@y.se">mail</a></body></html>"#;
        let url = Url::parse("https://shop.se/cyklar").unwrap();
        let p = summarise(html, &url);
        assert_eq!(p.title.as_deref(), Some("Cyklar i Stockholm"));
        assert_eq!(p.description.as_deref(), Some("Allt om cyklar."));
        assert_eq!(p.h1.as_deref(), Some("Bästa cyklarna"));
        assert_eq!(p.headings, ["Stadscyklar", "Elcyklar"]);
        assert_eq!(p.excerpt, "Första stycket om cyklar. Andra stycket.");
        assert_eq!(p.language.as_deref(), Some("sv"));
        assert_eq!(
            p.outbound_links,
            ["https://other.org/research/bikes"],
            "only other sites"
        );
    }
}

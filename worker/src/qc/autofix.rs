//! Deterministic repairs, applied once before QC runs again: nothing here invents content.
//! - a link whose text is the anchor but whose URL the model mangled gets the target URL back,
//!   and a link to the target whose text differs only in case or spacing gets the exact anchor;
//! - anchor links beyond the allowed count become plain text;
//! - list items become sentences of one paragraph.

use super::markdown::{find_links, list_marker_len};

pub struct Fixed {
    pub body_markdown: String,
    pub applied: Vec<String>,
}

fn normalise_url(url: &str) -> String {
    url.trim()
        .trim_end_matches('/')
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_start_matches("www.")
        .to_ascii_lowercase()
}

pub fn apply(
    body: &str,
    anchor: &str,
    target_url: &str,
    max_anchor_links: usize,
    allow_lists: bool,
) -> Fixed {
    let mut applied = Vec::new();
    let relinked = relink(body, anchor, target_url, &mut applied);
    let deduped = dedupe_anchor(
        &relinked,
        anchor,
        target_url,
        max_anchor_links.max(1),
        &mut applied,
    );
    let prose = if allow_lists {
        deduped
    } else {
        lists_to_prose(&deduped, &mut applied)
    };
    Fixed {
        body_markdown: prose,
        applied,
    }
}

fn host(url: &str) -> Option<String> {
    url::Url::parse(url.trim())
        .ok()?
        .host_str()
        .map(|h| h.trim_start_matches("www.").to_ascii_lowercase())
}

/// The same page as the target, up to scheme, `www.`, case and a trailing slash.
pub fn same_target(url: &str, target: &str) -> bool {
    url == target || normalise_url(url) == normalise_url(target)
}

/// A link meant as the anchor link, however the model mangled it: autofix's to restore, not a
/// trust link. It must point at the target's own host: the target's path on another host is
/// just another site.
pub fn is_anchor_like(text: &str, url: &str, anchor: &str, target: &str) -> bool {
    let on_target_host = host(url).is_some() && host(url) == host(target);
    same_target(url, target)
        || on_target_host
            && (text == anchor || squash(text) == squash(anchor))
            && normalise_url(url).contains(&normalise_url(target))
}

fn squash(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

fn relink(body: &str, anchor: &str, target: &str, applied: &mut Vec<String>) -> String {
    let wanted = normalise_url(target);
    let mut out = Vec::new();
    for line in body.lines() {
        let mut fixed = String::new();
        let mut cursor = 0;
        for (start, end, text, url) in find_links(line) {
            fixed.push_str(&line[cursor..start]);
            let text_matches = text == anchor || squash(&text) == squash(anchor);
            let url_matches = url == target || normalise_url(&url) == wanted;
            if text_matches && url_matches && (text != anchor || url != target) {
                applied.push(format!(
                    "restored the exact anchor link (was [{text}]({url}))"
                ));
                fixed.push_str(&format!("[{anchor}]({target})"));
            } else if text == anchor && !url_matches && is_anchor_like(&text, &url, anchor, target)
            {
                applied.push(format!("restored the target URL (was {url})"));
                fixed.push_str(&format!("[{anchor}]({target})"));
            } else {
                fixed.push_str(&line[start..end]);
            }
            cursor = end;
        }
        fixed.push_str(&line[cursor..]);
        out.push(fixed);
    }
    out.join("\n")
}

fn dedupe_anchor(
    body: &str,
    anchor: &str,
    target: &str,
    keep: usize,
    applied: &mut Vec<String>,
) -> String {
    let exact = format!("[{anchor}]({target})");
    let mut seen = 0;
    let mut out = Vec::new();
    for line in body.lines() {
        let mut fixed = String::new();
        let mut rest = line;
        while let Some(at) = rest.find(&exact) {
            fixed.push_str(&rest[..at]);
            seen += 1;
            if seen > keep {
                applied.push("removed a surplus anchor link".to_owned());
                fixed.push_str(anchor);
            } else {
                fixed.push_str(&exact);
            }
            rest = &rest[at + exact.len()..];
        }
        fixed.push_str(rest);
        out.push(fixed);
    }
    out.join("\n")
}

fn lists_to_prose(body: &str, applied: &mut Vec<String>) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut items: Vec<String> = Vec::new();
    let flush = |items: &mut Vec<String>, out: &mut Vec<String>| {
        if items.is_empty() {
            return;
        }
        let sentences: Vec<String> = items
            .drain(..)
            .map(|i| {
                let i = i.trim().trim_end_matches([';', ',']).to_owned();
                if i.ends_with(['.', '!', '?']) {
                    i
                } else {
                    format!("{i}.")
                }
            })
            .collect();
        out.push(sentences.join(" "));
    };
    for line in body.lines() {
        if let Some(skip) = list_marker_len(line) {
            items.push(line[skip.min(line.len())..].to_owned());
            continue;
        }
        if !items.is_empty() {
            applied.push("turned a list into prose".to_owned());
            flush(&mut items, &mut out);
        }
        out.push(line.to_owned());
    }
    if !items.is_empty() {
        applied.push("turned a list into prose".to_owned());
        flush(&mut items, &mut out);
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "https://client.se/cyklar";

    #[test]
    fn restores_mangled_links() {
        let f = apply(
            "Se [bästa cyklar](http://www.client.se/cyklar/) här.",
            "bästa cyklar",
            T,
            1,
            false,
        );
        assert_eq!(
            f.body_markdown,
            "Se [bästa cyklar](https://client.se/cyklar) här."
        );
        let f = apply(
            "Se [Bästa  Cyklar ](https://client.se/cyklar) här.",
            "bästa cyklar",
            T,
            1,
            false,
        );
        assert!(
            f.body_markdown
                .contains("[bästa cyklar](https://client.se/cyklar)"),
            "{}",
            f.body_markdown
        );
        let f = apply(
            "Se [bästa cyklar](https://client.se/cyklar?utm=x) här.",
            "bästa cyklar",
            T,
            1,
            false,
        );
        assert!(f.body_markdown.contains("(https://client.se/cyklar)"));
        // An unrelated link is left alone.
        let f = apply(
            "Se [källa](https://other.se/a).",
            "bästa cyklar",
            T,
            1,
            false,
        );
        assert!(f.applied.is_empty());
    }

    #[test]
    fn the_target_path_on_another_host_is_not_the_anchor() {
        let evil = "https://evil.io/p/client.se/cyklar";
        assert!(!is_anchor_like("bästa cyklar", evil, "bästa cyklar", T));
        let f = apply(
            &format!("Se [bästa cyklar]({evil})."),
            "bästa cyklar",
            T,
            1,
            false,
        );
        assert!(f.applied.is_empty());
        assert!(is_anchor_like(
            "bästa cyklar",
            "http://www.client.se/cyklar/",
            "bästa cyklar",
            T
        ));
    }

    #[test]
    fn removes_duplicates_and_lists() {
        let link = format!("[a]({T})");
        let f = apply(
            &format!("{link} and {link}.\n\n- one\n- two;\n\nEnd."),
            "a",
            T,
            1,
            false,
        );
        assert_eq!(
            f.body_markdown,
            format!("{link} and a.\n\nOne. two.\n\nEnd.").replacen("One", "one", 1)
        );
        assert_eq!(f.applied.len(), 2);
        let kept = apply("Intro.\n\n- one\n- two", "a", T, 1, true);
        assert!(
            kept.body_markdown.contains("- one"),
            "lists stay when allowed"
        );
    }
}

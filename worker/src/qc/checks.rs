use serde_json::{Value, json};
use url::Url;

use bacowr_shared::qc::QcThresholds;

use super::{
    CheckResult, QcInput, QcReport, banned,
    language::{self, normalise},
    markdown::{self, Analysis, BlockKind, Link},
};

fn check(name: &str, passed: bool, measured: Value, expected: impl Into<String>) -> CheckResult {
    CheckResult {
        check: name.to_owned(),
        passed,
        measured,
        expected: expected.into(),
    }
}

fn host(url: &str) -> Option<String> {
    Url::parse(url)
        .ok()?
        .host_str()
        .map(|h| h.trim_start_matches("www.").to_ascii_lowercase())
}

/// Same site: equal hosts, or one a subdomain of the other.
pub fn same_site(a: &str, b: &str) -> bool {
    a == b || a.ends_with(&format!(".{b}")) || b.ends_with(&format!(".{a}"))
}

/// A deep link: a path beyond the home page.
pub fn is_deep(url: &str) -> bool {
    Url::parse(url).is_ok_and(|u| u.path().trim_matches('/').len() > 1)
}

pub fn run(input: &QcInput<'_>, t: &QcThresholds, profile: &str) -> QcReport {
    let a = markdown::analyze(input.body_markdown);
    let anchors: Vec<&Link> = a
        .links
        .iter()
        .filter(|l| l.text == input.anchor_text && l.url == input.target_url)
        .collect();
    let to_target = a
        .links
        .iter()
        .filter(|l| super::autofix::same_target(&l.url, input.target_url))
        .count();
    let trust: Vec<&Link> = a
        .links
        .iter()
        .filter(|l| !super::autofix::same_target(&l.url, input.target_url))
        .collect();
    let mut checks = vec![
        check(
            "word_count",
            (t.min_words as usize..=t.max_words as usize).contains(&a.words),
            json!(a.words),
            format!("{}-{} words", t.min_words, t.max_words),
        ),
        check(
            "anchor_link_present",
            !anchors.is_empty(),
            json!(anchors.len()),
            format!(
                "[{}]({}) at least once",
                input.anchor_text, input.target_url
            ),
        ),
        check(
            "anchor_link_count",
            to_target <= t.anchor_max_count as usize,
            json!(to_target),
            format!(
                "at most {} link(s) to the target, whatever their text",
                t.anchor_max_count
            ),
        ),
        check(
            "no_bare_urls",
            a.stray_urls.is_empty(),
            json!(a.stray_urls),
            "every URL inside a [text](url) link",
        ),
    ];
    checks.extend(anchor_checks(&a, &anchors, t));
    checks.extend(trust_checks(input, &anchors, &trust, t));
    checks.extend(structure_checks(&a, t));
    if t.check_banned_phrases {
        let language = normalise(input.language);
        let hits = banned::found(&a.plain, language);
        // Says so when only the English list (which leaks into every language) was applied.
        let expected = if banned::has_list(language) {
            "none"
        } else {
            "none (English list only: no list for this language yet)"
        };
        checks.push(check(
            "banned_phrases",
            hits.is_empty(),
            json!(hits),
            expected,
        ));
    }
    if t.check_language {
        checks.push(language_check(&a.plain, input.language));
    }
    QcReport {
        profile: profile.to_owned(),
        passed: checks.iter().all(|c| c.passed),
        checks,
    }
}

fn anchor_checks(a: &Analysis, anchors: &[&Link], t: &QcThresholds) -> Vec<CheckResult> {
    let mut checks = Vec::new();
    let first = anchors.first();
    if t.anchor_min_start_word.is_some() || t.anchor_max_start_word.is_some() {
        let lo = t.anchor_min_start_word.unwrap_or(1) as usize;
        let hi = t.anchor_max_start_word.map_or(usize::MAX, |h| h as usize);
        checks.push(check(
            "anchor_position",
            first.is_some_and(|l| (lo..=hi).contains(&l.start_word)),
            json!(first.map(|l| l.start_word)),
            format!(
                "starts between word {lo} and {}",
                t.anchor_max_start_word
                    .map_or("the end".into(), |h| h.to_string())
            ),
        ));
    }
    let in_heading = anchors.iter().any(|l| {
        matches!(
            a.blocks.get(l.block).map(|b| b.kind),
            Some(BlockKind::Heading(_))
        )
    });
    checks.push(check(
        "anchor_not_in_heading",
        !in_heading,
        json!(in_heading),
        "never in a heading",
    ));
    if t.anchor_outside_first_last_paragraph {
        let paragraphs: Vec<usize> = a.paragraphs().map(|(i, _)| i).collect();
        let edge = anchors
            .iter()
            .any(|l| paragraphs.first() == Some(&l.block) || paragraphs.last() == Some(&l.block));
        let where_ = first
            .and_then(|l| paragraphs.iter().position(|&p| p == l.block))
            .map(|p| p + 1);
        checks.push(check(
            "anchor_not_in_first_or_last_paragraph",
            !anchors.is_empty() && !edge,
            json!({"paragraph": where_, "paragraphs": paragraphs.len()}),
            "in neither the first nor the last paragraph",
        ));
    }
    checks
}

fn trust_checks(
    input: &QcInput<'_>,
    anchors: &[&Link],
    trust: &[&Link],
    t: &QcThresholds,
) -> Vec<CheckResult> {
    let n = trust.len();
    let mut checks = vec![check(
        "trust_link_count",
        (t.min_trust_links as usize..=t.max_trust_links as usize).contains(&n),
        json!(n),
        format!(
            "{}-{} links to other sites",
            t.min_trust_links, t.max_trust_links
        ),
    )];
    let target = host(input.target_url).unwrap_or_default();
    let publisher = input
        .publisher_domain
        .trim_start_matches("www.")
        .to_ascii_lowercase();
    let bad: Vec<&str> = trust
        .iter()
        .filter(|l| {
            let h = host(&l.url);
            h.as_deref()
                .is_none_or(|h| same_site(h, &target) || same_site(h, &publisher))
                || !is_deep(&l.url)
        })
        .map(|l| l.url.as_str())
        .collect();
    checks.push(check(
        "trust_links_deep_and_external",
        bad.is_empty(),
        json!(bad),
        "deep links, not on the target's or publisher's site",
    ));
    if t.trust_links_before_anchor {
        let anchor_at = anchors.first().map_or(0, |l| l.start_word);
        let late: Vec<&str> = trust
            .iter()
            .filter(|l| anchors.is_empty() || l.start_word > anchor_at)
            .map(|l| l.url.as_str())
            .collect();
        checks.push(check(
            "trust_links_before_anchor",
            late.is_empty(),
            json!(late),
            "all before the anchor",
        ));
    }
    checks
}

fn structure_checks(a: &Analysis, t: &QcThresholds) -> Vec<CheckResult> {
    let headings: Vec<u8> = a
        .blocks
        .iter()
        .filter_map(|b| match b.kind {
            BlockKind::Heading(level) => Some(level),
            _ => None,
        })
        .collect();
    let mut checks = Vec::new();
    if let Some(max) = t.max_headings {
        checks.push(check(
            "heading_count",
            headings.len() <= max as usize,
            json!(headings.len()),
            format!("at most {max}"),
        ));
    }
    if t.require_h1 {
        let h1 = headings.iter().filter(|&&l| l == 1).count();
        checks.push(check("h1", h1 == 1, json!(h1), "exactly one H1"));
    }
    if t.min_h2 > 0 {
        let h2 = headings.iter().filter(|&&l| l == 2).count();
        checks.push(check(
            "h2_count",
            h2 >= t.min_h2 as usize,
            json!(h2),
            format!("at least {}", t.min_h2),
        ));
    }
    if !t.allow_lists {
        let lists = a
            .blocks
            .iter()
            .filter(|b| b.kind == BlockKind::List)
            .count();
        checks.push(check(
            "no_lists",
            lists == 0,
            json!(lists),
            "no bulleted or numbered lists",
        ));
    }
    let paragraphs = a
        .blocks
        .iter()
        .filter(|b| b.kind == BlockKind::Paragraph)
        .count();
    checks.push(check(
        "paragraph_count",
        paragraphs >= t.min_paragraphs as usize,
        json!(paragraphs),
        format!("at least {}", t.min_paragraphs),
    ));
    checks
}

fn language_check(plain: &str, expected: &str) -> CheckResult {
    if language::UNDETECTABLE.contains(&expected) {
        return check(
            "language",
            true,
            json!({"checked": false, "why": "the language detector does not know this language"}),
            expected.to_owned(),
        );
    }
    let expected = normalise(expected);
    match language::detect(plain) {
        Some(d) => {
            // An unreliable guess is not evidence against the article.
            let passed = normalise(d.code) == expected || !d.reliable;
            check(
                "language",
                passed,
                json!({"detected": d.code, "confidence": (d.confidence * 100.0).round() / 100.0, "reliable": d.reliable}),
                expected.to_owned(),
            )
        }
        None => check("language", false, json!(null), expected.to_owned()),
    }
}

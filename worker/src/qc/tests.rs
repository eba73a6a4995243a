//! Every QC check at its boundaries: articles built to pass or fail by exactly one word.

use bacowr_shared::qc::{self, QcThresholds};

use super::{QcInput, QcReport, run};

const TARGET: &str = "https://client.com/bikes";
const ANCHOR: &str = "best bikes";
const TRUST: &str = "https://research.org/studies/cycling-2025";
const FILLER: &str = "Many readers start with a simple question and end up comparing far more \
    options than they expected. The best decisions tend to come from a clear picture of what you \
    actually need day to day. Prices vary a great deal, so it pays to look beyond the first offer \
    you come across. Experienced buyers often say that quality shows itself over years rather \
    than weeks.";

struct Spec {
    words: usize,
    anchor_at: Option<usize>,
    trust_at: Option<usize>,
    paragraphs: usize,
}

impl Default for Spec {
    fn default() -> Self {
        Spec {
            words: 800,
            anchor_at: Some(400),
            trust_at: Some(100),
            paragraphs: 6,
        }
    }
}

/// `words` words of English in `paragraphs` paragraphs, the anchor link's first word at word
/// `anchor_at` and a trust link at `trust_at` (1-based).
fn build(spec: &Spec) -> String {
    let filler: Vec<&str> = FILLER.split_whitespace().collect();
    let mut tokens: Vec<String> = (0..spec.words)
        .map(|i| filler[i % filler.len()].to_owned())
        .collect();
    let mut place = |at: usize, text: &str, url: &str| {
        let (first, second) = text.split_once(' ').unwrap();
        tokens[at - 1] = format!("[{first}");
        tokens[at] = format!("{second}]({url})");
    };
    if let Some(at) = spec.trust_at {
        place(at, "the study", TRUST);
    }
    if let Some(at) = spec.anchor_at {
        place(at, ANCHOR, TARGET);
    }
    let per = spec.words.div_ceil(spec.paragraphs);
    let mut paragraphs = Vec::new();
    let mut current = Vec::new();
    for token in tokens {
        let in_link = token.starts_with('[');
        current.push(token);
        if current.len() >= per && !in_link {
            paragraphs.push(current.join(" "));
            current = Vec::new();
        }
    }
    if !current.is_empty() {
        paragraphs.push(current.join(" "));
    }
    paragraphs.join("\n\n")
}

fn standard() -> QcThresholds {
    qc::profile("standard").unwrap().clone()
}

fn report(body: &str, t: &QcThresholds) -> QcReport {
    run(
        &QcInput {
            body_markdown: body,
            anchor_text: ANCHOR,
            target_url: TARGET,
            publisher_domain: "news.example",
            language: "en",
        },
        t,
        "standard",
    )
}

fn passed(body: &str, name: &str) -> bool {
    let r = report(body, &standard());
    r.checks
        .iter()
        .find(|c| c.check == name)
        .unwrap_or_else(|| panic!("no check {name}"))
        .passed
}

#[test]
fn a_well_formed_article_passes_everything() {
    let r = report(&build(&Spec::default()), &standard());
    assert!(r.passed, "{:#?}", r.failed().collect::<Vec<_>>());
}

#[test]
fn word_count_boundaries() {
    for (words, ok) in [(749, false), (750, true), (900, true), (901, false)] {
        let body = build(&Spec {
            words,
            ..Spec::default()
        });
        assert_eq!(passed(&body, "word_count"), ok, "{words} words");
    }
}

#[test]
fn anchor_position_boundaries() {
    for (at, ok) in [(249, false), (250, true), (550, true), (551, false)] {
        let body = build(&Spec {
            anchor_at: Some(at),
            ..Spec::default()
        });
        assert_eq!(passed(&body, "anchor_position"), ok, "anchor at word {at}");
    }
}

#[test]
fn anchor_presence_count_and_exactness() {
    let none = build(&Spec {
        anchor_at: None,
        ..Spec::default()
    });
    assert!(!passed(&none, "anchor_link_present"));
    let twice = format!(
        "{}\n\nAlso [best bikes]({TARGET}) here.\n\nThe end of it all.",
        build(&Spec::default())
    );
    assert!(!passed(&twice, "anchor_link_count"));
    // Not byte-identical: a different case is not the anchor.
    let cased = build(&Spec::default()).replace("[best bikes]", "[Best bikes]");
    assert!(!passed(&cased, "anchor_link_present"));
}

#[test]
fn anchor_in_heading_or_edge_paragraphs_fails() {
    let mut body = build(&Spec {
        anchor_at: None,
        ..Spec::default()
    });
    body = format!("## See [best bikes]({TARGET})\n\n{body}");
    assert!(!passed(&body, "anchor_not_in_heading"));
    let first = build(&Spec {
        anchor_at: Some(20),
        trust_at: Some(5),
        ..Spec::default()
    });
    assert!(!passed(&first, "anchor_not_in_first_or_last_paragraph"));
    let last = build(&Spec {
        anchor_at: Some(790),
        ..Spec::default()
    });
    assert!(!passed(&last, "anchor_not_in_first_or_last_paragraph"));
}

#[test]
fn trust_link_rules() {
    assert!(!passed(
        &build(&Spec {
            trust_at: None,
            ..Spec::default()
        }),
        "trust_link_count"
    ));
    let after = build(&Spec {
        trust_at: Some(500),
        ..Spec::default()
    });
    assert!(!passed(&after, "trust_links_before_anchor"));
    let home = build(&Spec::default()).replace(TRUST, "https://research.org/");
    assert!(!passed(&home, "trust_links_deep_and_external"));
    let own = build(&Spec::default()).replace(TRUST, "https://shop.client.com/other-page");
    assert!(!passed(&own, "trust_links_deep_and_external"));
    let three = build(&Spec::default()).replacen(
        "Many readers",
        "[a b](https://x.org/p/1) [c d](https://y.org/p/2) Many readers",
        1,
    );
    assert!(!passed(&three, "trust_link_count"));
}

#[test]
fn structure_rules() {
    let body = build(&Spec::default());
    let two_headings = format!("## One\n\n{body}\n\n## Two\n\nClosing words here for the reader.");
    assert!(!passed(&two_headings, "heading_count"));
    assert!(passed(&format!("## One\n\n{body}"), "heading_count"));
    let list = body.replacen("\n\n", "\n\n- first point\n- second point\n\n", 1);
    assert!(!passed(&list, "no_lists"));
    let three = build(&Spec {
        paragraphs: 3,
        ..Spec::default()
    });
    assert!(!passed(&three, "paragraph_count"));
    assert!(passed(
        &build(&Spec {
            paragraphs: 4,
            ..Spec::default()
        }),
        "paragraph_count"
    ));
}

#[test]
fn banned_phrases_and_language() {
    let body = build(&Spec::default()).replacen(
        "Many readers",
        "In today's fast-paced world, many readers",
        1,
    );
    assert!(!passed(&body, "banned_phrases"));
    let r = run(
        &QcInput {
            body_markdown: &build(&Spec::default()),
            anchor_text: ANCHOR,
            target_url: TARGET,
            publisher_domain: "news.example",
            language: "sv",
        },
        &standard(),
        "standard",
    );
    let lang = r.checks.iter().find(|c| c.check == "language").unwrap();
    assert!(!lang.passed, "English text is not Swedish: {lang:?}");
}

#[test]
fn long_form_profile() {
    let t = qc::profile("long_form").unwrap().clone();
    let body = build(&Spec {
        words: 1200,
        anchor_at: Some(600),
        ..Spec::default()
    });
    let with_headings = format!(
        "# Title\n\n{}",
        body.splitn(4, "\n\n")
            .enumerate()
            .map(|(i, p)| format!("## Part {i}\n\n{p}"))
            .collect::<Vec<_>>()
            .join("\n\n")
    );
    let r = report(&with_headings, &t);
    assert!(r.passed, "{:#?}", r.failed().collect::<Vec<_>>());
    let r = report(&body, &t);
    let failed: Vec<_> = r.failed().map(|c| c.check.as_str()).collect();
    assert_eq!(failed, ["h1", "h2_count"]);
}

//! Prompts rendered from per-language templates kept as files (`worker/templates/`). The
//! labelled lines (`Publisher:`, `Target URL:`, `Anchor text:`, `Language:`,
//! `Trust link candidate:`) and the `Failed checks:` marker are also read by llm-sim.

use bacowr_shared::qc::QcThresholds;

use super::{blueprint::Blueprint, language};
use crate::{
    context::{Context, PageSummary},
    provider::GenerationRequest,
};

const TEMPLATES: &[(&str, &str)] = &[
    ("en", include_str!("../../templates/prompt.en.txt")),
    ("sv", include_str!("../../templates/prompt.sv.txt")),
    ("de", include_str!("../../templates/prompt.de.txt")),
];
const FEEDBACK: &str = include_str!("../../templates/feedback.txt");
const REVIEW_FEEDBACK: &str = include_str!("../../templates/review_feedback.txt");
const SPLIT: &str = "---- user ----";

pub struct Brief<'a> {
    pub publisher_domain: &'a str,
    pub target_url: &'a str,
    pub anchor_text: &'a str,
    pub language: &'a str,
    pub thresholds: &'a QcThresholds,
    pub context: &'a Context,
    pub trust_candidates: &'a [String],
}

fn template(language: &str) -> &'static str {
    TEMPLATES
        .iter()
        .find(|(code, _)| *code == language)
        .or_else(|| TEMPLATES.first())
        .map(|(_, t)| *t)
        .unwrap_or_default()
}

fn describe(page: Option<&PageSummary>) -> String {
    let Some(p) = page else {
        return "(not available)".to_owned();
    };
    let mut out = String::new();
    for (label, value) in [
        ("Title", &p.title),
        ("Description", &p.description),
        ("H1", &p.h1),
    ] {
        if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
            out.push_str(&format!("{label}: {v}\n"));
        }
    }
    if !p.headings.is_empty() {
        out.push_str(&format!("Headings: {}\n", p.headings.join(" | ")));
    }
    if !p.excerpt.is_empty() {
        out.push_str(&format!("Excerpt: {}\n", p.excerpt));
    }
    if out.is_empty() {
        "(nothing readable)".to_owned()
    } else {
        out
    }
}

fn thesis(brief: &Brief<'_>) -> String {
    let topic = brief
        .context
        .target
        .as_ref()
        .and_then(|p| p.title.clone().or_else(|| p.h1.clone()))
        .unwrap_or_else(|| brief.anchor_text.to_owned());
    format!(
        "why \"{topic}\" matters to readers of {}, told from their point of view",
        brief.publisher_domain
    )
}

pub fn build(brief: &Brief<'_>, max_output_tokens: u32, temperature: f32) -> GenerationRequest {
    let t = brief.thresholds;
    let plan = Blueprint::new(t, thesis(brief));
    let candidates: String = brief
        .trust_candidates
        .iter()
        .map(|u| format!("Trust link candidate: {u}\n"))
        .collect();
    let rendered = template(brief.language)
        .replace("{publisher}", brief.publisher_domain)
        .replace("{language_name}", &language::name(brief.language))
        .replace("{language}", brief.language)
        .replace("{anchor}", brief.anchor_text)
        .replace("{target_url}", brief.target_url)
        .replace("{min_words}", &t.min_words.to_string())
        .replace("{max_words}", &t.max_words.to_string())
        .replace("{trust_min}", &t.min_trust_links.to_string())
        .replace("{trust_max}", &t.max_trust_links.to_string())
        .replace(
            "{max_headings}",
            &t.max_headings
                .map_or("several".to_owned(), |h| h.to_string()),
        )
        .replace("{blueprint}", &plan.render())
        .replace("{trust_candidates}", &candidates)
        .replace("{target_context}", &describe(brief.context.target.as_ref()))
        .replace(
            "{publisher_context}",
            &describe(brief.context.publisher.as_ref()),
        );
    let (system, user) = rendered.split_once(SPLIT).unwrap_or(("", &rendered));
    GenerationRequest {
        system: system.trim().to_owned(),
        user: user.trim().to_owned(),
        max_output_tokens,
        temperature,
        structured: true,
    }
}

/// The request for a regeneration a reviewer asked for, with their notes (when they wrote
/// any) appended; QC feedback for its drafts builds on this.
pub fn with_review_notes(request: &GenerationRequest, notes: Option<&str>) -> GenerationRequest {
    let notes = notes.unwrap_or("(no notes: write a fresh, better version)");
    GenerationRequest {
        user: format!(
            "{}\n{}",
            request.user,
            REVIEW_FEEDBACK.replace("{notes}", notes)
        ),
        ..request.clone()
    }
}

/// The same request, with the failed checks of the previous draft appended.
pub fn with_feedback(request: &GenerationRequest, feedback: &str) -> GenerationRequest {
    GenerationRequest {
        user: format!(
            "{}\n{}",
            request.user,
            FEEDBACK.replace("{feedback}", feedback)
        ),
        ..request.clone()
    }
}

//! What each model family accepts, so every deployment sends only parameters its model takes:
//! OpenAI reasoning models refuse a non-default `temperature` and think within
//! `max_completion_tokens`; Gemini 2.5+ counts thinking tokens against `maxOutputTokens`;
//! Anthropic extended thinking must stay below `max_tokens`. Settings on the deployment win
//! over these defaults.

use bacowr_shared::config::{DeploymentSettings, ProviderKind};

/// The model's name without a router prefix (`openai/o3` on OpenRouter is `o3`).
fn bare(model: &str) -> &str {
    model.rsplit('/').next().unwrap_or(model)
}

/// OpenAI's reasoning models: the o-series and the gpt-5 family (but not gpt-5's chat alias).
pub fn openai_reasoning(model: &str) -> bool {
    let m = bare(model);
    let o_series =
        m.len() > 1 && m.starts_with('o') && m[1..].starts_with(|c: char| c.is_ascii_digit());
    o_series || (m.starts_with("gpt-5") && !m.contains("chat"))
}

/// Gemini models that think: 2.5 and later.
fn gemini_thinks(model: &str) -> bool {
    let m = bare(model);
    m.starts_with("gemini-2.5") || m.starts_with("gemini-3")
}

/// The most output tokens the model can give in one answer, where known; a truncated answer
/// is retried once with a larger budget up to this.
pub fn output_cap(d: &DeploymentSettings) -> Option<u32> {
    if let Some(cap) = d.max_output_tokens {
        return Some(cap);
    }
    let m = bare(&d.model);
    let cap = match d.kind {
        ProviderKind::OpenAi if openai_reasoning(m) => 100_000,
        ProviderKind::OpenAi if m.starts_with("gpt-4.1") => 32_768,
        ProviderKind::OpenAi if m.starts_with("gpt-4o") => 16_384,
        ProviderKind::Anthropic if m.contains("haiku-3") || m.contains("3-5-haiku") => 8_192,
        ProviderKind::Anthropic if m.contains("opus-4") => 32_000,
        ProviderKind::Anthropic if m.starts_with("claude-") => 64_000,
        ProviderKind::Gemini if gemini_thinks(m) => 65_536,
        ProviderKind::Gemini if m.starts_with("gemini-") => 8_192,
        // An OpenAI-compatible server of unknown make: try once with double.
        _ => return None,
    };
    Some(cap)
}

/// The larger budget a truncated answer is retried with, if the model allows one.
pub fn larger_budget(d: &DeploymentSettings, budget: u32) -> Option<u32> {
    let wanted = budget.saturating_mul(2);
    let next = output_cap(d).map_or(wanted, |cap| wanted.min(cap));
    (next > budget).then_some(next)
}

/// OpenAI: `reasoning_effort` for a reasoning model (the deployment's, else `low`: an article
/// needs little deliberation), `None` for the others.
pub fn reasoning_effort(d: &DeploymentSettings) -> Option<&str> {
    if !openai_reasoning(&d.model) {
        return None;
    }
    Some(d.reasoning_effort.as_deref().unwrap_or("low"))
}

/// Output tokens a model may think with on top of the article's own budget: the deployment's
/// `thinking_budget`, else a family default (reasoning models and Gemini 2.5+ think by default).
pub fn thinking_headroom(d: &DeploymentSettings) -> u32 {
    match (d.kind, d.thinking_budget) {
        (_, Some(budget)) => budget,
        (ProviderKind::OpenAi, None) if openai_reasoning(&d.model) => 4_000,
        (ProviderKind::Gemini, None) => gemini_thinking_budget(d).unwrap_or(0).max(0) as u32,
        _ => 0,
    }
}

/// Gemini `thinkingConfig.thinkingBudget`: the deployment's, else 1024 for 2.5 Pro (which
/// cannot turn thinking off) and 0 (off) for 2.5 Flash and Flash-Lite; `None` for models that
/// take no budget (2.0 and older; Gemini 3 takes a thinking level instead).
pub fn gemini_thinking_budget(d: &DeploymentSettings) -> Option<i64> {
    let m = bare(&d.model);
    if !m.starts_with("gemini-2.5") {
        return None;
    }
    if let Some(b) = d.thinking_budget {
        return Some(i64::from(b));
    }
    Some(if m.contains("pro") { 1024 } else { 0 })
}

/// Gemini 3's `thinkingLevel` (it replaces the budget): the deployment's effort, else `low`.
pub fn gemini_thinking_level(d: &DeploymentSettings) -> Option<&str> {
    bare(&d.model)
        .starts_with("gemini-3")
        .then(|| d.reasoning_effort.as_deref().unwrap_or("low"))
}

/// Anthropic extended thinking: only when the deployment sets a budget (at least the API's
/// minimum of 1024 tokens).
pub fn anthropic_thinking(d: &DeploymentSettings) -> Option<u32> {
    d.thinking_budget.filter(|b| *b > 0).map(|b| b.max(1024))
}

/// The temperature to send, if the model takes one: reasoning models and Anthropic with
/// thinking on accept only the default.
pub fn temperature(d: &DeploymentSettings, requested: f32) -> Option<f32> {
    let fixed = match d.kind {
        ProviderKind::OpenAi => openai_reasoning(&d.model),
        ProviderKind::Anthropic => anthropic_thinking(d).is_some(),
        ProviderKind::Gemini => false,
    };
    (!fixed).then(|| d.temperature.unwrap_or(requested))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families() {
        for m in [
            "o1",
            "o3-mini",
            "o4-mini",
            "gpt-5",
            "gpt-5-mini",
            "openai/o3",
        ] {
            assert!(openai_reasoning(m), "{m}");
        }
        for m in [
            "gpt-4o-mini",
            "gpt-4.1",
            "gpt-5-chat-latest",
            "llama3",
            "omni",
        ] {
            assert!(!openai_reasoning(m), "{m}");
        }
    }
}

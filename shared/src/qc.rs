//! QC profiles and per-batch overrides: data, not code. The API validates a submission's
//! profile and overrides and stores the resolved thresholds on the batch; the worker checks
//! every article against them.

use std::{collections::BTreeMap, sync::LazyLock};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

const PROFILES_TOML: &str = include_str!("../qc/profiles.toml");

pub const DEFAULT_PROFILE: &str = "standard";

/// Every threshold of a QC profile. Word positions are 1-based over the Markdown-stripped body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QcThresholds {
    pub min_words: u32,
    pub max_words: u32,
    pub anchor_max_count: u32,
    #[serde(default)]
    pub anchor_min_start_word: Option<u32>,
    #[serde(default)]
    pub anchor_max_start_word: Option<u32>,
    pub anchor_outside_first_last_paragraph: bool,
    pub min_trust_links: u32,
    pub max_trust_links: u32,
    pub trust_links_before_anchor: bool,
    #[serde(default)]
    pub max_headings: Option<u32>,
    pub require_h1: bool,
    pub min_h2: u32,
    pub allow_lists: bool,
    pub min_paragraphs: u32,
    pub check_banned_phrases: bool,
    pub check_language: bool,
    pub max_regenerations: u32,
}

static PROFILES: LazyLock<BTreeMap<String, QcThresholds>> =
    LazyLock::new(|| toml::from_str(PROFILES_TOML).expect("qc/profiles.toml is valid (tested)"));

pub fn profile(name: &str) -> Option<&'static QcThresholds> {
    PROFILES.get(name)
}

pub fn profile_names() -> Vec<&'static str> {
    PROFILES.keys().map(String::as_str).collect()
}

/// One problem with a submitted profile or override, named by its field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QcSettingError {
    pub field: String,
    pub message: String,
}

fn err(field: impl Into<String>, message: impl Into<String>) -> QcSettingError {
    QcSettingError {
        field: field.into(),
        message: message.into(),
    }
}

/// A profile with a batch's overrides applied, checked for consistency. Field names in errors
/// are prefixed `qc.profile` / `qc.overrides.<key>`.
pub fn resolve(
    profile_name: Option<&str>,
    overrides: Option<&Map<String, Value>>,
) -> Result<(String, QcThresholds), Vec<QcSettingError>> {
    let name = profile_name.unwrap_or(DEFAULT_PROFILE);
    let Some(base) = profile(name) else {
        return Err(vec![err(
            "qc.profile",
            format!(
                "unknown profile {name:?}; one of {}",
                profile_names().join(", ")
            ),
        )]);
    };
    let Some(overrides) = overrides.filter(|o| !o.is_empty()) else {
        return Ok((name.to_owned(), base.clone()));
    };
    let Value::Object(mut merged) = serde_json::to_value(base).expect("thresholds serialise")
    else {
        unreachable!("a struct serialises to an object");
    };
    let mut errors = Vec::new();
    for (key, value) in overrides {
        let field = format!("qc.overrides.{key}");
        let Some(current) = merged.get(key) else {
            errors.push(err(field, "is not a QC threshold"));
            continue;
        };
        let fits = match current {
            Value::Bool(_) => value.is_boolean(),
            _ => value.is_null() && optional(key) || value.as_u64().is_some_and(|n| n <= 100_000),
        };
        if !fits {
            let wanted = if current.is_boolean() {
                "true or false"
            } else {
                "a whole number 0-100000"
            };
            errors.push(err(field, format!("must be {wanted}")));
            continue;
        }
        merged.insert(key.clone(), value.clone());
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let thresholds: QcThresholds = serde_json::from_value(Value::Object(merged))
        .map_err(|e| vec![err("qc.overrides", e.to_string())])?;
    check_consistency(&thresholds)?;
    Ok((name.to_owned(), thresholds))
}

fn optional(key: &str) -> bool {
    matches!(
        key,
        "anchor_min_start_word" | "anchor_max_start_word" | "max_headings"
    )
}

fn check_consistency(t: &QcThresholds) -> Result<(), Vec<QcSettingError>> {
    let mut errors = Vec::new();
    if t.min_words > t.max_words {
        errors.push(err("qc.overrides.min_words", "must not exceed max_words"));
    }
    if t.anchor_max_count == 0 {
        errors.push(err(
            "qc.overrides.anchor_max_count",
            "must be at least 1: the link is the point",
        ));
    }
    if let (Some(lo), Some(hi)) = (t.anchor_min_start_word, t.anchor_max_start_word)
        && lo > hi
    {
        errors.push(err(
            "qc.overrides.anchor_min_start_word",
            "must not exceed anchor_max_start_word",
        ));
    }
    if t.min_trust_links > t.max_trust_links {
        errors.push(err(
            "qc.overrides.min_trust_links",
            "must not exceed max_trust_links",
        ));
    }
    if t.max_regenerations > 10 {
        errors.push(err("qc.overrides.max_regenerations", "must be at most 10"));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn profiles_load() {
        assert_eq!(profile_names(), ["long_form", "standard"]);
        let s = profile("standard").unwrap();
        assert_eq!(
            (s.min_words, s.max_words, s.anchor_max_count),
            (750, 900, 1)
        );
        assert_eq!(profile("long_form").unwrap().min_h2, 3);
    }

    #[test]
    fn overrides_apply_and_are_validated() {
        let o = json!({"min_words": 600, "allow_lists": true, "anchor_max_start_word": null});
        let (_, t) = resolve(None, o.as_object()).unwrap();
        assert_eq!(t.min_words, 600);
        assert!(t.allow_lists);
        assert_eq!(t.anchor_max_start_word, None);

        let o = json!({"min_wordz": 1, "max_words": "many", "allow_lists": 1});
        let fields: Vec<_> = resolve(None, o.as_object())
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            [
                "qc.overrides.allow_lists",
                "qc.overrides.max_words",
                "qc.overrides.min_wordz"
            ]
        );

        let o = json!({"min_words": 1000});
        assert_eq!(
            resolve(None, o.as_object()).unwrap_err()[0].field,
            "qc.overrides.min_words"
        );
        assert_eq!(
            resolve(Some("tiny"), None).unwrap_err()[0].field,
            "qc.profile"
        );
    }
}

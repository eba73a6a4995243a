//! Quality control: every article is checked against its batch's thresholds; each check
//! reports pass or fail with the value it measured. The report is stored with the article.

pub mod autofix;
mod banned;
mod checks;
pub mod language;
pub mod markdown;

use serde::{Deserialize, Serialize};

pub use checks::{is_deep, run, same_site};

/// What an article is checked against besides the thresholds.
#[derive(Debug, Clone, Copy)]
pub struct QcInput<'a> {
    pub body_markdown: &'a str,
    pub anchor_text: &'a str,
    pub target_url: &'a str,
    pub publisher_domain: &'a str,
    pub language: &'a str,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    pub check: String,
    pub passed: bool,
    /// What was measured, e.g. the word count or the anchor's start word.
    pub measured: serde_json::Value,
    /// The rule, e.g. `750-900`.
    pub expected: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QcReport {
    pub profile: String,
    pub passed: bool,
    pub checks: Vec<CheckResult>,
}

impl QcReport {
    pub fn failed(&self) -> impl Iterator<Item = &CheckResult> {
        self.checks.iter().filter(|c| !c.passed)
    }

    /// The failed checks in words, as feedback for a regeneration.
    pub fn feedback(&self) -> String {
        self.failed()
            .map(|c| {
                format!(
                    "- {}: required {}, measured {}",
                    c.check, c.expected, c.measured
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

#[cfg(test)]
mod tests;

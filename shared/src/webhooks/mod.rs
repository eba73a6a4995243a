//! Webhooks (#6): the events an organization can subscribe to, Standard Webhooks signing,
//! the transactional outbox the event sources write to, and the queue task that carries a
//! delivery to a worker. Postgres holds every delivery; Redis only carries their ids.

pub mod batch_events;
pub mod outbox;
pub mod payload;
pub mod queue;
pub mod signing;

use sea_orm::{DeriveActiveEnum, EnumIter, entity::prelude::StringLen};
use serde::{Deserialize, Serialize};

/// What happened. The wire names are part of the API contract.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, Serialize, Deserialize, utoipa::ToSchema,
)]
pub enum WebhookEvent {
    /// Every item of a batch was reviewed: nothing pending, nothing regenerating.
    #[serde(rename = "batch.completed")]
    BatchCompleted,
    /// Every job of a batch has finished: its articles wait for review.
    #[serde(rename = "batch.ready_for_review")]
    BatchReadyForReview,
    /// A job's article still fails QC after autofix and the allowed regenerations.
    #[serde(rename = "job.needs_review")]
    JobNeedsReview,
    /// A job ended without an article.
    #[serde(rename = "job.failed")]
    JobFailed,
    /// A batch's approved articles are ready to export.
    #[serde(rename = "export.ready")]
    ExportReady,
    /// The organization's usage reached 80% of a quota or budget (once per metric and period).
    #[serde(rename = "budget.alert")]
    BudgetAlert,
}

impl WebhookEvent {
    pub const ALL: [Self; 6] = [
        Self::BatchCompleted,
        Self::BatchReadyForReview,
        Self::JobNeedsReview,
        Self::JobFailed,
        Self::ExportReady,
        Self::BudgetAlert,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::BatchCompleted => "batch.completed",
            Self::BatchReadyForReview => "batch.ready_for_review",
            Self::JobNeedsReview => "job.needs_review",
            Self::JobFailed => "job.failed",
            Self::ExportReady => "export.ready",
            Self::BudgetAlert => "budget.alert",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == s)
    }

    /// The wire names, comma-separated, for error messages.
    pub fn names() -> String {
        Self::ALL.map(Self::as_str).join(", ")
    }
}

impl std::fmt::Display for WebhookEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A delivery's state: `pending` (waiting for its next attempt) → `delivered` (a 2xx) or
/// `failed` (the retry schedule ran out, the receiver answered 410 Gone, or the endpoint was
/// disabled). A failed delivery can be retried through the API.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    #[sea_orm(string_value = "pending")]
    Pending,
    #[sea_orm(string_value = "delivered")]
    Delivered,
    #[sea_orm(string_value = "failed")]
    Failed,
}

impl DeliveryStatus {
    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }
}

/// Longest receiver URL accepted.
pub const MAX_URL_LEN: usize = 2048;

/// Why a receiver URL is refused before any address is looked up. The address itself (private,
/// loopback, link-local) is checked at delivery time, after DNS, by the worker's SSRF guard:
/// a name's addresses can change after the endpoint is created.
pub fn check_url(raw: &str) -> Result<url::Url, &'static str> {
    if raw.len() > MAX_URL_LEN {
        return Err("must be at most 2048 characters");
    }
    let url = url::Url::parse(raw).map_err(|_| "must be an absolute http(s) URL")?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("must use http or https");
    }
    match url.host() {
        None => Err("must name a host"),
        Some(url::Host::Domain("")) => Err("must name a host"),
        Some(_) if url.fragment().is_some() => Err("must not carry a #fragment"),
        Some(_) => Ok(url),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_names_round_trip() {
        for e in WebhookEvent::ALL {
            assert_eq!(WebhookEvent::parse(e.as_str()), Some(e));
            assert_eq!(serde_json::to_value(e).unwrap(), e.as_str());
        }
        assert_eq!(WebhookEvent::parse("job.succeeded"), None);
        assert_eq!(
            WebhookEvent::names(),
            "batch.completed, batch.ready_for_review, job.needs_review, job.failed, export.ready, \
             budget.alert"
        );
    }

    #[test]
    fn urls_are_checked() {
        assert!(check_url("https://hooks.example.com/bacowr?x=1").is_ok());
        assert!(check_url("http://127.0.0.1:9000/h").is_ok());
        assert!(check_url("ftp://example.com/").is_err());
        assert!(check_url("example.com/hook").is_err());
        assert!(check_url("https://example.com/#frag").is_err());
        assert!(check_url(&format!("https://e.com/{}", "a".repeat(2100))).is_err());
    }
}

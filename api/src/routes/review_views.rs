//! Review items as the API shows them.

use chrono::{DateTime, Utc};
use serde::Serialize;

use bacowr_shared::{
    domain::{ReviewDecision, ReviewStatus},
    entities::{article, job, review_decision, review_item},
    ids::{BatchId, JobId, ReviewItemId},
};

use super::views::{ArticleVersionView, ArticleView, BatchView};

/// The QC verdict the item's current version was stored with.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ItemQc {
    pub passed: bool,
    pub failed_checks: i32,
    /// Every check with its measured value, as stored with the version.
    #[schema(value_type = Object)]
    pub report: Option<serde_json::Value>,
}

/// One decision in an item's history (`regenerated` and `regeneration_failed` are the
/// worker's: the new version arrived, or the regeneration produced none).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DecisionView {
    #[schema(schema_with = crate::openapi::schemas::decision_record)]
    pub decision: String,
    pub from: ReviewStatus,
    pub to: ReviewStatus,
    pub article_version: i32,
    pub notes: Option<String>,
    pub reviewer: Option<String>,
    pub at: DateTime<Utc>,
}

impl From<review_decision::Model> for DecisionView {
    fn from(d: review_decision::Model) -> Self {
        Self {
            decision: d.decision,
            from: d.from_status,
            to: d.to_status,
            article_version: d.article_version,
            notes: d.notes,
            reviewer: d.reviewer,
            at: d.created_at,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReviewItemView {
    pub id: ReviewItemId,
    pub batch_id: Option<BatchId>,
    pub job_id: JobId,
    /// Position in the submitted batch, 0-based.
    pub row_index: i32,
    pub publisher_domain: String,
    pub target_url: String,
    pub anchor_text: String,
    pub status: ReviewStatus,
    /// The article version under review.
    pub article_version: i32,
    pub title: String,
    pub word_count: i32,
    pub qc: ItemQc,
    /// The last reviewer's notes, who they were (the API key) and when.
    pub notes: Option<String>,
    pub reviewer: Option<String>,
    pub reviewed_at: Option<DateTime<Utc>>,
    /// Regenerations reviewers have asked for.
    pub regenerations: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The version under review, in full (on `GET .../items/{item_id}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub article: Option<ArticleView>,
    /// Every stored version, oldest first (on `GET .../items/{item_id}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub versions: Option<Vec<ArticleVersionView>>,
    /// Every decision, oldest first (on `GET .../items/{item_id}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<DecisionView>>,
}

impl ReviewItemView {
    /// An item with its job and current article (title and word count only).
    pub fn summary(i: review_item::Model, j: &job::Model, a: Option<&article::Model>) -> Self {
        Self {
            id: ReviewItemId::from_uuid(i.id),
            batch_id: i.batch_id.map(BatchId::from_uuid),
            job_id: JobId::from_uuid(i.job_id),
            row_index: i.row_index,
            publisher_domain: j.publisher_domain.clone(),
            target_url: j.target_url.clone(),
            anchor_text: j.anchor_text.clone(),
            status: i.status,
            article_version: i.article_version,
            title: a.map(|a| a.title.clone()).unwrap_or_default(),
            word_count: a.map_or(0, |a| a.word_count),
            qc: ItemQc {
                passed: i.qc_passed,
                failed_checks: i.qc_failed_checks,
                report: i.qc_report,
            },
            notes: i.notes,
            reviewer: i.reviewer,
            reviewed_at: i.reviewed_at,
            regenerations: i.regenerations,
            created_at: i.created_at,
            updated_at: i.updated_at,
            article: None,
            versions: None,
            history: None,
        }
    }
}

/// A page of a batch's review items. Pass `next_cursor` back as `cursor` for the next page;
/// it is absent on the last page.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReviewItemPage {
    pub items: Vec<ReviewItemView>,
    pub next_cursor: Option<String>,
}

/// An item the decision could not be taken on, and the state it is in.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RefusedItem {
    pub item_id: ReviewItemId,
    pub status: ReviewStatus,
    pub detail: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BulkReviewResult {
    pub decision: ReviewDecision,
    /// Items the decision was applied to, in sheet order.
    pub applied: Vec<ReviewItemView>,
    pub refused: Vec<RefusedItem>,
    pub batch: BatchView,
}

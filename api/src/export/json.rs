//! `format=json`: everything about every approved item, one JSON document
//! (`{"batch", "exported_at", "items": [...]}`), written item by item.

use chrono::{DateTime, Utc};
use serde::Serialize;

use bacowr_shared::{
    domain::ReviewStatus,
    ids::{ArticleId, JobId, ReviewItemId},
};

use super::source::ExportRow;
use crate::routes::views::BatchView;

fn usd(micros: i64) -> f64 {
    micros as f64 / 1_000_000.0
}

/// The whole JSON export. It is streamed: `items` arrive one by one, in sheet order.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ExportDocument {
    pub batch: BatchView,
    pub exported_at: DateTime<Utc>,
    pub items: Vec<ExportedItem>,
}

/// One approved article with its link assignment, review, QC verdict and cost.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ExportedItem {
    /// The link's row in the submitted sheet, 1-based.
    pub row: i32,
    pub item_id: ReviewItemId,
    pub job_id: JobId,
    /// The item in the API (absolute when `api.public_url` is configured).
    pub url: String,
    pub link: ExportedLink,
    pub review: ExportedReview,
    pub article: ExportedArticle,
    pub qc: ExportedQc,
    /// Each trust link the model proposed: kept or not, and why.
    #[schema(value_type = Vec<Object>)]
    pub trust_links: Option<serde_json::Value>,
    /// Provider cost of the whole job (every attempt and version), US dollars.
    pub cost_usd: f64,
    /// The same cost in millionths of a dollar, exact.
    pub cost_micros: i64,
    pub tokens_in: i64,
    pub tokens_out: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ExportedLink {
    pub publisher_domain: String,
    pub target_url: String,
    pub anchor_text: String,
    pub language: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ExportedReview {
    pub status: ReviewStatus,
    pub reviewer: Option<String>,
    pub reviewed_at: Option<DateTime<Utc>>,
    pub notes: Option<String>,
    /// Regenerations reviewers asked for.
    pub regenerations: i32,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ExportedArticle {
    pub id: ArticleId,
    pub version: i32,
    pub title: String,
    pub meta_description: Option<String>,
    /// The body in Markdown, with the anchor link.
    pub body_markdown: String,
    pub word_count: i32,
    pub language: Option<String>,
    /// The deployment that wrote it, its provider kind and model.
    pub deployment: Option<String>,
    pub provider: String,
    pub model: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ExportedQc {
    pub passed: bool,
    pub failed_checks: i32,
    /// Every check with its measured value, as the article was stored with.
    #[schema(value_type = Object)]
    pub report: Option<serde_json::Value>,
}

impl ExportedItem {
    pub fn new(row: &ExportRow, url: String) -> Self {
        let (item, job, article) = (&row.item, &row.job, &row.article);
        Self {
            row: row.number(),
            item_id: ReviewItemId::from_uuid(item.id),
            job_id: JobId::from_uuid(job.id),
            url,
            link: ExportedLink {
                publisher_domain: job.publisher_domain.clone(),
                target_url: job.target_url.clone(),
                anchor_text: job.anchor_text.clone(),
                language: job.language.clone(),
            },
            review: ExportedReview {
                status: item.status,
                reviewer: item.reviewer.clone(),
                reviewed_at: item.reviewed_at,
                notes: item.notes.clone(),
                regenerations: item.regenerations,
            },
            article: ExportedArticle {
                id: ArticleId::from_uuid(article.id),
                version: article.version,
                title: article.title.clone(),
                meta_description: article.meta_description.clone(),
                body_markdown: article.body_markdown.clone(),
                word_count: article.word_count,
                language: article.language.clone(),
                deployment: article.deployment.clone(),
                provider: article.provider.clone(),
                model: article.model.clone(),
                created_at: article.created_at,
            },
            qc: ExportedQc {
                passed: item.qc_passed,
                failed_checks: item.qc_failed_checks,
                report: item.qc_report.clone().or_else(|| article.qc_report.clone()),
            },
            trust_links: article.trust_links.clone(),
            cost_usd: usd(job.cost_micros),
            cost_micros: job.cost_micros,
            tokens_in: job.tokens_in,
            tokens_out: job.tokens_out,
        }
    }
}

/// The document up to the opening of `items`.
pub fn head(batch: &BatchView, exported_at: DateTime<Utc>) -> serde_json::Result<Vec<u8>> {
    let mut out = b"{\"batch\":".to_vec();
    serde_json::to_writer(&mut out, batch)?;
    out.extend_from_slice(b",\"exported_at\":");
    serde_json::to_writer(&mut out, &exported_at)?;
    out.extend_from_slice(b",\"items\":[");
    Ok(out)
}

/// One item, preceded by a comma unless it is the first.
pub fn item(out: &mut Vec<u8>, first: bool, item: &ExportedItem) -> serde_json::Result<()> {
    if !first {
        out.push(b',');
    }
    serde_json::to_writer(out, item)
}

pub const TAIL: &[u8] = b"]}";

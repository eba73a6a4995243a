//! What the API answers with: views of the stored rows, in the wire format of the OpenAPI
//! document.

use chrono::{DateTime, Utc};
use serde::Serialize;

use bacowr_shared::{
    domain::{BatchStatus, JobStatus},
    entities::{article, batch, job},
    ids::{ArticleId, BatchId, JobId},
};

fn usd(micros: i64) -> f64 {
    micros as f64 / 1_000_000.0
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JobCounts {
    pub queued: i32,
    pub running: i32,
    pub succeeded: i32,
    pub needs_review: i32,
    pub failed: i32,
    pub cancelled: i32,
}

/// Review items per status: every job with an article has one.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReviewCounts {
    pub pending: i32,
    pub approved: i32,
    pub rejected: i32,
    pub regenerating: i32,
}

/// How the batch's articles fared in QC.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct QcSummary {
    pub profile: String,
    /// Jobs whose article passed QC.
    pub passed: i32,
    /// Jobs with an article that still fails QC.
    pub needs_review: i32,
    /// Jobs without an article.
    pub failed: i32,
    /// Jobs whose first draft passed QC as written.
    pub first_try_passed: i32,
    /// `first_try_passed` over finished jobs, 0-1 (0 while none has finished).
    pub first_try_pass_rate: f64,
    /// The profile's thresholds with this batch's overrides applied.
    #[schema(value_type = Object)]
    pub thresholds: Option<serde_json::Value>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BatchView {
    pub id: BatchId,
    pub name: Option<String>,
    pub status: BatchStatus,
    pub total_jobs: i32,
    pub counts: JobCounts,
    /// Share of jobs that have finished (succeeded, needs review, failed or cancelled), 0-1.
    pub progress: f64,
    pub tokens_in: i64,
    pub tokens_out: i64,
    /// Provider cost so far, US dollars.
    pub cost_usd: f64,
    pub qc: QcSummary,
    pub review: ReviewCounts,
    pub default_language: Option<String>,
    /// The deployments this batch may use, in order; absent: the configured chain.
    #[schema(value_type = Option<Vec<String>>)]
    pub providers: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// When the batch was cancelled; running jobs may still finish after it.
    pub cancelled_at: Option<DateTime<Utc>>,
    /// When review finished: nothing pending or regenerating.
    pub completed_at: Option<DateTime<Utc>>,
    /// What this deployment can't check (page context off, a simulated web), so a review
    /// outcome of the set-up is not taken for bad writing; absent when there is nothing to say.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notices: Vec<String>,
    /// Submission answer only: rows (0-based, as `links[i]`) that repeat one another's
    /// publisher, target and anchor, each group in order. They are accepted, one article each;
    /// this says so in case the repeat was a slip.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(example = json!([[16, 17]]))]
    pub duplicates: Vec<Vec<usize>>,
}

impl BatchView {
    pub fn with_notices(mut self, settings: &bacowr_shared::config::Settings) -> Self {
        self.notices = crate::services::notices::for_settings(settings);
        self
    }
}

impl From<batch::Model> for BatchView {
    fn from(b: batch::Model) -> Self {
        let finished = b.succeeded_jobs + b.needs_review_jobs + b.failed_jobs + b.cancelled_jobs;
        Self {
            id: BatchId::from_uuid(b.id),
            name: b.name,
            status: b.status,
            total_jobs: b.total_jobs,
            progress: if b.total_jobs > 0 {
                f64::from(finished) / f64::from(b.total_jobs)
            } else {
                0.0
            },
            counts: JobCounts {
                queued: b.queued_jobs,
                running: b.running_jobs,
                succeeded: b.succeeded_jobs,
                needs_review: b.needs_review_jobs,
                failed: b.failed_jobs,
                cancelled: b.cancelled_jobs,
            },
            tokens_in: b.tokens_in,
            tokens_out: b.tokens_out,
            cost_usd: usd(b.cost_micros),
            qc: QcSummary {
                profile: b.qc_profile,
                passed: b.succeeded_jobs,
                needs_review: b.needs_review_jobs,
                failed: b.failed_jobs,
                first_try_passed: b.first_try_passed_jobs,
                first_try_pass_rate: if finished > 0 {
                    f64::from(b.first_try_passed_jobs) / f64::from(finished)
                } else {
                    0.0
                },
                thresholds: b.qc_thresholds,
            },
            review: ReviewCounts {
                pending: b.pending_items,
                approved: b.approved_items,
                rejected: b.rejected_items,
                regenerating: b.regenerating_items,
            },
            default_language: b.default_language,
            providers: b.provider_chain,
            created_at: b.created_at,
            updated_at: b.updated_at,
            finished_at: b.finished_at,
            cancelled_at: b.cancelled_at,
            completed_at: b.completed_at,
            notices: Vec::new(),
            duplicates: Vec::new(),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JobError {
    /// Machine-readable cause, e.g. `provider_failed`.
    pub code: String,
    pub message: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ArticleView {
    pub id: ArticleId,
    pub version: i32,
    pub title: String,
    /// The article body in Markdown, with the anchor link.
    pub body_markdown: String,
    pub word_count: i32,
    pub language: Option<String>,
    /// The deployment (an entry of the provider chain) that wrote it; none on articles
    /// written before deployments were recorded.
    pub deployment: Option<String>,
    /// The provider kind that wrote it: `openai`, `anthropic` or `gemini`.
    pub provider: String,
    pub model: String,
    pub created_at: DateTime<Utc>,
    pub meta_description: Option<String>,
    pub qc_passed: bool,
    /// Every QC check: `{check, passed, measured, expected}`, and the profile.
    #[schema(value_type = Object)]
    pub qc_report: Option<serde_json::Value>,
    /// Each trust link the model proposed: kept or not, and why.
    #[schema(value_type = Vec<Object>)]
    pub trust_links: Option<serde_json::Value>,
    /// Deterministic repairs applied before the final QC run.
    #[schema(value_type = Vec<String>)]
    pub autofixes: Option<serde_json::Value>,
    /// Regenerations with QC feedback it took (0 = first draft).
    pub regenerations: i32,
    /// What was known about the target and publisher pages when writing.
    #[schema(value_type = Object)]
    pub context: Option<serde_json::Value>,
}

/// One stored version of a job's article.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ArticleVersionView {
    pub id: ArticleId,
    pub version: i32,
    /// The draft of its attempt it was (0 = first draft).
    pub regenerations: i32,
    /// Who wrote it: deployment, provider kind and model.
    pub deployment: Option<String>,
    pub provider: String,
    pub model: String,
    pub qc_passed: bool,
    pub word_count: i32,
    pub created_at: DateTime<Utc>,
}

impl From<&article::Model> for ArticleVersionView {
    fn from(a: &article::Model) -> Self {
        Self {
            id: ArticleId::from_uuid(a.id),
            version: a.version,
            regenerations: a.regenerations,
            deployment: a.deployment.clone(),
            provider: a.provider.clone(),
            model: a.model.clone(),
            qc_passed: a.qc_passed,
            word_count: a.word_count,
            created_at: a.created_at,
        }
    }
}

impl From<article::Model> for ArticleView {
    fn from(a: article::Model) -> Self {
        Self {
            id: ArticleId::from_uuid(a.id),
            version: a.version,
            title: a.title,
            body_markdown: a.body_markdown,
            word_count: a.word_count,
            language: a.language,
            deployment: a.deployment,
            provider: a.provider,
            model: a.model,
            created_at: a.created_at,
            meta_description: a.meta_description,
            qc_passed: a.qc_passed,
            qc_report: a.qc_report,
            trust_links: a.trust_links,
            autofixes: a.autofixes,
            regenerations: a.regenerations,
            context: a.context_report,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JobView {
    pub id: JobId,
    pub batch_id: Option<BatchId>,
    /// Position in the submitted batch, 0-based.
    pub row_index: i32,
    pub publisher_domain: String,
    pub target_url: String,
    pub anchor_text: String,
    pub language: Option<String>,
    pub status: JobStatus,
    /// Attempts in the current round (the first run, a retry or a regeneration).
    pub attempts: i32,
    /// Attempts over the job's whole life.
    pub total_attempts: i32,
    pub error: Option<JobError>,
    pub tokens_in: i64,
    pub tokens_out: i64,
    pub cost_usd: f64,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// The latest article version, on `GET /jobs/{id}` once one exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub article: Option<ArticleView>,
    /// Every stored version, oldest first, on `GET /jobs/{id}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub versions: Option<Vec<ArticleVersionView>>,
}

impl JobView {
    /// A job with its articles (oldest first), as `GET /jobs/{id}` shows it.
    pub fn with_articles(j: job::Model, mut articles: Vec<article::Model>) -> Self {
        let versions = articles.iter().map(ArticleVersionView::from).collect();
        let latest = articles.pop();
        Self {
            versions: Some(versions),
            ..Self::new(j, latest)
        }
    }

    pub fn new(j: job::Model, article: Option<article::Model>) -> Self {
        Self {
            id: JobId::from_uuid(j.id),
            batch_id: j.batch_id.map(BatchId::from_uuid),
            row_index: j.row_index,
            publisher_domain: j.publisher_domain,
            target_url: j.target_url,
            anchor_text: j.anchor_text,
            language: j.language,
            status: j.status,
            attempts: j.attempts - j.attempt_floor,
            total_attempts: j.attempts,
            error: j.error_code.map(|code| JobError {
                code,
                message: j.error_message.unwrap_or_default(),
            }),
            tokens_in: j.tokens_in,
            tokens_out: j.tokens_out,
            cost_usd: usd(j.cost_micros),
            created_at: j.created_at,
            started_at: j.started_at,
            finished_at: j.finished_at,
            article: article.map(ArticleView::from),
            versions: None,
        }
    }
}

/// A page of batches, newest first. Pass `next_cursor` back as `cursor` for the next page; it
/// is absent on the last page.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BatchPage {
    pub items: Vec<BatchView>,
    pub next_cursor: Option<String>,
}

/// A page of a batch's jobs, in submission order. Pass `next_cursor` back as `cursor` for the
/// next page; it is absent on the last page.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JobPage {
    pub items: Vec<JobView>,
    pub next_cursor: Option<String>,
}

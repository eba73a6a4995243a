use chrono::Utc;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QuerySelect, TransactionTrait, sea_query::Expr,
};

use bacowr_shared::{
    domain::{BatchStatus, JobStatus, ReviewStatus},
    entities::{article, batch, job, llm_call},
    ids::{ArticleId, LlmCallId},
    quota,
};

use super::{
    batch_counters::{self, Usage},
    review,
};
use crate::pipeline::CallRecord;

#[derive(Clone)]
pub struct ArticleToStore {
    pub title: String,
    pub meta_description: Option<String>,
    pub body_markdown: String,
    pub word_count: i32,
    pub language: String,
    /// The deployment that wrote it, its provider kind and model.
    pub deployment: String,
    pub provider: String,
    pub model: String,
    pub qc_passed: bool,
    pub qc_report: serde_json::Value,
    pub trust_links: serde_json::Value,
    pub autofixes: serde_json::Value,
    pub regenerations: i32,
    pub context_report: serde_json::Value,
    /// The first draft passed QC as written: no autofix, no regeneration.
    pub first_try: bool,
    /// The attempt's other drafts, stored as earlier versions so a reviewer sees them; this
    /// one, the best, is stored last and is the job's article.
    pub earlier_drafts: Vec<ArticleToStore>,
}

#[derive(Clone)]
pub enum Outcome {
    /// QC passed.
    Succeeded(ArticleToStore),
    /// An article exists but QC still fails after autofix and the allowed regenerations.
    NeedsReview(ArticleToStore),
    /// No article at all.
    Failed { code: &'static str, message: String },
    /// Stopped before any article: the batch was cancelled (or the lease lost) mid-attempt.
    Cancelled,
}

impl Outcome {
    pub fn status(&self) -> JobStatus {
        match self {
            Self::Succeeded(_) => JobStatus::Succeeded,
            Self::NeedsReview(_) => JobStatus::NeedsReview,
            Self::Failed { .. } => JobStatus::Failed,
            Self::Cancelled => JobStatus::Cancelled,
        }
    }
}

/// Writes the outcome of one attempt. Returns `false` (and writes nothing but the call log)
/// when this worker no longer holds the job's lease: another worker has taken it over.
pub async fn record_outcome(
    db: &DatabaseConnection,
    job: &job::Model,
    owner: &str,
    outcome: Outcome,
    calls: &[CallRecord],
) -> Result<bool, DbErr> {
    Ok(record_outcome_reporting(db, job, owner, outcome, calls)
        .await?
        .written)
}

/// What [`record_outcome_reporting`] committed, for the live events announced after it.
#[derive(Debug, Clone, Copy)]
pub struct Recorded {
    /// The outcome was written (this worker still held the lease).
    pub written: bool,
    /// The job's status now: the outcome's, except that a reviewer's regeneration that
    /// produced nothing leaves the job with the status of the article it has.
    pub status: JobStatus,
    /// This job was the batch's last: the status the batch moved to (ready for review, or
    /// back in review or completed after a retry).
    pub batch_now: Option<BatchStatus>,
    /// The review item this regeneration brought back to pending.
    pub review_back: Option<review::ReviewBack>,
}

/// [`record_outcome`], telling also whether the batch became ready for review.
pub async fn record_outcome_reporting(
    db: &DatabaseConnection,
    job: &job::Model,
    owner: &str,
    outcome: Outcome,
    calls: &[CallRecord],
) -> Result<Recorded, DbErr> {
    let now = Utc::now();
    let txn = db.begin().await?;
    let usage = insert_calls(&txn, job, calls).await?;
    // The calls are recorded now: their budget reservations go in the same commit, so spend
    // is never counted twice or missed.
    quota::reserve::release_attempt(&txn, job.id, job.attempts).await?;
    // Spent tokens count whoever holds the lease now, so job, batch and organization totals
    // always equal the sum of the call log.
    batch_counters::add_usage(&txn, job, &usage, now).await?;

    // A regeneration a reviewer asked for that ends without an article leaves the job with
    // the article it had: its status is what that version earned, not `failed`.
    let item = review::find(&txn, job.id).await?;
    let lost_regeneration = item
        .as_ref()
        .filter(|i| i.status == ReviewStatus::Regenerating)
        .filter(|_| matches!(outcome, Outcome::Failed { .. } | Outcome::Cancelled));
    let regeneration_lost = lost_regeneration.is_some();
    let status = match lost_regeneration {
        Some(i) if i.qc_passed => JobStatus::Succeeded,
        Some(_) => JobStatus::NeedsReview,
        None => outcome.status(),
    };
    let (error_code, error_message) = match &outcome {
        Outcome::Failed { code, message } if status == JobStatus::Failed => {
            (Some(*code), Some(message.clone()))
        }
        _ => (None, None),
    };
    let moved = job::Entity::update_many()
        .col_expr(job::Column::Status, Expr::value(status))
        .col_expr(job::Column::LeaseOwner, Expr::value(Option::<String>::None))
        .col_expr(
            job::Column::LeaseExpiresAt,
            Expr::value(Option::<chrono::DateTime<Utc>>::None),
        )
        .col_expr(job::Column::ErrorCode, Expr::value(error_code))
        .col_expr(
            job::Column::ErrorMessage,
            Expr::value(error_message.clone()),
        )
        .col_expr(job::Column::FinishedAt, Expr::value(now))
        .col_expr(job::Column::UpdatedAt, Expr::value(now))
        .filter(job::Column::Id.eq(job.id))
        .filter(job::Column::Status.eq(JobStatus::Running))
        .filter(job::Column::LeaseOwner.eq(owner))
        // This attempt's lease, not a later one the same process took after it lapsed.
        .filter(job::Column::Attempts.eq(job.attempts))
        .exec(&txn)
        .await?
        .rows_affected;
    if moved == 0 {
        // Keep the call log (the tokens were spent) but leave the job to its new owner.
        txn.commit().await?;
        return Ok(Recorded {
            written: false,
            status,
            batch_now: None,
            review_back: None,
        });
    }
    // The batch row before the review item: a reviewer's decision locks the batch first, then
    // its items, so taking them in the same order here can't deadlock with one.
    if let Some(batch_id) = job.batch_id {
        batch::Entity::find_by_id(batch_id)
            .lock_exclusive()
            .one(&txn)
            .await?;
    }

    let mut first_try = false;
    let mut review_back = None;
    if let Some(item) = lost_regeneration {
        let why = match &outcome {
            Outcome::Failed { message, .. } => message.as_str(),
            _ => "the regeneration was stopped",
        };
        review_back = review::regeneration_lost(&txn, item, why, now).await?;
    }
    if let Outcome::Succeeded(article) | Outcome::NeedsReview(article) = outcome {
        // Counted once per job: a reviewer's regeneration is not a first try.
        first_try = article.first_try && item.is_none();
        let mut version = article::Entity::find()
            .filter(article::Column::JobId.eq(job.id))
            .count(&txn)
            .await? as i32
            + 1;
        let mut article = article;
        for earlier in std::mem::take(&mut article.earlier_drafts) {
            insert_article(&txn, job, ArticleId::new().uuid(), version, earlier, now).await?;
            version += 1;
        }
        let mut article_id = ArticleId::new().uuid();
        let qc_report = article.qc_report.clone();
        let qc_passed = article.qc_passed;
        let written = insert_article(&txn, job, article_id, version, article, now).await?;
        if !matches!(written, sea_orm::TryInsertResult::Inserted(n) if n > 0) {
            // Written before under this version: the item points at that row.
            if let Some(a) = article::Entity::find()
                .filter(article::Column::JobId.eq(job.id))
                .filter(article::Column::Version.eq(version))
                .one(&txn)
                .await?
            {
                article_id = a.id;
            }
        }
        review_back = review::article_stored(
            &txn,
            job,
            item,
            review::StoredVersion {
                article_id,
                version,
                qc_passed,
                qc_report: &qc_report,
            },
            now,
        )
        .await?;
    }
    let mut batch_now = None;
    // A lost regeneration changes nothing a subscriber hasn't heard: the job keeps its article.
    if !regeneration_lost {
        let error = error_code.zip(error_message.as_deref());
        crate::webhooks::events::job_ended(&txn, job, status, error, now).await?;
    }
    if let Some(batch_id) = job.batch_id {
        batch_now = batch_counters::finished(&txn, batch_id, status, first_try, now).await?;
    }
    txn.commit().await?;
    Ok(Recorded {
        written: true,
        status,
        batch_now,
        review_back,
    })
}

/// One version of a job's article; a version written before (a repeated delivery) is kept.
async fn insert_article(
    txn: &sea_orm::DatabaseTransaction,
    job: &job::Model,
    id: uuid::Uuid,
    version: i32,
    article: ArticleToStore,
    now: chrono::DateTime<Utc>,
) -> Result<sea_orm::TryInsertResult<u64>, DbErr> {
    article::Entity::insert(article::ActiveModel {
        id: Set(id),
        job_id: Set(job.id),
        org_id: Set(job.org_id),
        version: Set(version),
        title: Set(article.title),
        body_markdown: Set(article.body_markdown),
        word_count: Set(article.word_count),
        language: Set(Some(article.language)),
        provider: Set(article.provider),
        model: Set(article.model),
        created_at: Set(now),
        meta_description: Set(article.meta_description),
        qc_passed: Set(article.qc_passed),
        qc_report: Set(Some(article.qc_report)),
        trust_links: Set(Some(article.trust_links)),
        autofixes: Set(Some(article.autofixes)),
        regenerations: Set(article.regenerations),
        context_report: Set(Some(article.context_report)),
        deployment: Set(Some(article.deployment)),
    })
    .on_conflict_do_nothing_on([article::Column::JobId, article::Column::Version])
    .exec_without_returning(txn)
    .await
}

/// Writes each call once (a repeated outcome of the same attempt finds them written) and
/// returns the usage of the calls this run actually wrote.
async fn insert_calls(
    txn: &sea_orm::DatabaseTransaction,
    job: &job::Model,
    calls: &[CallRecord],
) -> Result<Usage, DbErr> {
    let now = Utc::now();
    let mut usage = Usage {
        tokens_in: 0,
        tokens_out: 0,
        cost_micros: 0,
    };
    for (seq, call) in calls.iter().enumerate() {
        let row = llm_call::ActiveModel {
            id: Set(LlmCallId::new().uuid()),
            org_id: Set(job.org_id),
            job_id: Set(job.id),
            batch_id: Set(job.batch_id),
            attempt: Set(job.attempts),
            seq: Set(seq as i32),
            provider: Set(call.provider.clone()),
            model: Set(call.model.clone()),
            outcome: Set(call.outcome.to_owned()),
            http_status: Set(call.http_status.map(i32::from)),
            tokens_in: Set(call.tokens_in),
            tokens_cached: Set(call.tokens_cached),
            tokens_out: Set(call.tokens_out),
            cost_micros: Set(call.cost_micros),
            latency_ms: Set(call.latency_ms),
            error: Set(call.error.clone()),
            created_at: Set(now),
            retry_after_ms: Set(call.retry_after_ms),
            tokens_reasoning: Set(call.tokens_reasoning),
            tokens_cache_write: Set(call.tokens_cache_write),
            purpose: Set(call.purpose.as_ref().map(|p| p.as_str().to_owned())),
            regenerated_for: Set(call.purpose.as_ref().and_then(|p| p.reason())),
        };
        let written = llm_call::Entity::insert(row)
            .on_conflict_do_nothing_on([
                llm_call::Column::JobId,
                llm_call::Column::Attempt,
                llm_call::Column::Seq,
            ])
            .exec_without_returning(txn)
            .await?;
        if matches!(written, sea_orm::TryInsertResult::Inserted(n) if n > 0) {
            usage.tokens_in += call.tokens_in;
            usage.tokens_out += call.tokens_out;
            usage.cost_micros += call.cost_micros;
        }
    }
    Ok(usage)
}

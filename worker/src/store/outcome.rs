use chrono::Utc;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, TransactionTrait, sea_query::Expr,
};

use bacowr_shared::{
    domain::JobStatus,
    entities::{article, job, llm_call},
    ids::{ArticleId, LlmCallId},
};

use super::batch_counters::{self, Usage};
use crate::pipeline::CallRecord;

#[derive(Clone)]
pub struct ArticleToStore {
    pub title: String,
    pub meta_description: Option<String>,
    pub body_markdown: String,
    pub word_count: i32,
    pub language: String,
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
    let now = Utc::now();
    let txn = db.begin().await?;
    let usage = insert_calls(&txn, job, calls).await?;
    // Spent tokens count whoever holds the lease now, so job, batch and organization totals
    // always equal the sum of the call log.
    batch_counters::add_usage(&txn, job, &usage, now).await?;

    let status = outcome.status();
    let (error_code, error_message) = match &outcome {
        Outcome::Failed { code, message } => (Some(*code), Some(message.clone())),
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
        return Ok(false);
    }

    let mut first_try = false;
    if let Outcome::Succeeded(article) | Outcome::NeedsReview(article) = outcome {
        first_try = article.first_try;
        let version = article::Entity::find()
            .filter(article::Column::JobId.eq(job.id))
            .count(&txn)
            .await? as i32
            + 1;
        article::Entity::insert(article::ActiveModel {
            id: Set(ArticleId::new().uuid()),
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
        })
        .on_conflict_do_nothing_on([article::Column::JobId, article::Column::Version])
        .exec_without_returning(&txn)
        .await?;
    }
    let error = error_code.zip(error_message.as_deref());
    crate::webhooks::events::job_ended(&txn, job, status, error, now).await?;
    if let Some(batch_id) = job.batch_id {
        batch_counters::finished(&txn, batch_id, status, first_try, now).await?;
    }
    txn.commit().await?;
    Ok(true)
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

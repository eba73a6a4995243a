//! Batch counters move in the same transaction as the job they count.

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, DatabaseTransaction, DbErr, EntityTrait, QueryFilter,
    sea_query::{Expr, ExprTrait},
};
use uuid::Uuid;

use bacowr_shared::{
    domain::{BatchStatus, JobStatus},
    entities::{batch, job},
};

/// Returns whether the batch went from queued to running.
pub async fn started(
    txn: &DatabaseTransaction,
    batch_id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    batch::move_counts(
        txn,
        batch_id,
        batch::Column::QueuedJobs,
        batch::Column::RunningJobs,
        1,
        now,
    )
    .await?;
    let flipped = batch::Entity::update_many()
        .col_expr(batch::Column::Status, Expr::value(BatchStatus::Running))
        .filter(batch::Column::Id.eq(batch_id))
        .filter(batch::Column::Status.eq(BatchStatus::Queued))
        .exec(txn)
        .await?;
    Ok(flipped.rows_affected > 0)
}

/// Adds one attempt's provider usage to its job and batch.
pub async fn add_usage(
    txn: &DatabaseTransaction,
    job: &job::Model,
    usage: &Usage,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    if usage.tokens_in == 0 && usage.tokens_out == 0 && usage.cost_micros == 0 {
        return Ok(());
    }
    job::Entity::update_many()
        .col_expr(
            job::Column::TokensIn,
            Expr::col(job::Column::TokensIn).add(usage.tokens_in),
        )
        .col_expr(
            job::Column::TokensOut,
            Expr::col(job::Column::TokensOut).add(usage.tokens_out),
        )
        .col_expr(
            job::Column::CostMicros,
            Expr::col(job::Column::CostMicros).add(usage.cost_micros),
        )
        .col_expr(job::Column::UpdatedAt, Expr::value(now))
        .filter(job::Column::Id.eq(job.id))
        .exec(txn)
        .await?;
    if let Some(batch_id) = job.batch_id {
        batch::Entity::update_many()
            .col_expr(
                batch::Column::TokensIn,
                Expr::col(batch::Column::TokensIn).add(usage.tokens_in),
            )
            .col_expr(
                batch::Column::TokensOut,
                Expr::col(batch::Column::TokensOut).add(usage.tokens_out),
            )
            .col_expr(
                batch::Column::CostMicros,
                Expr::col(batch::Column::CostMicros).add(usage.cost_micros),
            )
            .filter(batch::Column::Id.eq(batch_id))
            .exec(txn)
            .await?;
    }
    Ok(())
}

pub struct Usage {
    pub tokens_in: i64,
    pub tokens_out: i64,
    pub cost_micros: i64,
}

/// A running job ended in `status`; the batch is ready for review once nothing is left.
/// Returns the status the batch moved to, when this job was its last.
pub async fn finished(
    txn: &DatabaseTransaction,
    batch_id: Uuid,
    status: JobStatus,
    first_try: bool,
    now: DateTime<Utc>,
) -> Result<Option<BatchStatus>, DbErr> {
    let counter = match status {
        JobStatus::Succeeded => batch::Column::SucceededJobs,
        JobStatus::NeedsReview => batch::Column::NeedsReviewJobs,
        JobStatus::Failed => batch::Column::FailedJobs,
        JobStatus::Cancelled => batch::Column::CancelledJobs,
        JobStatus::Queued | JobStatus::Running => {
            return Err(DbErr::Custom(format!(
                "{status:?} is not a finished status"
            )));
        }
    };
    batch::Entity::update_many()
        .col_expr(
            batch::Column::RunningJobs,
            Expr::col(batch::Column::RunningJobs).sub(1),
        )
        .col_expr(counter, Expr::col(counter).add(1))
        .col_expr(
            batch::Column::FirstTryPassedJobs,
            Expr::col(batch::Column::FirstTryPassedJobs).add(i32::from(first_try)),
        )
        .col_expr(batch::Column::UpdatedAt, Expr::value(now))
        .filter(batch::Column::Id.eq(batch_id))
        .exec(txn)
        .await?;
    // Nothing left to run: ready for review; or, when reviewers had already decided items
    // before a retry reopened the batch, back in review (or completed, if the retried jobs
    // brought nothing new to review).
    // "Decided" is whether any reviewer has decided anything, not the current counts: an item
    // sent back for regeneration and returned to pending still means the review has begun.
    let reviewed = || {
        Expr::cust(
            "EXISTS (SELECT 1 FROM review_decisions d JOIN review_items i ON i.id = d.item_id \
             WHERE i.batch_id = batches.id AND d.reviewer IS NOT NULL)",
        )
    };
    let open =
        Expr::col(batch::Column::PendingItems).add(Expr::col(batch::Column::RegeneratingItems));
    for (status, when) in [
        (BatchStatus::ReadyForReview, reviewed().not()),
        (BatchStatus::InReview, reviewed().and(open.clone().gt(0))),
        (BatchStatus::Completed, reviewed().and(open.eq(0))),
    ] {
        let mut update = batch::Entity::update_many();
        // Only one of the three conditions holds.
        if status == BatchStatus::Completed {
            update = update.col_expr(batch::Column::CompletedAt, Expr::value(now));
        }
        let flipped = update
            .col_expr(batch::Column::Status, Expr::value(status))
            .col_expr(batch::Column::FinishedAt, Expr::value(now))
            .filter(batch::Column::Id.eq(batch_id))
            .filter(batch::Column::QueuedJobs.eq(0))
            .filter(batch::Column::RunningJobs.eq(0))
            .filter(batch::Column::Status.is_in([BatchStatus::Queued, BatchStatus::Running]))
            .filter(when)
            .exec(txn)
            .await?;
        if flipped.rows_affected > 0 {
            crate::webhooks::events::batch_moved(txn, batch_id, status, now).await?;
            return Ok(Some(status));
        }
    }
    Ok(None)
}

/// A running job went back to the queue (its worker died or shut down before finishing).
pub async fn requeued(
    txn: &DatabaseTransaction,
    batch_id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    batch::move_counts(
        txn,
        batch_id,
        batch::Column::RunningJobs,
        batch::Column::QueuedJobs,
        1,
        now,
    )
    .await
}

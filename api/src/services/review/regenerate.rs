//! `needs_regeneration`: the items' jobs go back to the queue carrying the reviewer's notes.
//! The dispatcher picks them up like any queued job (fairness, leases, recovery), and the
//! worker stores the result as the next article version and brings the item back to pending.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, sea_query::Expr};
use uuid::Uuid;

use bacowr_shared::{
    domain::JobStatus,
    entities::{batch, job, review_item},
    telemetry,
};

use crate::error::ApiError;

pub async fn requeue_jobs(
    txn: &DatabaseTransaction,
    batch: &batch::Model,
    items: &[review_item::Model],
    notes: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let job_ids: Vec<Uuid> = items.iter().map(|i| i.job_id).collect();
    let none = Option::<DateTime<Utc>>::None;
    let mut requeued = 0u64;
    for (status, counter) in [
        (JobStatus::Succeeded, batch::Column::SucceededJobs),
        (JobStatus::NeedsReview, batch::Column::NeedsReviewJobs),
    ] {
        let n = job::Entity::update_many()
            .col_expr(job::Column::Status, Expr::value(JobStatus::Queued))
            .col_expr(
                job::Column::ReviewFeedback,
                // Empty when the reviewer wrote nothing: still marks a review regeneration.
                Expr::value(Some(notes.unwrap_or_default().to_owned())),
            )
            // A new round of attempts; the count goes on, since it keys the call log.
            .col_expr(job::Column::AttemptFloor, Expr::col(job::Column::Attempts))
            .col_expr(job::Column::ErrorCode, Expr::value(Option::<String>::None))
            .col_expr(
                job::Column::ErrorMessage,
                Expr::value(Option::<String>::None),
            )
            .col_expr(job::Column::FinishedAt, Expr::value(none))
            .col_expr(job::Column::DispatchedAt, Expr::value(none))
            .col_expr(job::Column::NotBefore, Expr::value(none))
            .col_expr(
                job::Column::Traceparent,
                Expr::value(telemetry::current_traceparent()),
            )
            .col_expr(job::Column::UpdatedAt, Expr::value(now))
            .filter(job::Column::Id.is_in(job_ids.clone()))
            .filter(job::Column::Status.eq(status))
            .exec(txn)
            .await?
            .rows_affected;
        batch::move_counts(
            txn,
            batch.id,
            counter,
            batch::Column::QueuedJobs,
            i32::try_from(n).unwrap_or(i32::MAX),
            now,
        )
        .await?;
        requeued += n;
    }
    if requeued != job_ids.len() as u64 {
        // An item under review whose job is not finished: nothing is changed.
        return Err(ApiError::conflict(
            "status",
            "a job of these items is still running; read the items again",
        ));
    }
    Ok(())
}

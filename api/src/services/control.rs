//! Steering accepted work: cancelling a batch, and retrying failed jobs (the dead letter).
//! Each is one transaction of conditional updates, with the batch counters moved by the same
//! deltas, so they stay equal to the job states whatever runs concurrently.

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, DbErr, EntityTrait, QueryFilter,
    Statement, TransactionTrait,
    sea_query::{Expr, ExprTrait},
};
use uuid::Uuid;

use bacowr_shared::{
    domain::{BatchStatus, JobStatus},
    entities::{batch, job},
    events::{EventKind, LiveEvent},
    ids::{BatchId, JobId, OrgId},
    telemetry,
};

use crate::{error::ApiError, state::AppState};

/// The batch's queued jobs become `cancelled`; returns their ids.
///
/// Postgres: rows locked in id order, as the dispatcher locks the ones it marks, so two
/// multi-row updates over the same jobs can't deadlock. SQLite (the embedded build, #8) has no
/// `FOR UPDATE` and needs none: its writers take the database one at a time.
async fn cancel_queued_jobs(
    txn: &DatabaseTransaction,
    batch_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Vec<Uuid>, DbErr> {
    let backend = txn.get_database_backend();
    let sql = match backend {
        DbBackend::Sqlite => {
            "UPDATE jobs SET status = 'cancelled', finished_at = ?2, updated_at = ?2, \
             dispatched_at = NULL WHERE batch_id = ?1 AND status = 'queued' RETURNING id"
        }
        _ => {
            "UPDATE jobs SET status = 'cancelled', finished_at = $2, updated_at = $2, \
             dispatched_at = NULL WHERE id IN (SELECT id FROM jobs WHERE batch_id = $1 \
             AND status = 'queued' ORDER BY id FOR UPDATE) RETURNING id"
        }
    };
    Ok(txn
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [batch_id.into(), now.into()],
        ))
        .await?
        .iter()
        .filter_map(|row| row.try_get::<Uuid>("", "id").ok())
        .collect())
}

/// A status as its wire name, for messages (`in_review`).
pub fn state_name<T: serde::Serialize>(status: T) -> String {
    serde_json::to_value(status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Cancels a queued or running batch: its queued jobs become `cancelled` at once (no worker
/// can claim them afterwards), running ones stop before their next provider call. Cancelling
/// a cancelled batch answers it unchanged.
pub async fn cancel_batch(
    state: &AppState,
    org_id: OrgId,
    id: BatchId,
) -> Result<batch::Model, ApiError> {
    let now = Utc::now();
    let txn = state.db.begin().await?;
    let found = find_batch(&txn, org_id, id).await?;
    match found.status {
        BatchStatus::Cancelled => {
            txn.rollback().await?;
            return Ok(found);
        }
        // A retry can reopen a batch under review while reviewers' regenerations run; those
        // belong to the review, not to the generation a cancel stops.
        BatchStatus::Queued | BatchStatus::Running if found.regenerating_items > 0 => {
            return Err(ApiError::conflict(
                "status",
                format!(
                    "{} regeneration(s) asked for by reviewers are in progress; cancel once they are back in review",
                    found.regenerating_items
                ),
            ));
        }
        BatchStatus::Queued | BatchStatus::Running => {}
        other => {
            return Err(ApiError::conflict(
                "status",
                format!(
                    "the batch is {}; only a queued or running batch can be cancelled",
                    state_name(other)
                ),
            ));
        }
    }
    // Jobs first, then the batch: the order every writer uses (a claim or an outcome locks
    // its job, then the batch's counters), so cancelling never deadlocks with a worker.
    let cancelled = cancel_queued_jobs(&txn, id.uuid(), now).await?;
    let n = i32::try_from(cancelled.len()).unwrap_or(i32::MAX);
    let moved = batch::Entity::update_many()
        .col_expr(batch::Column::Status, Expr::value(BatchStatus::Cancelled))
        .col_expr(batch::Column::CancelledAt, Expr::value(now))
        .col_expr(batch::Column::FinishedAt, Expr::value(now))
        .col_expr(batch::Column::UpdatedAt, Expr::value(now))
        .col_expr(
            batch::Column::QueuedJobs,
            Expr::col(batch::Column::QueuedJobs).sub(n),
        )
        .col_expr(
            batch::Column::CancelledJobs,
            Expr::col(batch::Column::CancelledJobs).add(n),
        )
        .filter(batch::Column::Id.eq(id.uuid()))
        .filter(batch::Column::Status.is_in([BatchStatus::Queued, BatchStatus::Running]))
        .filter(batch::Column::RegeneratingItems.eq(0))
        .exec(&txn)
        .await?
        .rows_affected;
    if moved == 0 {
        // Another request cancelled it (or it finished) meanwhile: answer what it is now.
        txn.rollback().await?;
        let now_is = find_batch_in(&state.db, org_id, id).await?;
        if now_is.status == BatchStatus::Cancelled {
            return Ok(now_is);
        }
        return Err(ApiError::conflict(
            "status",
            format!(
                "the batch is {}; only a queued or running batch can be cancelled",
                state_name(now_is.status)
            ),
        ));
    }
    let updated = find_batch(&txn, org_id, id).await?;
    txn.commit().await?;
    tracing::info!(batch_id = %id, "batch cancelled");
    // Running jobs stop at their next stage; their workers announce them.
    let mut events: Vec<LiveEvent> = cancelled
        .into_iter()
        .map(|job| {
            job_event(
                EventKind::JobCancelled,
                org_id,
                Some(id.uuid()),
                job,
                JobStatus::Cancelled,
            )
        })
        .collect();
    events.push(LiveEvent::batch_status(org_id, id, BatchStatus::Cancelled));
    state.events.publish_many(&events).await;
    Ok(updated)
}

/// Puts one failed job back in the queue with a fresh set of attempts.
pub async fn retry_job(state: &AppState, org_id: OrgId, id: JobId) -> Result<job::Model, ApiError> {
    let txn = state.db.begin().await?;
    let found = job::Entity::find_by_id(id.uuid())
        .filter(job::Column::OrgId.eq(org_id.uuid()))
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::not_found("job", &id.to_string()))?;
    if found.status != JobStatus::Failed {
        return Err(ApiError::conflict(
            "status",
            format!(
                "the job is {}; only a failed job can be retried",
                state_name(found.status)
            ),
        ));
    }
    if let Some(batch_id) = found.batch_id {
        let batch = find_batch(&txn, org_id, BatchId::from_uuid(batch_id)).await?;
        refuse_cancelled(&batch)?;
    }
    let requeued = requeue_failed(&txn, job::Column::Id.eq(id.uuid())).await?;
    let n = i32::try_from(requeued.len()).unwrap_or(i32::MAX);
    if n == 0 {
        return Err(ApiError::conflict(
            "status",
            "the job changed meanwhile; read it again",
        ));
    }
    let mut reopened = false;
    if let Some(batch_id) = found.batch_id {
        reopened = reopen_batch(&txn, batch_id, n).await?;
    }
    let updated = job::Entity::find_by_id(id.uuid())
        .one(&txn)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("job just updated".into()))?;
    txn.commit().await?;
    crate::services::enqueue::wake_dispatcher(&state.backplane, &state.settings.redis.namespace)
        .await;
    publish_requeued(state, org_id, found.batch_id, &requeued, reopened).await;
    Ok(updated)
}

/// Puts every failed job of a batch back in the queue. Returns the batch and how many.
pub async fn retry_failed(
    state: &AppState,
    org_id: OrgId,
    id: BatchId,
) -> Result<(batch::Model, u64), ApiError> {
    let txn = state.db.begin().await?;
    let found = find_batch(&txn, org_id, id).await?;
    refuse_cancelled(&found)?;
    let requeued = requeue_failed(&txn, job::Column::BatchId.eq(id.uuid())).await?;
    let n = i32::try_from(requeued.len()).unwrap_or(i32::MAX);
    let mut reopened = false;
    if n > 0 {
        reopened = reopen_batch(&txn, id.uuid(), n).await?;
    }
    let updated = find_batch(&txn, org_id, id).await?;
    txn.commit().await?;
    if n > 0 {
        crate::services::enqueue::wake_dispatcher(
            &state.backplane,
            &state.settings.redis.namespace,
        )
        .await;
        publish_requeued(state, org_id, Some(id.uuid()), &requeued, reopened).await;
    }
    Ok((updated, u64::try_from(n).unwrap_or(0)))
}

fn refuse_cancelled(batch: &batch::Model) -> Result<(), ApiError> {
    if batch.status == BatchStatus::Cancelled {
        return Err(ApiError::conflict(
            "status",
            "the batch is cancelled; its jobs can't be retried",
        ));
    }
    Ok(())
}

async fn find_batch(
    txn: &DatabaseTransaction,
    org_id: OrgId,
    id: BatchId,
) -> Result<batch::Model, ApiError> {
    find_batch_in(txn, org_id, id).await
}

async fn find_batch_in(
    db: &impl sea_orm::ConnectionTrait,
    org_id: OrgId,
    id: BatchId,
) -> Result<batch::Model, ApiError> {
    batch::Entity::find_by_id(id.uuid())
        .filter(batch::Column::OrgId.eq(org_id.uuid()))
        .one(db)
        .await?
        .ok_or_else(|| ApiError::not_found("batch", &id.to_string()))
}

/// Returns the ids of the jobs put back in the queue.
async fn requeue_failed(
    txn: &DatabaseTransaction,
    which: sea_orm::sea_query::SimpleExpr,
) -> Result<Vec<Uuid>, DbErr> {
    let now = Utc::now();
    let none = Option::<DateTime<Utc>>::None;
    let n = job::Entity::update_many()
        .col_expr(job::Column::Status, Expr::value(JobStatus::Queued))
        // A new round of attempts; the count itself goes on, since it keys the call log.
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
        .filter(which)
        .filter(job::Column::Status.eq(JobStatus::Failed))
        .exec_with_returning(txn)
        .await?;
    Ok(n.into_iter().map(|j| j.id).collect())
}

/// `n` failed jobs of the batch are queued again: the batch is running again. Returns
/// whether its status changed.
async fn reopen_batch(txn: &DatabaseTransaction, batch_id: Uuid, n: i32) -> Result<bool, DbErr> {
    batch::move_counts(
        txn,
        batch_id,
        batch::Column::FailedJobs,
        batch::Column::QueuedJobs,
        n,
        Utc::now(),
    )
    .await?;
    batch::Entity::update_many()
        .col_expr(batch::Column::Status, Expr::value(BatchStatus::Running))
        .col_expr(
            batch::Column::FinishedAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(batch::Column::Id.eq(batch_id))
        .filter(batch::Column::Status.is_in([
            BatchStatus::ReadyForReview,
            BatchStatus::InReview,
            BatchStatus::Completed,
        ]))
        .exec(txn)
        .await
        .map(|r| r.rows_affected > 0)
}

fn job_event(
    kind: EventKind,
    org_id: OrgId,
    batch_id: Option<Uuid>,
    job_id: Uuid,
    status: JobStatus,
) -> LiveEvent {
    LiveEvent::job(
        kind,
        org_id,
        batch_id.map(BatchId::from_uuid),
        JobId::from_uuid(job_id),
        status,
        if kind == EventKind::JobCancelled {
            serde_json::json!({ "reason": "batch_cancelled" })
        } else {
            serde_json::json!({ "retry": true })
        },
    )
}

/// After commit: retried jobs are queued again, and their batch running again if it had
/// finished.
async fn publish_requeued(
    state: &AppState,
    org_id: OrgId,
    batch_id: Option<Uuid>,
    jobs: &[Uuid],
    reopened: bool,
) {
    let mut events: Vec<LiveEvent> = Vec::with_capacity(jobs.len() + 1);
    if reopened && let Some(b) = batch_id {
        events.push(LiveEvent::batch_status(
            org_id,
            BatchId::from_uuid(b),
            BatchStatus::Running,
        ));
    }
    events.extend(jobs.iter().map(|j| {
        job_event(
            EventKind::JobQueued,
            org_id,
            batch_id,
            *j,
            JobStatus::Queued,
        )
    }));
    state.events.publish_many(&events).await;
}

#[cfg(test)]
#[path = "control_tests.rs"]
mod tests;

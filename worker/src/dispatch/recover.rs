//! Finding work that the queue lost or a dead worker dropped, and putting it back in line.

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, FromQueryResult,
    QueryFilter, QueryOrder, QuerySelect, Statement, TransactionTrait, sea_query::Expr,
};

use bacowr_shared::{
    config::Settings,
    domain::{BatchStatus, JobStatus, ReviewStatus},
    entities::{batch, job},
    error::job_errors,
    ids::JobId,
    infra::Queues,
    queue,
};

use crate::store::batch_counters;

/// A failed dispatcher step, telling a database failure (which pauses lease expiry) from a
/// queue one.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error("database: {0}")]
    Postgres(#[from] DbErr),
    #[error("Redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("queue file: {0}")]
    QueueFile(#[from] apalis_sqlite::SqlxError),
}

/// A fresh queue (Redis flushed, or restarted without persistence; a new queue file) has
/// lost every task: forget which queued jobs were dispatched so they are pushed again. The
/// marker is written when the dispatcher first sees the queue; its absence is how the loss
/// shows.
pub async fn after_redis_reset(
    db: &DatabaseConnection,
    queues: &Queues,
    namespace: &str,
) -> Result<u64, StepError> {
    if !super::queues::fresh(queues, namespace).await? {
        return Ok(0);
    }
    let reset = job::Entity::update_many()
        .col_expr(
            job::Column::DispatchedAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(job::Column::Status.eq(JobStatus::Queued))
        .filter(job::Column::DispatchedAt.is_not_null())
        .exec(db)
        .await?
        .rows_affected;
    if reset > 0 {
        tracing::warn!(
            jobs = reset,
            "the queue holds none of our tasks (Redis flushed or restarted, or a new queue file); re-dispatching"
        );
    }
    Ok(reset)
}

/// Queued jobs dispatched more than `after` ago whose task Redis no longer holds (lost, or
/// run without being claimed): un-marked, so the next pick pushes them again.
pub async fn lost_tasks(
    db: &DatabaseConnection,
    queues: &Queues,
    settings: &Settings,
    before: DateTime<Utc>,
    give_up: DateTime<Utc>,
) -> Result<u64, StepError> {
    let stale: Vec<(uuid::Uuid, i32, DateTime<Utc>)> = job::Entity::find()
        .select_only()
        .column(job::Column::Id)
        .column(job::Column::Dispatches)
        .column(job::Column::DispatchedAt)
        .filter(job::Column::Status.eq(JobStatus::Queued))
        .filter(job::Column::DispatchedAt.lt(before))
        .order_by_asc(job::Column::DispatchedAt)
        .limit(1000)
        .into_tuple()
        .all(db)
        .await?;
    if stale.is_empty() {
        return Ok(0);
    }
    let tasks: Vec<String> = stale
        .iter()
        .map(|(id, dispatches, _)| queue::task_id(JobId::from_uuid(*id), *dispatches))
        .collect();
    let statuses = super::queues::statuses(queues, settings, &tasks).await?;
    let mut requeued = 0;
    for ((id, dispatches, dispatched_at), status) in stale.iter().zip(statuses) {
        // Pending: still waiting in Redis. Running: a worker holds it. Failed: apalis will run
        // it again (an infrastructure error). Anything else, or nothing, means it's gone.
        // Past `give_up` it is pushed again whatever apalis says (a task wedged in a live
        // worker's in-flight set): a duplicate is harmless, the claim sees to that.
        let waiting = matches!(
            status.as_deref(),
            Some("Pending" | "Queued" | "Running" | "Failed")
        );
        if waiting && *dispatched_at >= give_up {
            continue;
        }
        requeued += job::Entity::update_many()
            .col_expr(
                job::Column::DispatchedAt,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(job::Column::Id.eq(*id))
            .filter(job::Column::Status.eq(JobStatus::Queued))
            .filter(job::Column::Dispatches.eq(*dispatches))
            .exec(db)
            .await?
            .rows_affected;
    }
    if requeued > 0 {
        tracing::warn!(
            jobs = requeued,
            "dispatched jobs were never delivered; re-dispatching"
        );
    }
    Ok(requeued)
}

/// Running jobs whose lease lapsed (their worker died or lost Postgres): back to the queue,
/// or `failed` once they have used their attempts, or `cancelled` if their batch was.
pub async fn expired_leases(
    db: &DatabaseConnection,
    events: &bacowr_shared::events::Publisher,
    max_attempts: u32,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let expired = job::Entity::find()
        .filter(job::Column::Status.eq(JobStatus::Running))
        .filter(job::Column::LeaseExpiresAt.lt(now))
        .limit(500)
        .all(db)
        .await?;
    let mut moved = 0;
    for found in expired {
        moved += u64::from(release_expired(db, events, &found, max_attempts, now).await?);
    }
    Ok(moved)
}

async fn release_expired(
    db: &DatabaseConnection,
    events: &bacowr_shared::events::Publisher,
    found: &job::Model,
    max_attempts: u32,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    // It reads before it writes: on SQLite a deferred transaction would then fail with
    // SQLITE_BUSY when another connection wrote meanwhile (no busy wait can save a read
    // snapshot), and a failed step pauses lease expiry. Immediate takes the write lock first,
    // waiting its turn; Postgres ignores the mode.
    let txn = db
        .begin_with_options(sea_orm::TransactionOptions {
            sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
            ..Default::default()
        })
        .await?;
    let cancelled = match found.batch_id {
        Some(id) => batch::Entity::find_by_id(id)
            .one(&txn)
            .await?
            .is_some_and(|b| b.status == BatchStatus::Cancelled),
        None => false,
    };
    let out_of_attempts =
        found.attempts - found.attempt_floor >= i32::try_from(max_attempts).unwrap_or(i32::MAX);
    let mut status = if cancelled {
        JobStatus::Cancelled
    } else if out_of_attempts {
        JobStatus::Failed
    } else {
        JobStatus::Queued
    };
    // A reviewer's regeneration that can't go on leaves the job with the article it has.
    let item = crate::store::review::find(&txn, found.id)
        .await?
        .filter(|i| i.status == ReviewStatus::Regenerating);
    let regeneration_lost = status.is_terminal() && item.is_some();
    if regeneration_lost {
        status = match &item {
            Some(i) if i.qc_passed => JobStatus::Succeeded,
            _ => JobStatus::NeedsReview,
        };
    }
    let mut update = job::Entity::update_many()
        .col_expr(job::Column::Status, Expr::value(status))
        .col_expr(job::Column::LeaseOwner, Expr::value(Option::<String>::None))
        .col_expr(
            job::Column::LeaseExpiresAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(
            job::Column::DispatchedAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(job::Column::UpdatedAt, Expr::value(now));
    let lost = format!(
        "the job's worker stopped or lost its lease on each of {} attempts",
        found.attempts - found.attempt_floor
    );
    if status == JobStatus::Failed {
        update = update
            .col_expr(job::Column::ErrorCode, Expr::value(job_errors::WORKER_LOST))
            .col_expr(job::Column::ErrorMessage, Expr::value(lost.as_str()));
    }
    if status.is_terminal() {
        update = update.col_expr(job::Column::FinishedAt, Expr::value(now));
    }
    let moved = update
        .filter(job::Column::Id.eq(found.id))
        .filter(job::Column::Status.eq(JobStatus::Running))
        .filter(job::Column::LeaseExpiresAt.eq(found.lease_expires_at))
        .exec(&txn)
        .await?
        .rows_affected
        == 1;
    if !moved {
        txn.rollback().await?;
        return Ok(false);
    }
    let mut batch_now = None;
    if let (true, Some(item)) = (regeneration_lost, &item) {
        crate::store::review::regeneration_lost(&txn, item, &lost, now).await?;
    } else {
        let error = Some((job_errors::WORKER_LOST, lost.as_str()));
        crate::webhooks::events::job_ended(&txn, found, status, error, now).await?;
    }
    if let Some(batch_id) = found.batch_id {
        if status == JobStatus::Queued {
            batch_counters::requeued(&txn, batch_id, now).await?;
        } else {
            batch_now = batch_counters::finished(&txn, batch_id, status, false, now).await?;
        }
    }
    txn.commit().await?;
    crate::live::released(events, found, status, batch_now).await;
    tracing::warn!(job_id = %JobId::from_uuid(found.id), attempts = found.attempts, ?status, owner = ?found.lease_owner, "lease expired; job released");
    Ok(true)
}

/// Queued jobs of a cancelled batch (a retry or a release that raced the cancel): cancelled
/// too, so nothing starts after a cancel. Jobs before the batch row, as every writer locks.
pub async fn cancelled_stragglers(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    #[derive(FromQueryResult)]
    struct Straggler {
        batch_id: uuid::Uuid,
    }
    let txn = db.begin().await?;
    let found = Straggler::find_by_statement(Statement::from_sql_and_values(
        txn.get_database_backend(),
        "UPDATE jobs SET status = 'cancelled', finished_at = $1, updated_at = $1, \
         dispatched_at = NULL WHERE status = 'queued' AND batch_id IN \
         (SELECT id FROM batches WHERE status = 'cancelled') RETURNING batch_id",
        [now.into()],
    ))
    .all(&txn)
    .await?;
    let mut per_batch: std::collections::BTreeMap<uuid::Uuid, i32> = Default::default();
    for s in &found {
        *per_batch.entry(s.batch_id).or_default() += 1;
    }
    for (batch_id, n) in &per_batch {
        batch::move_counts(
            &txn,
            *batch_id,
            batch::Column::QueuedJobs,
            batch::Column::CancelledJobs,
            *n,
            now,
        )
        .await?;
    }
    txn.commit().await?;
    if !found.is_empty() {
        tracing::warn!(
            jobs = found.len(),
            "queued jobs of cancelled batches cancelled"
        );
    }
    Ok(found.len() as u64)
}

#[cfg(test)]
#[path = "recover_tests.rs"]
mod tests;

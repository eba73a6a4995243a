//! A claimed job's life between claim and outcome: checkpoints between stages, and handing
//! work back at shutdown.

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, FromQueryResult,
    QueryFilter, Statement, TransactionTrait, sea_query::Expr,
};
use uuid::Uuid;

use bacowr_shared::{domain::JobStatus, entities::job, ids::JobId};

use super::batch_counters;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checkpoint {
    Continue,
    /// The batch was cancelled: spend nothing more.
    Cancelled,
    /// Another worker owns the job now (this one's lease lapsed).
    LeaseLost,
}

/// Whether the attempt may go on to its next stage (the next provider call). A failed check
/// goes on: a Postgres hiccup must not abort paid-for work.
pub async fn checkpoint(db: &DatabaseConnection, job: &job::Model, owner: &str) -> Checkpoint {
    #[derive(FromQueryResult)]
    struct Row {
        status: String,
        lease_owner: Option<String>,
        attempts: i32,
        cancelled: bool,
    }
    let sql = "SELECT j.status AS status, j.lease_owner AS lease_owner, j.attempts AS attempts, \
               COALESCE(b.status = 'cancelled', false) AS cancelled \
               FROM jobs j LEFT JOIN batches b ON b.id = j.batch_id WHERE j.id = $1";
    let row = Row::find_by_statement(Statement::from_sql_and_values(
        db.get_database_backend(),
        sql,
        [job.id.into()],
    ))
    .one(db)
    .await;
    match row {
        Ok(Some(r)) if r.cancelled => Checkpoint::Cancelled,
        Ok(Some(r))
            if r.status != "running"
                || r.lease_owner.as_deref() != Some(owner)
                || r.attempts != job.attempts =>
        {
            Checkpoint::LeaseLost
        }
        Ok(None) => Checkpoint::LeaseLost,
        _ => Checkpoint::Continue,
    }
}

/// A task this process won't run (it is shutting down): forget the job's dispatch so the
/// dispatcher pushes it again at once instead of waiting for the lost-task check.
pub async fn undispatch(db: &DatabaseConnection, job_id: JobId) -> Result<(), DbErr> {
    job::Entity::update_many()
        .col_expr(
            job::Column::DispatchedAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(job::Column::Id.eq(job_id.uuid()))
        .filter(job::Column::Status.eq(JobStatus::Queued))
        .exec(db)
        .await?;
    Ok(())
}

/// Graceful shutdown: every job this worker still holds goes back to the queue, lease
/// cleared, its attempt not counted (it did not fail). Returns how many.
pub async fn release_owned(db: &DatabaseConnection, owner: &str) -> Result<u64, DbErr> {
    #[derive(FromQueryResult)]
    struct Released {
        batch_id: Option<Uuid>,
        status: String,
    }
    let now = Utc::now();
    let txn = db.begin().await?;
    let released = Released::find_by_statement(Statement::from_sql_and_values(
        txn.get_database_backend(),
        // A job of a batch cancelled meanwhile ends cancelled instead: nothing starts again.
        "UPDATE jobs SET status = CASE WHEN EXISTS (SELECT 1 FROM batches b \
         WHERE b.id = jobs.batch_id AND b.status = 'cancelled') THEN 'cancelled' ELSE 'queued' END, \
         finished_at = CASE WHEN EXISTS (SELECT 1 FROM batches b \
         WHERE b.id = jobs.batch_id AND b.status = 'cancelled') THEN $2 ELSE NULL END, \
         lease_owner = NULL, lease_expires_at = NULL, dispatched_at = NULL, \
         attempts = GREATEST(attempts - 1, 0), updated_at = $2 \
         WHERE lease_owner = $1 AND status = 'running' RETURNING batch_id, status",
        [owner.into(), now.into()],
    ))
    .all(&txn)
    .await?;
    for r in &released {
        let Some(batch_id) = r.batch_id else { continue };
        if r.status == "cancelled" {
            batch_counters::finished(&txn, batch_id, JobStatus::Cancelled, false, now).await?;
        } else {
            batch_counters::requeued(&txn, batch_id, now).await?;
        }
    }
    txn.commit().await?;
    Ok(released.len() as u64)
}

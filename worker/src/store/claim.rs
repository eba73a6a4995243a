use std::time::Duration;

use chrono::Utc;
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, DbErr, EntityTrait, QueryFilter, TransactionTrait,
    sea_query::{Expr, ExprTrait, Query},
};

use bacowr_shared::{
    domain::{BatchStatus, JobStatus},
    entities::{batch, job},
    ids::{JobId, OrgId},
};

use super::batch_counters;

/// Not in a cancelled batch: nothing starts after a cancel.
fn not_cancelled() -> Condition {
    Condition::any().add(job::Column::BatchId.is_null()).add(
        job::Column::BatchId.not_in_subquery(
            Query::select()
                .column(batch::Column::Id)
                .from(batch::Entity)
                .and_where(batch::Column::Status.eq(BatchStatus::Cancelled))
                .to_owned(),
        ),
    )
}

/// Takes the job for `owner` if it is queued, or running under a lease that has expired (its
/// worker died) with attempts left in this round (first run, retry or regeneration). Returns `None` when someone else holds it, it is
/// finished, or its batch is cancelled.
pub async fn claim(
    db: &DatabaseConnection,
    job_id: JobId,
    org_id: OrgId,
    owner: &str,
    lease: Duration,
    max_attempts: u32,
) -> Result<Option<job::Model>, DbErr> {
    Ok(
        claim_reporting(db, job_id, org_id, owner, lease, max_attempts)
            .await?
            .map(|c| c.job),
    )
}

/// A claimed job, and whether claiming it started its batch (queued → running).
pub struct Claimed {
    pub job: job::Model,
    pub batch_started: bool,
}

/// [`claim`], telling also whether the batch started (for its live event).
pub async fn claim_reporting(
    db: &DatabaseConnection,
    job_id: JobId,
    org_id: OrgId,
    owner: &str,
    lease: Duration,
    max_attempts: u32,
) -> Result<Option<Claimed>, DbErr> {
    let now = Utc::now();
    let expires = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::minutes(5));
    let txn = db.begin().await?;
    let take = || {
        job::Entity::update_many()
            .col_expr(job::Column::Status, Expr::value(JobStatus::Running))
            .col_expr(
                job::Column::Attempts,
                Expr::col(job::Column::Attempts).add(1),
            )
            .col_expr(job::Column::LeaseOwner, Expr::value(owner))
            .col_expr(job::Column::LeaseExpiresAt, Expr::value(expires))
            .col_expr(job::Column::StartedAt, Expr::value(now))
            .col_expr(job::Column::UpdatedAt, Expr::value(now))
            .filter(job::Column::Id.eq(job_id.uuid()))
            .filter(job::Column::OrgId.eq(org_id.uuid()))
    };
    let fresh = take()
        .filter(job::Column::Status.eq(JobStatus::Queued))
        .filter(not_cancelled())
        .exec(&txn)
        .await?
        .rows_affected;
    if fresh == 1 {
        let job = job::Entity::find_by_id(job_id.uuid()).one(&txn).await?;
        let mut batch_started = false;
        if let Some(batch_id) = job.as_ref().and_then(|j| j.batch_id) {
            batch_started = batch_counters::started(&txn, batch_id, now).await?;
        }
        txn.commit().await?;
        return Ok(job.map(|job| Claimed { job, batch_started }));
    }
    // A running job whose lease lapsed: its worker is gone. The counters already say running.
    // Only within its attempts; past them the dispatcher marks it failed.
    let reclaimed = take()
        .filter(job::Column::Status.eq(JobStatus::Running))
        .filter(job::Column::LeaseExpiresAt.lt(now))
        .filter(
            Expr::col(job::Column::Attempts)
                .sub(Expr::col(job::Column::AttemptFloor))
                .lt(i32::try_from(max_attempts).unwrap_or(i32::MAX)),
        )
        .filter(not_cancelled())
        .exec(&txn)
        .await?
        .rows_affected;
    if reclaimed == 1 {
        let job = job::Entity::find_by_id(job_id.uuid()).one(&txn).await?;
        txn.commit().await?;
        return Ok(job.map(|job| Claimed {
            job,
            batch_started: false,
        }));
    }
    txn.rollback().await?;
    Ok(None)
}

//! A claimed job's life between claim and outcome: checkpoints between stages, and handing
//! work back at shutdown.

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, FromQueryResult, QueryFilter,
    Statement, TransactionTrait, sea_query::Expr,
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
    let backend = db.get_database_backend();
    let sql = match backend {
        // SQLite (the embedded build, #8): a comparison is 0 or 1, read back as a bool.
        DbBackend::Sqlite => {
            "SELECT j.status AS status, j.lease_owner AS lease_owner, j.attempts AS attempts, \
             COALESCE(b.status = 'cancelled', false) AS cancelled \
             FROM jobs j LEFT JOIN batches b ON b.id = j.batch_id WHERE j.id = ?1"
        }
        _ => {
            "SELECT j.status AS status, j.lease_owner AS lease_owner, j.attempts AS attempts, \
             COALESCE(b.status = 'cancelled', false) AS cancelled \
             FROM jobs j LEFT JOIN batches b ON b.id = j.batch_id WHERE j.id = $1"
        }
    };
    let row = Row::find_by_statement(Statement::from_sql_and_values(
        backend,
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
    let backend = db.get_database_backend();
    // A job of a batch cancelled meanwhile ends cancelled instead: nothing starts again.
    let sql = match backend {
        // SQLite (the embedded build, #8): the two-argument `MAX` is its `GREATEST`.
        DbBackend::Sqlite => {
            "UPDATE jobs SET status = CASE WHEN EXISTS (SELECT 1 FROM batches b \
                 WHERE b.id = jobs.batch_id AND b.status = 'cancelled') THEN 'cancelled' ELSE 'queued' END, \
                 finished_at = CASE WHEN EXISTS (SELECT 1 FROM batches b \
             WHERE b.id = jobs.batch_id AND b.status = 'cancelled') THEN ?2 ELSE NULL END, \
                 lease_owner = NULL, lease_expires_at = NULL, dispatched_at = NULL, \
             attempts = MAX(attempts - 1, 0), updated_at = ?2 \
             WHERE lease_owner = ?1 AND status = 'running' RETURNING batch_id, status"
        }
        _ => {
            "UPDATE jobs SET status = CASE WHEN EXISTS (SELECT 1 FROM batches b \
             WHERE b.id = jobs.batch_id AND b.status = 'cancelled') THEN 'cancelled' ELSE 'queued' END, \
             finished_at = CASE WHEN EXISTS (SELECT 1 FROM batches b \
             WHERE b.id = jobs.batch_id AND b.status = 'cancelled') THEN $2 ELSE NULL END, \
             lease_owner = NULL, lease_expires_at = NULL, dispatched_at = NULL, \
             attempts = GREATEST(attempts - 1, 0), updated_at = $2 \
             WHERE lease_owner = $1 AND status = 'running' RETURNING batch_id, status"
        }
    };
    let txn = db.begin().await?;
    let released = Released::find_by_statement(Statement::from_sql_and_values(
        backend,
        sql,
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

#[cfg(test)]
mod tests {
    //! The two statements on SQLite (the embedded build, #8); Postgres is covered by the
    //! worker's integration tests.

    use bacowr_migrations::{Migrator, MigratorTrait};
    use bacowr_shared::{domain::BatchStatus, entities::batch};
    use chrono::Duration;
    use sea_orm::{ActiveModelTrait, Database, IntoActiveModel};

    use bacowr_shared::testing::fixtures;

    use super::*;

    async fn sqlite() -> DatabaseConnection {
        let db = Database::connect("sqlite::memory:").await.unwrap();
        assert_eq!(db.get_database_backend(), DbBackend::Sqlite);
        Migrator::up(&db, None).await.unwrap();
        db
    }

    async fn seed_batch(db: &DatabaseConnection, org: Uuid, status: BatchStatus) -> Uuid {
        let id = Uuid::now_v7();
        let mut model = batch::Model::new_queued(id, org, None, 1, Utc::now());
        model.status = status;
        model.running_jobs = 1;
        model.queued_jobs = 0;
        model.into_active_model().insert(db).await.unwrap();
        id
    }

    async fn running(
        db: &DatabaseConnection,
        org: Uuid,
        batch: Uuid,
        owner: &str,
        attempts: i32,
    ) -> job::Model {
        let now = Utc::now();
        job::Model {
            id: Uuid::now_v7(),
            anchor_text: "anchor".into(),
            status: JobStatus::Running,
            attempts,
            lease_owner: Some(owner.into()),
            lease_expires_at: Some(now + Duration::minutes(5)),
            started_at: Some(now),
            dispatched_at: Some(now),
            dispatches: 1,
            ..fixtures::job(org, Some(batch), 0, now)
        }
        .into_active_model()
        .insert(db)
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn sqlite_checkpoints_and_releases_owned_jobs() {
        let db = sqlite().await;
        let org = Uuid::now_v7();
        fixtures::organization(org, "Embedded", Utc::now())
            .into_active_model()
            .insert(&db)
            .await
            .unwrap();
        let open = seed_batch(&db, org, BatchStatus::Running).await;
        let cancelled = seed_batch(&db, org, BatchStatus::Cancelled).await;
        let mine = running(&db, org, open, "w1", 2).await;
        let doomed = running(&db, org, cancelled, "w1", 1).await;
        let theirs = running(&db, org, open, "w2", 1).await;

        assert_eq!(checkpoint(&db, &mine, "w1").await, Checkpoint::Continue);
        assert_eq!(checkpoint(&db, &mine, "w2").await, Checkpoint::LeaseLost);
        assert_eq!(checkpoint(&db, &doomed, "w1").await, Checkpoint::Cancelled);
        let mut stale = theirs.clone();
        stale.attempts = 0;
        assert_eq!(checkpoint(&db, &stale, "w2").await, Checkpoint::LeaseLost);

        assert_eq!(release_owned(&db, "w1").await.unwrap(), 2);
        let mine = job::Entity::find_by_id(mine.id)
            .one(&db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(mine.status, JobStatus::Queued);
        assert_eq!(mine.attempts, 1, "the attempt is not counted");
        assert_eq!(
            (mine.lease_owner.as_deref(), mine.lease_expires_at),
            (None, None)
        );
        assert_eq!((mine.dispatched_at, mine.finished_at), (None, None));
        let doomed = job::Entity::find_by_id(doomed.id)
            .one(&db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(doomed.status, JobStatus::Cancelled);
        assert_eq!(doomed.attempts, 0);
        assert!(doomed.finished_at.is_some());
        let theirs = job::Entity::find_by_id(theirs.id)
            .one(&db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(theirs.status, JobStatus::Running);
        assert_eq!(theirs.lease_owner.as_deref(), Some("w2"));
        assert_eq!(checkpoint(&db, &mine, "w1").await, Checkpoint::LeaseLost);

        let open = batch::Entity::find_by_id(open)
            .one(&db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((open.queued_jobs, open.running_jobs), (1, 0));
        assert_eq!(release_owned(&db, "w1").await.unwrap(), 0);
    }
}

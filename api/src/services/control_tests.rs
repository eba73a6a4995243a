//! The cancelling statement on SQLite (the embedded build, #8); Postgres is covered by the
//! API's integration tests (`control.rs`).

use bacowr_migrations::{Migrator, MigratorTrait};
use sea_orm::{ActiveModelTrait, Database, DatabaseConnection, IntoActiveModel};

use bacowr_shared::testing::fixtures;

use super::*;

async fn seed_job(
    db: &DatabaseConnection,
    org: Uuid,
    batch: Uuid,
    row: i32,
    status: JobStatus,
) -> Uuid {
    let now = Utc::now();
    let id = Uuid::now_v7();
    job::Model {
        id,
        status,
        dispatched_at: Some(now),
        dispatches: 1,
        ..fixtures::job(org, Some(batch), row, now)
    }
    .into_active_model()
    .insert(db)
    .await
    .unwrap();
    id
}

#[tokio::test]
async fn sqlite_cancels_the_queued_jobs_of_the_batch_only() {
    let db = Database::connect("sqlite::memory:").await.unwrap();
    assert_eq!(db.get_database_backend(), DbBackend::Sqlite);
    Migrator::up(&db, None).await.unwrap();
    let org = Uuid::now_v7();
    fixtures::organization(org, "Embedded", Utc::now())
        .into_active_model()
        .insert(&db)
        .await
        .unwrap();
    let (target, other) = (Uuid::now_v7(), Uuid::now_v7());
    for id in [target, other] {
        batch::Model::new_queued(id, org, None, 3, Utc::now())
            .into_active_model()
            .insert(&db)
            .await
            .unwrap();
    }
    let q1 = seed_job(&db, org, target, 0, JobStatus::Queued).await;
    let q2 = seed_job(&db, org, target, 1, JobStatus::Queued).await;
    let running = seed_job(&db, org, target, 2, JobStatus::Running).await;
    let elsewhere = seed_job(&db, org, other, 0, JobStatus::Queued).await;

    let now = Utc::now();
    let txn = db.begin().await.unwrap();
    let mut cancelled = cancel_queued_jobs(&txn, target, now).await.unwrap();
    txn.commit().await.unwrap();
    cancelled.sort();
    assert_eq!(cancelled, vec![q1, q2]);
    for id in [q1, q2] {
        let j = job::Entity::find_by_id(id).one(&db).await.unwrap().unwrap();
        assert_eq!(j.status, JobStatus::Cancelled);
        assert_eq!(j.finished_at, Some(now));
        assert_eq!(j.updated_at, now);
        assert_eq!(j.dispatched_at, None);
    }
    for (id, status) in [
        (running, JobStatus::Running),
        (elsewhere, JobStatus::Queued),
    ] {
        let j = job::Entity::find_by_id(id).one(&db).await.unwrap().unwrap();
        assert_eq!(j.status, status);
        assert!(j.dispatched_at.is_some());
    }
    let txn = db.begin().await.unwrap();
    assert!(
        cancel_queued_jobs(&txn, target, now)
            .await
            .unwrap()
            .is_empty()
    );
    txn.rollback().await.unwrap();
}

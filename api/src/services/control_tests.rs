//! The cancelling statement on SQLite (the embedded build, #8); Postgres is covered by the
//! API's integration tests (`control.rs`).

use bacowr_migrations::{Migrator, MigratorTrait};
use bacowr_shared::entities::organization;
use sea_orm::{ActiveModelTrait, Database, DatabaseConnection, IntoActiveModel};

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
        org_id: org,
        batch_id: Some(batch),
        row_index: row,
        publisher_domain: "example.se".into(),
        target_url: "https://target.example/".into(),
        anchor_text: format!("anchor {row}"),
        language: None,
        status,
        attempts: 0,
        lease_owner: None,
        lease_expires_at: None,
        error_code: None,
        error_message: None,
        tokens_in: 0,
        tokens_out: 0,
        cost_micros: 0,
        created_at: now,
        updated_at: now,
        started_at: None,
        finished_at: None,
        dispatched_at: Some(now),
        dispatches: 1,
        not_before: None,
        traceparent: None,
        review_feedback: None,
        attempt_floor: 0,
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
    organization::Model {
        id: org,
        name: "Embedded".into(),
        created_at: Utc::now(),
        max_running: None,
        rate_per_minute: None,
        org_rate_per_minute: None,
        expensive_per_minute: None,
        quota_jobs_per_month: None,
        quota_tokens_per_month: None,
        budget_day_micros: None,
        budget_month_micros: None,
        budget_job_micros: None,
    }
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

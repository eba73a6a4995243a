//! The Postgres-only steps' statements on SQLite (the embedded build, #8): they are written
//! portably, and these tests keep them so. Postgres is covered by the worker's integration
//! tests.

use bacowr_migrations::{Migrator, MigratorTrait};
use bacowr_shared::{
    config::Settings,
    entities::{webhook_delivery, webhook_endpoint},
    events::Publisher,
    testing::fixtures,
};
use chrono::{Duration, SubsecRound};
use sea_orm::{ActiveModelTrait, Database, DbBackend, IntoActiveModel, PaginatorTrait};
use uuid::Uuid;

use super::*;

async fn sqlite() -> DatabaseConnection {
    let db = Database::connect("sqlite::memory:").await.unwrap();
    assert_eq!(db.get_database_backend(), DbBackend::Sqlite);
    Migrator::up(&db, None).await.unwrap();
    db
}

async fn org(db: &DatabaseConnection) -> Uuid {
    let id = Uuid::now_v7();
    fixtures::organization(id, "Embedded", Utc::now())
        .into_active_model()
        .insert(db)
        .await
        .unwrap();
    id
}

async fn batch(
    db: &DatabaseConnection,
    org: Uuid,
    status: BatchStatus,
    queued: i32,
    running: i32,
) -> Uuid {
    let id = Uuid::now_v7();
    let mut model = batch::Model::new_queued(id, org, None, queued + running, Utc::now());
    model.status = status;
    model.queued_jobs = queued;
    model.running_jobs = running;
    model.into_active_model().insert(db).await.unwrap();
    id
}

async fn insert(db: &DatabaseConnection, model: job::Model) -> job::Model {
    model.into_active_model().insert(db).await.unwrap()
}

fn running(
    org: Uuid,
    batch: Option<Uuid>,
    attempts: i32,
    lease_expires_at: DateTime<Utc>,
) -> job::Model {
    job::Model {
        status: JobStatus::Running,
        attempts,
        lease_owner: Some("gone".into()),
        lease_expires_at: Some(lease_expires_at),
        dispatched_at: Some(lease_expires_at),
        dispatches: 1,
        ..fixtures::job(org, batch, attempts, lease_expires_at)
    }
}

async fn reload(db: &DatabaseConnection, id: Uuid) -> job::Model {
    job::Entity::find_by_id(id).one(db).await.unwrap().unwrap()
}

async fn counts(db: &DatabaseConnection, id: Uuid) -> (BatchStatus, i32, i32, i32, i32) {
    let b = batch::Entity::find_by_id(id)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    (
        b.status,
        b.queued_jobs,
        b.running_jobs,
        b.failed_jobs,
        b.cancelled_jobs,
    )
}

/// The embedded build's in-process backplane: the events these steps publish stay here.
fn publisher() -> Publisher {
    let settings = Settings::from_figment(Settings::figment(None)).unwrap();
    Publisher::new(bacowr_shared::backplane::Backplane::local(), &settings)
}

#[tokio::test]
async fn sqlite_cancels_the_queued_jobs_of_cancelled_batches() {
    let db = sqlite().await;
    let now = Utc::now().trunc_subsecs(6);
    let o = org(&db).await;
    let cancelled = batch(&db, o, BatchStatus::Cancelled, 2, 1).await;
    let open = batch(&db, o, BatchStatus::Running, 1, 0).await;
    let waiting = insert(&db, fixtures::job(o, Some(cancelled), 0, now)).await;
    let pushed = insert(
        &db,
        job::Model {
            dispatched_at: Some(now),
            dispatches: 1,
            ..fixtures::job(o, Some(cancelled), 1, now)
        },
    )
    .await;
    let busy = insert(&db, running(o, Some(cancelled), 1, now)).await;
    let other = insert(&db, fixtures::job(o, Some(open), 0, now)).await;

    assert_eq!(cancelled_stragglers(&db, now).await.unwrap(), 2);
    for id in [waiting.id, pushed.id] {
        let j = reload(&db, id).await;
        assert_eq!(j.status, JobStatus::Cancelled);
        assert_eq!((j.finished_at, j.dispatched_at), (Some(now), None));
    }
    assert_eq!(reload(&db, busy.id).await.status, JobStatus::Running);
    assert_eq!(reload(&db, other.id).await.status, JobStatus::Queued);
    assert_eq!(
        counts(&db, cancelled).await,
        (BatchStatus::Cancelled, 0, 1, 0, 2)
    );
    assert_eq!(counts(&db, open).await, (BatchStatus::Running, 1, 0, 0, 0));
    assert_eq!(cancelled_stragglers(&db, now).await.unwrap(), 0);
}

#[tokio::test]
async fn sqlite_expired_leases_requeue_fail_or_cancel_their_jobs() {
    let db = sqlite().await;
    let now = Utc::now().trunc_subsecs(6);
    let expired = now - Duration::seconds(1);
    let o = org(&db).await;
    // An enabled endpoint: the failed job's `job.failed` goes to the outbox.
    webhook_endpoint::Model {
        id: Uuid::now_v7(),
        org_id: o,
        url: "https://hooks.example.com/".into(),
        description: None,
        event_types: serde_json::json!([]),
        secret: "whsec_test".into(),
        enabled: true,
        disabled_reason: None,
        created_at: now,
        updated_at: now,
    }
    .into_active_model()
    .insert(&db)
    .await
    .unwrap();
    let open = batch(&db, o, BatchStatus::Running, 0, 3).await;
    let cancelled = batch(&db, o, BatchStatus::Cancelled, 0, 1).await;
    let retry = insert(&db, running(o, Some(open), 1, expired)).await;
    let spent = insert(&db, running(o, Some(open), 3, expired)).await;
    let alive = insert(&db, running(o, Some(open), 1, now)).await;
    let doomed = insert(&db, running(o, Some(cancelled), 1, expired)).await;
    let loose = insert(&db, running(o, None, 2, expired)).await;

    let events = publisher();
    assert_eq!(expired_leases(&db, &events, 3, now).await.unwrap(), 4);

    let j = reload(&db, retry.id).await;
    assert_eq!(j.status, JobStatus::Queued);
    assert_eq!((j.lease_owner, j.lease_expires_at), (None, None));
    assert_eq!(
        (j.dispatched_at, j.finished_at, j.attempts),
        (None, None, 1)
    );
    let j = reload(&db, spent.id).await;
    assert_eq!(j.status, JobStatus::Failed);
    assert_eq!(j.error_code.as_deref(), Some(job_errors::WORKER_LOST));
    assert_eq!(j.finished_at, Some(now));
    assert_eq!(reload(&db, alive.id).await.status, JobStatus::Running);
    assert_eq!(reload(&db, doomed.id).await.status, JobStatus::Cancelled);
    assert_eq!(reload(&db, loose.id).await.status, JobStatus::Queued);

    assert_eq!(counts(&db, open).await, (BatchStatus::Running, 1, 1, 1, 0));
    // Its last job ended: the cancelled batch keeps its status.
    assert_eq!(
        counts(&db, cancelled).await,
        (BatchStatus::Cancelled, 0, 0, 0, 1)
    );
    let outbox = webhook_delivery::Entity::find().all(&db).await.unwrap();
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0].event_type, "job.failed");
    assert_eq!(expired_leases(&db, &events, 3, now).await.unwrap(), 0);
    assert_eq!(
        job::Entity::find()
            .filter(job::Column::Status.eq(JobStatus::Running))
            .count(&db)
            .await
            .unwrap(),
        1
    );
}

/// Two runtimes of the embedded build, each with its own pool on one file: a release that
/// read before taking the write lock would fail once the other committed meanwhile; it waits
/// its turn instead.
#[tokio::test]
async fn sqlite_lease_release_waits_for_a_concurrent_writer() {
    use sea_orm::{ConnectionTrait, SqliteTransactionMode, TransactionOptions};

    let path = std::env::temp_dir().join(format!("bacowr-release-{}.db", Uuid::now_v7()));
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let db = Database::connect(&url).await.unwrap();
    db.execute_unprepared("PRAGMA journal_mode = WAL")
        .await
        .unwrap();
    Migrator::up(&db, None).await.unwrap();
    let other = Database::connect(&url).await.unwrap();
    let now = Utc::now().trunc_subsecs(6);
    let o = org(&db).await;
    let open = batch(&db, o, BatchStatus::Running, 0, 1).await;
    let job = insert(&db, running(o, Some(open), 1, now - Duration::seconds(1))).await;

    let writer = other
        .begin_with_options(TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..Default::default()
        })
        .await
        .unwrap();
    writer
        .execute_unprepared("UPDATE organizations SET name = 'Renamed'")
        .await
        .unwrap();
    let release = tokio::spawn({
        let db = db.clone();
        async move { expired_leases(&db, &publisher(), 3, now).await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    writer.commit().await.unwrap();

    assert_eq!(release.await.unwrap().unwrap(), 1);
    assert_eq!(reload(&db, job.id).await.status, JobStatus::Queued);
    other.close().await.unwrap();
    db.close().await.unwrap();
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

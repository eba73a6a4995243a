//! The choosing and marking statements on SQLite (the embedded build, #8); Postgres is
//! covered by the worker's integration tests.

use bacowr_migrations::{Migrator, MigratorTrait};
use bacowr_shared::{
    domain::{BatchStatus, JobStatus},
    entities::{batch, job},
    testing::fixtures,
};
use chrono::{Duration, SubsecRound};
use sea_orm::{ActiveModelTrait, Database, EntityTrait, IntoActiveModel};

use super::*;

async fn sqlite() -> DatabaseConnection {
    let db = Database::connect("sqlite::memory:").await.unwrap();
    assert_eq!(db.get_database_backend(), DbBackend::Sqlite);
    Migrator::up(&db, None).await.unwrap();
    db
}

async fn org(db: &DatabaseConnection, name: &str, max_running: Option<i32>) -> Uuid {
    let id = Uuid::now_v7();
    let mut model = fixtures::organization(id, name, Utc::now());
    model.max_running = max_running;
    model.into_active_model().insert(db).await.unwrap();
    id
}

async fn batch(db: &DatabaseConnection, org: Uuid, status: BatchStatus) -> Uuid {
    let id = Uuid::now_v7();
    let mut model = batch::Model::new_queued(id, org, None, 1, Utc::now());
    model.status = status;
    model.into_active_model().insert(db).await.unwrap();
    id
}

async fn insert(db: &DatabaseConnection, model: job::Model) -> Uuid {
    model.into_active_model().insert(db).await.unwrap().id
}

fn t0() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

fn waiting(org: Uuid, row: i32, created: DateTime<Utc>) -> job::Model {
    fixtures::job(org, None, row, created)
}

fn running(org: Uuid, row: i32, created: DateTime<Utc>) -> job::Model {
    job::Model {
        status: JobStatus::Running,
        dispatched_at: Some(created),
        dispatches: 1,
        ..fixtures::job(org, None, row, created)
    }
}

#[tokio::test]
async fn sqlite_choose_takes_turns_across_organizations_oldest_first() {
    let db = sqlite().await;
    let now = t0();
    let a = org(&db, "A", None).await;
    let b = org(&db, "B", None).await;
    // A: a backlog of three, nothing in flight. B: one running, two waiting (older than A's).
    // A's first two were created together: their rows order them, not their ids.
    let a2 = insert(&db, waiting(a, 1, now - Duration::seconds(30))).await;
    let a1 = insert(&db, waiting(a, 0, now - Duration::seconds(30))).await;
    let a3 = insert(&db, waiting(a, 2, now - Duration::seconds(20))).await;
    insert(&db, running(b, 0, now - Duration::seconds(90))).await;
    let b1 = insert(&db, waiting(b, 1, now - Duration::seconds(60))).await;
    let b2 = insert(&db, waiting(b, 2, now - Duration::seconds(50))).await;

    // Slots: a1 1, a2 2, b1 2, a3 3, b2 3; ties go to the older job.
    let chosen = choose(&db, 10, 10, now).await.unwrap();
    assert_eq!(chosen, vec![a1, b1, a2, b2, a3]);
    assert_eq!(choose(&db, 10, 2, now).await.unwrap(), vec![a1, b1]);
    assert_eq!(in_flight(&db).await.unwrap(), 1);
}

#[tokio::test]
async fn sqlite_choose_keeps_each_organization_under_its_cap() {
    let db = sqlite().await;
    let now = t0();
    let capped = org(&db, "Capped", Some(2)).await;
    let full = org(&db, "Full", Some(1)).await;
    let default = org(&db, "Default", None).await;
    // Capped: one in flight (dispatched, not yet claimed), room for one more.
    insert(
        &db,
        job::Model {
            dispatched_at: Some(now),
            dispatches: 1,
            ..waiting(capped, 0, now - Duration::seconds(10))
        },
    )
    .await;
    let c1 = insert(&db, waiting(capped, 1, now - Duration::seconds(9))).await;
    insert(&db, waiting(capped, 2, now - Duration::seconds(8))).await;
    // Full: two running under a cap of one; none of its backlog goes.
    insert(&db, running(full, 0, now - Duration::seconds(10))).await;
    insert(&db, running(full, 1, now - Duration::seconds(10))).await;
    insert(&db, waiting(full, 2, now - Duration::seconds(10))).await;
    // Default: the dispatcher's cap of 3 applies.
    let mut d = Vec::new();
    for row in 0..5 {
        d.push(insert(&db, waiting(default, row, now - Duration::seconds(5))).await);
    }

    let chosen = choose(&db, 3, 100, now).await.unwrap();
    assert_eq!(chosen, vec![d[0], c1, d[1], d[2]]);
    assert_eq!(in_flight(&db).await.unwrap(), 3);
}

#[tokio::test]
async fn sqlite_choose_skips_jobs_not_due_and_cancelled_batches() {
    let db = sqlite().await;
    let now = t0();
    let o = org(&db, "O", None).await;
    let open = batch(&db, o, BatchStatus::Running).await;
    let cancelled = batch(&db, o, BatchStatus::Cancelled).await;
    let created = now - Duration::seconds(60);
    let due = insert(
        &db,
        job::Model {
            not_before: Some(now),
            ..fixtures::job(o, Some(open), 0, created)
        },
    )
    .await;
    insert(
        &db,
        job::Model {
            not_before: Some(now + Duration::seconds(1)),
            ..fixtures::job(o, Some(open), 1, created)
        },
    )
    .await;
    insert(&db, fixtures::job(o, Some(cancelled), 2, created)).await;
    let loose = insert(&db, waiting(o, 3, created)).await;
    insert(
        &db,
        job::Model {
            status: JobStatus::Succeeded,
            ..waiting(o, 4, created)
        },
    )
    .await;

    assert_eq!(choose(&db, 10, 10, now).await.unwrap(), vec![due, loose]);
    let before = now - Duration::microseconds(1);
    assert_eq!(choose(&db, 10, 10, before).await.unwrap(), vec![loose]);
}

#[tokio::test]
async fn sqlite_marks_each_chosen_job_once_and_unmarks_after_a_failed_push() {
    let db = sqlite().await;
    let now = t0();
    let o = org(&db, "O", None).await;
    let fresh = insert(
        &db,
        job::Model {
            traceparent: Some("00-trace-span-01".into()),
            dispatches: 2,
            ..waiting(o, 0, now)
        },
    )
    .await;
    let other = insert(&db, waiting(o, 1, now)).await;
    let earlier = now - Duration::seconds(5);
    let dispatched = insert(
        &db,
        job::Model {
            dispatched_at: Some(earlier),
            dispatches: 1,
            ..waiting(o, 2, now)
        },
    )
    .await;
    let busy = insert(&db, running(o, 3, now)).await;

    let ids = [fresh, other, dispatched, busy];
    let mut marked = mark(&db, &ids, now).await.unwrap();
    marked.sort_by_key(|m| m.id);
    let got: Vec<_> = marked
        .iter()
        .map(|m| (m.id, m.org_id, m.dispatches, m.traceparent.clone()))
        .collect();
    let mut expected = vec![
        (fresh, o, 3, Some("00-trace-span-01".to_owned())),
        (other, o, 1, None),
    ];
    expected.sort_by_key(|m| m.0);
    assert_eq!(got, expected);
    assert!(
        mark(&db, &ids, now).await.unwrap().is_empty(),
        "a marked job is not marked twice"
    );
    let row = |id| job::Entity::find_by_id(id).one(&db);
    let fresh_row = row(fresh).await.unwrap().unwrap();
    assert_eq!(
        (fresh_row.dispatched_at, fresh_row.updated_at),
        (Some(now), now)
    );
    assert_eq!(in_flight(&db).await.unwrap(), 4);

    unmark(&db, &ids, now).await.unwrap();
    for (id, dispatched_at, dispatches) in [
        (fresh, None, 3),
        (other, None, 1),
        // Marked by an earlier tick: not this push's to undo.
        (dispatched, Some(earlier), 1),
        (busy, Some(now), 1),
    ] {
        let r = row(id).await.unwrap().unwrap();
        assert_eq!((r.dispatched_at, r.dispatches), (dispatched_at, dispatches));
    }
    assert_eq!(choose(&db, 10, 10, now).await.unwrap(), vec![fresh, other]);
}

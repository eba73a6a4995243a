//! The marking statements on SQLite (the embedded build, #8); Postgres is covered by the
//! worker's integration tests (`webhooks.rs`).

use bacowr_migrations::{Migrator, MigratorTrait};
use bacowr_shared::{
    entities::{webhook_delivery, webhook_endpoint},
    webhooks::DeliveryStatus,
};
use chrono::{Duration, SubsecRound};
use sea_orm::{ActiveModelTrait, Database, EntityTrait, IntoActiveModel};
use serde_json::json;

use super::*;

async fn sqlite() -> DatabaseConnection {
    let db = Database::connect("sqlite::memory:").await.unwrap();
    assert_eq!(db.get_database_backend(), DbBackend::Sqlite);
    Migrator::up(&db, None).await.unwrap();
    db
}

async fn endpoint(db: &DatabaseConnection, now: DateTime<Utc>) -> Uuid {
    let id = Uuid::now_v7();
    webhook_endpoint::Model {
        id,
        org_id: Uuid::now_v7(),
        url: "https://hooks.example.com/".into(),
        description: None,
        event_types: json!([]),
        secret: "whsec_test".into(),
        enabled: true,
        disabled_reason: None,
        created_at: now,
        updated_at: now,
    }
    .into_active_model()
    .insert(db)
    .await
    .unwrap();
    id
}

/// A pending delivery due at `due`, never attempted nor dispatched.
fn delivery(endpoint: Uuid, due: DateTime<Utc>) -> webhook_delivery::Model {
    webhook_delivery::Model {
        id: Uuid::now_v7(),
        endpoint_id: endpoint,
        org_id: Uuid::now_v7(),
        event_type: "job.failed".into(),
        payload: json!({"type": "job.failed"}),
        status: DeliveryStatus::Pending,
        attempts: 0,
        next_attempt_at: due,
        dispatched_at: None,
        lease_expires_at: None,
        last_status_code: None,
        last_error: None,
        created_at: due,
        updated_at: due,
        delivered_at: None,
    }
}

async fn insert(db: &DatabaseConnection, model: webhook_delivery::Model) -> Uuid {
    model.into_active_model().insert(db).await.unwrap().id
}

#[tokio::test]
async fn sqlite_marks_due_deliveries_oldest_first_and_unmarks_them() {
    let db = sqlite().await;
    let now = Utc::now().trunc_subsecs(6);
    let lost_before = now - Duration::seconds(60);
    let ep = endpoint(&db, now).await;
    let at = |secs| now - Duration::seconds(secs);
    let oldest = insert(&db, delivery(ep, at(30))).await;
    let lost = insert(
        &db,
        webhook_delivery::Model {
            dispatched_at: Some(at(120)),
            attempts: 1,
            ..delivery(ep, at(20))
        },
    )
    .await;
    let lapsed = insert(
        &db,
        webhook_delivery::Model {
            lease_expires_at: Some(at(1)),
            attempts: 2,
            ..delivery(ep, at(10))
        },
    )
    .await;
    let due_now = insert(&db, delivery(ep, now)).await;
    // Not due, in Redis now, being sent, or done: none of them is marked.
    insert(&db, delivery(ep, now + Duration::seconds(1))).await;
    let in_redis = at(10);
    let pushed = insert(
        &db,
        webhook_delivery::Model {
            dispatched_at: Some(in_redis),
            ..delivery(ep, at(40))
        },
    )
    .await;
    insert(
        &db,
        webhook_delivery::Model {
            lease_expires_at: Some(now + Duration::seconds(30)),
            ..delivery(ep, at(40))
        },
    )
    .await;
    insert(
        &db,
        webhook_delivery::Model {
            status: DeliveryStatus::Delivered,
            ..delivery(ep, at(40))
        },
    )
    .await;

    let first = mark(&db, now, lost_before, 2).await.unwrap();
    assert_eq!(ids(first), sorted([(oldest, 0), (lost, 1)]));
    let rest = mark(&db, now, lost_before, 10).await.unwrap();
    assert_eq!(ids(rest), sorted([(lapsed, 2), (due_now, 0)]));
    assert!(mark(&db, now, lost_before, 10).await.unwrap().is_empty());
    let row = |id| webhook_delivery::Entity::find_by_id(id).one(&db);
    let marked = row(lost).await.unwrap().unwrap();
    assert_eq!((marked.dispatched_at, marked.updated_at), (Some(now), now));

    unmark(&db, &[oldest, lost, pushed], now).await.unwrap();
    assert_eq!(row(oldest).await.unwrap().unwrap().dispatched_at, None);
    assert_eq!(row(lost).await.unwrap().unwrap().dispatched_at, None);
    assert_eq!(
        row(pushed).await.unwrap().unwrap().dispatched_at,
        Some(in_redis),
        "pushed by an earlier tick: not this push's to undo"
    );
    assert_eq!(row(lapsed).await.unwrap().unwrap().dispatched_at, Some(now));
    let again = mark(&db, now, lost_before, 10).await.unwrap();
    assert_eq!(ids(again), sorted([(oldest, 0), (lost, 1)]));
}

fn ids(marked: Vec<Marked>) -> Vec<(Uuid, i32)> {
    sorted(marked.iter().map(|m| (m.id, m.attempts)))
}

fn sorted(ids: impl IntoIterator<Item = (Uuid, i32)>) -> Vec<(Uuid, i32)> {
    let mut ids: Vec<_> = ids.into_iter().collect();
    ids.sort();
    ids
}

/// The claim and the recorded attempt (`super::super::store`): no SQL of their own, but a
/// lease compared by equality must read back as written, which on SQLite is a text column.
#[tokio::test]
async fn sqlite_claims_a_delivery_once_and_records_its_attempt() {
    use std::time::Duration as StdDuration;

    use bacowr_shared::{entities::webhook_attempt, ids::WebhookDeliveryId};
    use sea_orm::PaginatorTrait;

    use crate::webhooks::store::{self, AttemptRecord, Next};

    let db = sqlite().await;
    let now = Utc::now();
    let ep = endpoint(&db, now).await;
    let id = insert(&db, delivery(ep, now - Duration::seconds(1))).await;
    let hold = StdDuration::from_secs(60);

    let claimed = store::claim(&db, WebhookDeliveryId::from_uuid(id), hold)
        .await
        .unwrap()
        .expect("due and free");
    assert_eq!(claimed.attempts, 1);
    assert!(
        store::claim(&db, WebhookDeliveryId::from_uuid(id), hold)
            .await
            .unwrap()
            .is_none(),
        "held by the first claim"
    );
    let attempt = || AttemptRecord {
        started_at: now,
        duration_ms: 12,
        status_code: Some(500),
        error: None,
        response_body: Some("oops".into()),
    };
    let retry = Next::Retry(StdDuration::from_secs(5));
    assert!(
        store::finish(&db, &claimed, attempt(), retry.clone())
            .await
            .unwrap()
    );
    assert!(
        !store::finish(&db, &claimed, attempt(), retry)
            .await
            .unwrap(),
        "the claim ended with the first write"
    );
    let row = webhook_delivery::Entity::find_by_id(id)
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, DeliveryStatus::Pending);
    assert_eq!((row.lease_expires_at, row.dispatched_at), (None, None));
    assert_eq!(row.last_status_code, Some(500));
    assert!(row.next_attempt_at > now);
    assert_eq!(webhook_attempt::Entity::find().count(&db).await.unwrap(), 1);
}

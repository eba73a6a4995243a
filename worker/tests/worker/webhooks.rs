//! The webhook outbox and delivery bookkeeping against a real Postgres and Redis: recorded
//! only when the caller's transaction commits, filtered per endpoint, dispatched once, found
//! again when lost, and sent by one claimant at a time.

use std::time::Duration;

use chrono::{SubsecRound, Utc};
use sea_orm::{
    ActiveValue::Set, DatabaseConnection, EntityTrait, PaginatorTrait, TransactionTrait,
};
use serde_json::json;

use bacowr_migrations::{Migrator, MigratorTrait};
use bacowr_shared::{
    config::Settings,
    db::connect_redis,
    entities::{webhook_delivery, webhook_endpoint},
    ids::{OrgId, WebhookDeliveryId, WebhookEndpointId},
    testing::{TestDatabase, TestRedis},
    webhooks::{DeliveryStatus, WebhookEvent, outbox, queue::webhook_queue, signing},
};
use bacowr_worker::webhooks::{dispatch, store};

async fn endpoint(db: &DatabaseConnection, org: OrgId, events: &[&str], enabled: bool) {
    let now = Utc::now();
    webhook_endpoint::Entity::insert(webhook_endpoint::ActiveModel {
        id: Set(WebhookEndpointId::new().uuid()),
        org_id: Set(org.uuid()),
        url: Set("https://hooks.example.com/".into()),
        description: Set(None),
        event_types: Set(json!(events)),
        secret: Set(signing::generate_secret()),
        enabled: Set(enabled),
        disabled_reason: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_without_returning(db)
    .await
    .unwrap();
}

#[tokio::test]
async fn the_outbox_follows_the_callers_transaction_and_filters() {
    let test_db = TestDatabase::create().await;
    let db = test_db.connect().await;
    Migrator::up(&db, None).await.unwrap();
    let org = OrgId::new();
    endpoint(&db, org, &[], true).await;
    endpoint(&db, org, &["job.failed"], true).await;
    endpoint(&db, org, &[], false).await;
    endpoint(&db, OrgId::new(), &[], true).await;

    let txn = db.begin().await.unwrap();
    let n = outbox::record(
        &txn,
        org.uuid(),
        WebhookEvent::JobNeedsReview,
        json!({}),
        Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(n, 1, "the all-events endpoint only");
    txn.rollback().await.unwrap();
    assert_eq!(
        webhook_delivery::Entity::find().count(&db).await.unwrap(),
        0
    );

    let txn = db.begin().await.unwrap();
    let n = outbox::record(
        &txn,
        org.uuid(),
        WebhookEvent::JobFailed,
        json!({"x": 1}),
        Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(
        n, 2,
        "both enabled endpoints of the organization take job.failed"
    );
    txn.commit().await.unwrap();
    let rows = webhook_delivery::Entity::find().all(&db).await.unwrap();
    assert_eq!(rows.len(), 2);
    for d in rows {
        assert_eq!(d.status, DeliveryStatus::Pending);
        assert_eq!(d.event_type, "job.failed");
        assert_eq!(d.payload["type"], "job.failed");
        assert_eq!(d.payload["data"], json!({"x": 1}));
    }
    drop(db);
    test_db.drop_database().await;
}

#[tokio::test]
async fn deliveries_are_dispatched_once_recovered_when_lost_and_claimed_once() {
    let test_db = TestDatabase::create().await;
    let db = test_db.connect().await;
    Migrator::up(&db, None).await.unwrap();
    let redis_ns = TestRedis::create().await;
    let mut settings = Settings::from_figment(Settings::figment(None)).unwrap();
    settings.redis.url = redis_ns.url.clone();
    settings.redis.namespace = redis_ns.namespace.clone();
    let queue: bacowr_shared::webhooks::queue::WebhookQueue =
        webhook_queue(connect_redis(&settings.redis).await.unwrap(), &settings).into();
    let org = OrgId::new();
    endpoint(&db, org, &[], true).await;
    let now = Utc::now().trunc_subsecs(6);
    outbox::record(&db, org.uuid(), WebhookEvent::ExportReady, json!({}), now)
        .await
        .unwrap();
    let hooks = &settings.webhooks;

    assert_eq!(dispatch::due(&db, &queue, hooks, now).await.unwrap(), 1);
    assert_eq!(
        dispatch::due(&db, &queue, hooks, now).await.unwrap(),
        0,
        "already in Redis"
    );
    let later = now + chrono::Duration::seconds(hooks.redispatch_after_secs as i64 + 1);
    assert_eq!(
        dispatch::due(&db, &queue, hooks, later).await.unwrap(),
        1,
        "not sent long after its push: lost, pushed again"
    );

    // Two copies of the task: one sends, the other finds it taken.
    let id = WebhookDeliveryId::from_uuid(
        webhook_delivery::Entity::find()
            .one(&db)
            .await
            .unwrap()
            .unwrap()
            .id,
    );
    let hold = Duration::from_secs(30);
    let (a, b) = tokio::join!(store::claim(&db, id, hold), store::claim(&db, id, hold));
    let claimed = match (a.unwrap(), b.unwrap()) {
        (Some(c), None) | (None, Some(c)) => c,
        other => panic!("exactly one claim must win: {other:?}"),
    };
    assert_eq!(claimed.attempts, 1);
    let attempt = store::AttemptRecord {
        started_at: Utc::now(),
        duration_ms: 12,
        status_code: Some(502),
        error: Some("HTTP 502".into()),
        response_body: Some("bad gateway".into()),
    };
    let retry = store::Next::Retry(Duration::from_secs(300));
    assert!(
        store::finish(&db, &claimed, attempt, retry.clone())
            .await
            .unwrap()
    );
    let d = webhook_delivery::Entity::find_by_id(id.uuid())
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.status, DeliveryStatus::Pending);
    assert_eq!(d.last_status_code, Some(502));
    assert!(d.dispatched_at.is_none() && d.lease_expires_at.is_none());
    assert!(d.next_attempt_at > Utc::now() + chrono::Duration::seconds(290));
    // Not due: neither dispatched nor claimable before its time.
    assert_eq!(
        dispatch::due(&db, &queue, hooks, Utc::now()).await.unwrap(),
        0
    );
    assert!(store::claim(&db, id, hold).await.unwrap().is_none());
    // A stale claimant's late write changes nothing.
    let stale = store::AttemptRecord {
        started_at: Utc::now(),
        duration_ms: 1,
        status_code: Some(200),
        error: None,
        response_body: None,
    };
    assert!(
        !store::finish(&db, &claimed, stale, store::Next::Delivered)
            .await
            .unwrap()
    );
    drop(db);
    test_db.drop_database().await;
    redis_ns.clean().await;
}

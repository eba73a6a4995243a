//! Claims are conditional updates under a lease; outcomes are written only by the lease
//! holder, once, with the batch counters in step.

use std::time::Duration;

use chrono::Utc;
use sea_orm::{ActiveValue::Set, DatabaseConnection, EntityTrait, PaginatorTrait, sea_query::Expr};

use bacowr_migrations::{Migrator, MigratorTrait};
use bacowr_shared::{
    domain::{BatchStatus, JobStatus},
    entities::{article, batch, job, llm_call, organization},
    ids::{BatchId, JobId, OrgId},
    testing::{TestDatabase, fixtures},
};
use bacowr_worker::{
    pipeline::CallRecord,
    store::{ArticleToStore, Outcome, claim, record_outcome},
};

const LEASE: Duration = Duration::from_secs(60);

pub async fn seed(db: &DatabaseConnection, jobs: usize) -> (OrgId, BatchId, Vec<JobId>) {
    let org = OrgId::new();
    let batch_id = BatchId::new();
    let now = Utc::now();
    organization::Entity::insert(organization::ActiveModel {
        id: Set(org.uuid()),
        name: Set("Org".into()),
        created_at: Set(now),
        max_running: Set(None),
        ..Default::default()
    })
    .exec_without_returning(db)
    .await
    .unwrap();
    let n = jobs as i32;
    batch::Entity::insert(batch::ActiveModel::from(batch::Model::new_queued(
        batch_id.uuid(),
        org.uuid(),
        None,
        n,
        now,
    )))
    .exec_without_returning(db)
    .await
    .unwrap();
    let mut ids = Vec::new();
    for row in 0..jobs {
        let id = JobId::new();
        job::Entity::insert(job::ActiveModel::from(job::Model {
            id: id.uuid(),
            publisher_domain: "blogg.se".into(),
            target_url: "https://client.se/".into(),
            anchor_text: "ankare".into(),
            ..fixtures::job(org.uuid(), Some(batch_id.uuid()), row as i32, now)
        }))
        .exec_without_returning(db)
        .await
        .unwrap();
        ids.push(id);
    }
    (org, batch_id, ids)
}

pub fn call(tokens: i64) -> CallRecord {
    CallRecord {
        provider: "sim".into(),
        kind: bacowr_shared::config::ProviderKind::OpenAi,
        model: "m".into(),
        outcome: "ok",
        http_status: Some(200),
        tokens_in: tokens,
        tokens_cached: 0,
        tokens_cache_write: 0,
        tokens_out: tokens,
        tokens_reasoning: 0,
        purpose: None,
        cost_micros: tokens,
        latency_ms: 5,
        error: None,
        retry_after_ms: None,
    }
}

pub fn article_out() -> Outcome {
    Outcome::Succeeded(ArticleToStore {
        title: "T".into(),
        meta_description: None,
        body_markdown: "Body".into(),
        word_count: 1,
        language: "sv".into(),
        deployment: "sim".into(),
        provider: "openai".into(),
        model: "m".into(),
        qc_passed: true,
        qc_report: serde_json::json!({}),
        trust_links: serde_json::json!([]),
        autofixes: serde_json::json!([]),
        regenerations: 0,
        context_report: serde_json::json!({}),
        first_try: true,
        earlier_drafts: Vec::new(),
    })
}

pub async fn batch_row(db: &DatabaseConnection, id: BatchId) -> batch::Model {
    batch::Entity::find_by_id(id.uuid())
        .one(db)
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn claims_leases_takeover_and_outcomes() {
    let test_db = TestDatabase::create().await;
    let db = test_db.connect().await;
    Migrator::up(&db, None).await.unwrap();
    let (org, batch_id, jobs) = seed(&db, 2).await;

    // First claim wins; a second delivery finds the job held.
    let held = claim(&db, jobs[0], org, "w1", LEASE, 3)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(held.attempts, 1);
    assert!(
        claim(&db, jobs[0], org, "w2", LEASE, 3)
            .await
            .unwrap()
            .is_none()
    );
    // Another tenant's id never claims anything.
    assert!(
        claim(&db, jobs[1], OrgId::new(), "w1", LEASE, 3)
            .await
            .unwrap()
            .is_none()
    );
    let b = batch_row(&db, batch_id).await;
    assert_eq!(
        (b.queued_jobs, b.running_jobs, b.status),
        (1, 1, BatchStatus::Running)
    );

    // w1 dies: once its lease lapses, w2 takes the job over without touching the counters.
    job::Entity::update_many()
        .col_expr(
            job::Column::LeaseExpiresAt,
            Expr::value(Utc::now() - chrono::Duration::seconds(1)),
        )
        .exec(&db)
        .await
        .unwrap();
    let taken = claim(&db, jobs[0], org, "w2", LEASE, 3)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(taken.attempts, 2);
    let b = batch_row(&db, batch_id).await;
    assert_eq!((b.queued_jobs, b.running_jobs), (1, 1));

    // The old owner's late result is not applied (its spent tokens are still logged).
    assert!(
        !record_outcome(&db, &held, "w1", article_out(), &[call(10)])
            .await
            .unwrap()
    );
    assert_eq!(article::Entity::find().count(&db).await.unwrap(), 0);
    // The new owner's is, once.
    assert!(
        record_outcome(&db, &taken, "w2", article_out(), &[call(7)])
            .await
            .unwrap()
    );
    assert!(
        !record_outcome(&db, &taken, "w2", article_out(), &[call(7)])
            .await
            .unwrap()
    );
    assert_eq!(article::Entity::find().count(&db).await.unwrap(), 1);
    assert_eq!(llm_call::Entity::find().count(&db).await.unwrap(), 2);
    let b = batch_row(&db, batch_id).await;
    // Both attempts' tokens were spent, so both count: 10 (w1, late) + 7 (w2).
    assert_eq!((b.running_jobs, b.succeeded_jobs, b.tokens_in), (0, 1, 17));
    assert_eq!(b.status, BatchStatus::Running, "one job still queued");

    // The last job fails: the batch is ready for review with the failure counted.
    let second = claim(&db, jobs[1], org, "w1", LEASE, 3)
        .await
        .unwrap()
        .unwrap();
    let failed = Outcome::Failed {
        code: "provider_failed",
        message: "all providers failed".into(),
    };
    assert!(
        record_outcome(&db, &second, "w1", failed, &[])
            .await
            .unwrap()
    );
    let b = batch_row(&db, batch_id).await;
    assert_eq!(
        (b.failed_jobs, b.succeeded_jobs, b.status),
        (1, 1, BatchStatus::ReadyForReview)
    );
    assert!(b.finished_at.is_some());
    let j = job::Entity::find_by_id(jobs[1].uuid())
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(j.status, JobStatus::Failed);
    assert_eq!(j.error_code.as_deref(), Some("provider_failed"));
    assert!(j.lease_owner.is_none());

    drop(db);
    test_db.drop_database().await;
}

//! At-least-once delivery, exactly-once effects; failures recorded, not lost.

use std::time::Duration;

use sea_orm::{EntityTrait, PaginatorTrait};

use bacowr_shared::{
    entities::{article, job, llm_call},
    ids::{JobId, OrgId},
    queue::{self, GenerateArticle},
    testing::eventually,
};

use crate::helpers::{TestApp, spawn_sim};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn duplicate_deliveries_write_one_article_per_job() {
    let app = TestApp::spawn().await;
    let sim = spawn_sim().await;
    let batch = app.submit_batch(20).await;
    let id = batch["id"].as_str().unwrap().to_owned();

    // Push every job a second (and third) time, bypassing the enqueue de-duplication, as a
    // re-dispatch or a recovered Redis would.
    let jobs = job::Entity::find().all(&app.db).await.unwrap();
    let redis = bacowr_shared::db::connect_redis(&app.settings.redis)
        .await
        .unwrap();
    let mut storage = queue::article_queue(redis, &app.settings);
    for round in 0..2 {
        let tasks = jobs.iter().map(|j| {
            let task = GenerateArticle::V1 {
                job_id: JobId::from_uuid(j.id),
                org_id: OrgId::from_uuid(j.org_id),
                traceparent: None,
            };
            apalis_core_task(task, &format!("dup-{round}-{}", j.id))
        });
        use apalis_core_sink::TaskSink;
        storage
            .push_all(futures::stream::iter(tasks))
            .await
            .unwrap();
    }

    let done = app.drain_batch(&id, &sim).await;
    assert_eq!(done["counts"]["succeeded"], 20, "{done}");
    // Let the duplicate deliveries run too, then check nothing was written twice.
    let worker = app.start_worker(&sim, |_| {}).await;
    eventually(
        "duplicate deliveries consumed",
        Duration::from_secs(20),
        || async { (queue_len(&app).await == 0).then_some(()) },
    )
    .await;
    worker.stop().await;
    assert_eq!(article::Entity::find().count(&app.db).await.unwrap(), 20);
    assert_eq!(llm_call::Entity::find().count(&app.db).await.unwrap(), 20);
    assert_eq!(sim.requests(), 20);
    let batch = app.get_json(&format!("/api/v1/batches/{id}")).await;
    assert_eq!(
        batch["counts"]["succeeded"], 20,
        "counters unchanged: {batch}"
    );
    sim.shutdown().await;
    app.cleanup().await;
}

async fn queue_len(app: &TestApp) -> i64 {
    let client = redis::Client::open(app.settings.redis.url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let key = format!(
        "{}:active",
        queue::generate_article_queue(&app.settings.redis.namespace)
    );
    redis::cmd("LLEN")
        .arg(key)
        .query_async(&mut conn)
        .await
        .unwrap()
}

use apalis_core::backend as apalis_core_sink;

fn apalis_core_task(task: GenerateArticle, key: &str) -> apalis_core::task::Task<GenerateArticle> {
    apalis_core::task::builder::TaskBuilder::new(task)
        .idempotency_key(key)
        .build()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn provider_refusal_fails_jobs_with_a_reason_and_keeps_the_call_log() {
    let app = TestApp::spawn().await;
    let sim = spawn_sim().await;
    let batch = app.submit_batch(3).await;
    let id = batch["id"].as_str().unwrap().to_owned();
    let worker = app
        .start_worker(&sim, |s| s.provider.api_key = "sk-wrong".into())
        .await;
    let done = app.wait_for_batch(&id, Duration::from_secs(30)).await;
    worker.stop().await;

    assert_eq!(done["counts"]["failed"], 3, "{done}");
    assert_eq!(done["status"], "ready_for_review");
    let jobs = app
        .get_json(&format!("/api/v1/batches/{id}/jobs?status=failed"))
        .await;
    for job in jobs["items"].as_array().unwrap() {
        assert_eq!(job["error"]["code"], "provider_failed", "{job}");
    }
    // A bad key is never retried, and the breaker keeps the deployment out after the first
    // refusal: at most one call per job, each logged with its class and status.
    let calls = llm_call::Entity::find().all(&app.db).await.unwrap();
    assert!((1..=3).contains(&calls.len()), "{calls:?}");
    assert!(
        calls
            .iter()
            .all(|c| c.http_status == Some(401) && c.outcome == "auth_error"),
        "{calls:?}"
    );
    assert!(sim.requests() <= 3);
    sim.shutdown().await;
    app.cleanup().await;
}

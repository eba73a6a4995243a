//! Deliveries through the real worker: signatures, retries, filters, 410 Gone, the SSRF
//! guard, and a receiver that never answers while article work goes on.

use std::time::Duration;

use llm_sim::Violation;
use reqwest::StatusCode;
use serde_json::{Value, json};

use bacowr_shared::{
    config::Settings, entities::webhook_endpoint, ids::WebhookEndpointId, testing::eventually,
    webhooks::WebhookEvent,
};
use sea_orm::EntityTrait;

use super::{
    deliveries,
    receiver::{Behaviour, Receiver},
    register, verify,
};
use crate::helpers::{TestApp, spawn_sim, spawn_sim_with};

/// Receivers live on loopback; retries come after a second.
fn fast_webhooks(s: &mut Settings) {
    s.webhooks.allow_hosts = vec!["127.0.0.0/8".into()];
    s.webhooks.retry_schedule_secs = vec![1, 1, 1];
    s.webhooks.timeout_ms = 2000;
    s.dispatch.tick_ms = 200;
}

async fn wait_until_settled(app: &TestApp, endpoint: &str, n: usize) -> Vec<Value> {
    eventually(
        &format!("{n} settled deliveries to {endpoint}"),
        Duration::from_secs(60),
        || async {
            let items = deliveries(app, endpoint).await;
            (items.len() == n && items.iter().all(|d| d["status"] != "pending")).then_some(items)
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn needs_review_and_ready_for_review_arrive_signed_after_retries() {
    signed_after_retries(TestApp::spawn().await).await;
}

/// The embedded build: the outbox on SQLite, deliveries through the SQLite webhook queue.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_arrive_signed_after_retries_on_the_embedded_build() {
    signed_after_retries(TestApp::spawn_embedded().await).await;
}

async fn signed_after_retries(app: TestApp) {
    let flaky = Receiver::spawn(Behaviour::FailFirst(2)).await;
    let (all, secret) = register(&app, &flaky.url, &[]).await;
    // Subscribed only to failures: this batch has none.
    let quiet = Receiver::spawn(Behaviour::Status(200)).await;
    let (failures_only, _) = register(&app, &quiet.url, &["job.failed"]).await;

    let sim = spawn_sim_with(|c| c.violation = Some(Violation::AnchorInHeading)).await;
    let worker = app.start_worker(&sim, fast_webhooks).await;
    let batch = app.submit_batch(2).await;
    let batch_id = batch["id"].as_str().unwrap();
    app.wait_for_batch(batch_id, Duration::from_secs(60)).await;
    let settled = wait_until_settled(&app, &all, 3).await;
    worker.stop().await;

    let mut types: Vec<&str> = settled
        .iter()
        .map(|d| d["event_type"].as_str().unwrap())
        .collect();
    types.sort();
    assert_eq!(
        types,
        [
            "batch.ready_for_review",
            "job.needs_review",
            "job.needs_review"
        ]
    );
    for d in &settled {
        assert_eq!(d["status"], "delivered", "{d}");
        assert_eq!(d["attempts"], 3, "two failures, then success: {d}");
        assert_eq!(d["last_status_code"], 200);
        assert!(d["next_attempt_at"].is_null());
    }

    // Every request, failed or not, carries a valid signature; retries keep the message id.
    let hits = flaky.hits();
    assert_eq!(hits.len(), 9, "three attempts of three messages");
    for hit in &hits {
        verify(&secret, hit);
        assert_eq!(hit.header("content-type"), "application/json");
        assert!(hit.header("webhook-signature").starts_with("v1,"));
    }
    let wrong = standardwebhooks::Webhook::new("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
    assert!(wrong.verify(&hits[0].body, &hits[0].headers).is_err());
    for d in &settled {
        let id = d["id"].as_str().unwrap();
        assert!(id.starts_with("msg_"));
        assert_eq!(
            hits.iter().filter(|h| h.header("webhook-id") == id).count(),
            3
        );
    }

    // The envelope and its data.
    let ready = hits
        .iter()
        .map(|h| h.json())
        .find(|b| b["type"] == "batch.ready_for_review")
        .unwrap();
    assert!(ready["timestamp"].is_string());
    assert_eq!(ready["data"]["batch_id"], batch_id);
    assert_eq!(ready["data"]["status"], "ready_for_review");
    assert_eq!(ready["data"]["counts"]["needs_review"], 2);
    let job = hits
        .iter()
        .map(|h| h.json())
        .find(|b| b["type"] == "job.needs_review")
        .unwrap();
    assert!(job["data"]["job_id"].as_str().unwrap().starts_with("job_"));
    assert_eq!(job["data"]["batch_id"], batch_id);
    assert_eq!(job["data"]["status"], "needs_review");

    // The attempt log of one delivery.
    let id = settled[0]["id"].as_str().unwrap();
    let detail = app
        .get_json(&format!("/api/v1/webhooks/{all}/deliveries/{id}"))
        .await;
    let log = detail["attempt_log"].as_array().unwrap();
    let codes: Vec<&Value> = log.iter().map(|a| &a["status_code"]).collect();
    assert_eq!(codes, [&json!(500), &json!(500), &json!(200)], "{detail}");
    assert_eq!(log[0]["error"], "HTTP 500");
    assert!(
        log[2]["response_body"]
            .as_str()
            .unwrap()
            .contains("received")
    );
    assert_eq!(detail["payload"]["type"], settled[0]["event_type"]);

    // The filter held: nothing for the failures-only endpoint.
    assert!(deliveries(&app, &failures_only).await.is_empty());
    assert!(quiet.hits().is_empty());
    let page = app
        .get_json(&format!(
            "/api/v1/webhooks/{all}/deliveries?status=delivered&limit=2"
        ))
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    assert!(page["next_cursor"].is_string());

    sim.shutdown().await;
    flaky.stop();
    quiet.stop();
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_jobs_gone_receivers_and_exhausted_schedules() {
    let app = TestApp::spawn().await;
    let ok = Receiver::spawn(Behaviour::Status(204)).await;
    let (ok_id, ok_secret) = register(&app, &ok.url, &["job.failed"]).await;
    let gone = Receiver::spawn(Behaviour::Status(410)).await;
    let (gone_id, _) = register(&app, &gone.url, &["job.failed"]).await;
    let broken = Receiver::spawn(Behaviour::Status(503)).await;
    let (broken_id, _) = register(&app, &broken.url, &["job.failed"]).await;

    let sim = spawn_sim_with(|c| c.violation = Some(Violation::BadJson)).await;
    let worker = app
        .start_worker(&sim, |s| {
            fast_webhooks(s);
            s.webhooks.retry_schedule_secs = vec![1];
        })
        .await;
    let batch = app.submit_batch(1).await;
    app.wait_for_batch(batch["id"].as_str().unwrap(), Duration::from_secs(60))
        .await;

    let delivered = wait_until_settled(&app, &ok_id, 1).await;
    assert_eq!(delivered[0]["status"], "delivered");
    assert_eq!(delivered[0]["event_type"], "job.failed");
    let hit = &ok.hits()[0];
    verify(&ok_secret, hit);
    let body = hit.json();
    assert_eq!(body["data"]["status"], "failed");
    assert_eq!(body["data"]["error"]["code"], "bad_provider_output");

    // 410 Gone: failed at once, and the endpoint disabled with the reason.
    let gone_d = wait_until_settled(&app, &gone_id, 1).await;
    assert_eq!(gone_d[0]["status"], "failed");
    assert_eq!(gone_d[0]["attempts"], 1);
    let endpoint = app.get_json(&format!("/api/v1/webhooks/{gone_id}")).await;
    assert_eq!(endpoint["enabled"], false);
    assert!(
        endpoint["disabled_reason"]
            .as_str()
            .unwrap()
            .contains("410")
    );

    // A schedule of one retry: two attempts, then failed. A manual retry gives one more.
    let broken_d = wait_until_settled(&app, &broken_id, 1).await;
    assert_eq!(broken_d[0]["status"], "failed");
    assert_eq!(broken_d[0]["attempts"], 2);
    assert_eq!(broken_d[0]["last_status_code"], 503);
    let msg = broken_d[0]["id"].as_str().unwrap();
    let retry_path = format!("/api/v1/webhooks/{broken_id}/deliveries/{msg}/retry");
    let resp = app.post_json(&retry_path, &json!({})).await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let retried: Value = resp.json().await.unwrap();
    assert_eq!(retried["status"], "pending");
    let again = eventually("the manual retry ran", Duration::from_secs(30), || async {
        let d = app
            .get_json(&format!("/api/v1/webhooks/{broken_id}/deliveries/{msg}"))
            .await;
        (d["status"] == "failed").then_some(d)
    })
    .await;
    assert_eq!(again["attempts"], 3);
    assert_eq!(again["attempt_log"].as_array().unwrap().len(), 3);
    assert_eq!(broken.hits().len(), 3);
    // Only failed deliveries can be retried, and not to a disabled endpoint.
    let resp = app
        .post_json(
            &format!(
                "/api/v1/webhooks/{ok_id}/deliveries/{}/retry",
                delivered[0]["id"].as_str().unwrap()
            ),
            &json!({}),
        )
        .await;
    crate::helpers::assert_error(resp, StatusCode::CONFLICT, "conflict", Some("status")).await;
    let resp = app
        .post_json(
            &format!(
                "/api/v1/webhooks/{gone_id}/deliveries/{}/retry",
                gone_d[0]["id"].as_str().unwrap()
            ),
            &json!({}),
        )
        .await;
    crate::helpers::assert_error(resp, StatusCode::CONFLICT, "conflict", Some("enabled")).await;

    worker.stop().await;
    sim.shutdown().await;
    for r in [ok, gone, broken] {
        r.stop();
    }
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_that_never_answers_does_not_hold_up_articles() {
    let app = TestApp::spawn().await;
    let stuck = Receiver::spawn(Behaviour::Hang).await;
    let (stuck_id, _) = register(&app, &stuck.url, &[]).await;
    let sim = spawn_sim_with(|c| c.violation = Some(Violation::AnchorInHeading)).await;
    let worker = app
        .start_worker(&sim, |s| {
            fast_webhooks(s);
            // One webhook slot, held for 10 s by each attempt.
            s.webhooks.concurrency = 1;
            s.webhooks.timeout_ms = 10_000;
        })
        .await;
    let batch = app.submit_batch(4).await;
    let done = app
        .wait_for_batch(batch["id"].as_str().unwrap(), Duration::from_secs(60))
        .await;
    assert_eq!(done["counts"]["needs_review"], 4);
    // Every job finished while the only webhook slot was still stuck on its first attempt.
    let pending = deliveries(&app, &stuck_id).await;
    assert!(!pending.is_empty());
    assert!(
        pending.iter().all(|d| d["status"] == "pending"),
        "{pending:?}"
    );
    assert!(
        stuck.hits().len() <= 1,
        "one slot: {} requests",
        stuck.hits().len()
    );
    worker.stop().await;
    sim.shutdown().await;
    stuck.stop();
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_addresses_are_refused_unless_allow_listed() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::spawn(Behaviour::Status(200)).await;
    let (id, _) = register(&app, &receiver.url, &[]).await;
    // An event recorded straight into the outbox, as the review code does.
    let endpoint =
        webhook_endpoint::Entity::find_by_id(WebhookEndpointId::parse(&id).unwrap().uuid())
            .one(&app.db)
            .await
            .unwrap()
            .unwrap();
    let n = bacowr_shared::webhooks::outbox::record(
        &app.db,
        endpoint.org_id,
        WebhookEvent::ExportReady,
        json!({"batch_id": "batch_0192f0c4e5a27b6c8d9e0f1a2b3c4d5e"}),
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(n, 1);
    let sim = spawn_sim().await;
    // The default guard: loopback refused.
    let worker = app
        .start_worker(&sim, |s| {
            s.webhooks.retry_schedule_secs = vec![];
            s.dispatch.tick_ms = 200;
        })
        .await;
    let settled = wait_until_settled(&app, &id, 1).await;
    worker.stop().await;
    assert_eq!(settled[0]["status"], "failed");
    assert!(
        settled[0]["last_error"].as_str().unwrap().contains("SSRF"),
        "{}",
        settled[0]
    );
    assert!(settled[0]["last_status_code"].is_null());
    assert!(receiver.hits().is_empty());
    sim.shutdown().await;
    receiver.stop();
    app.cleanup().await;
}

//! Retrying the dead letter: one failed job, or every failed job of a batch.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use crate::{
    control::{assert_counts_match, jobs_of, post, post_as, status_name},
    helpers::{TestApp, assert_error, spawn_sim},
};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn retry_endpoints_requeue_failed_jobs() {
    let app = TestApp::spawn().await;
    let sim = spawn_sim().await;
    let batch = app.submit_batch(4).await;
    let id = batch["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/batches/{id}");
    let jobs = app.get_json(&format!("{path}/jobs")).await;
    let job_ids: Vec<String> = jobs["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(job_ids.len(), 4);

    // Only a failed job can be retried; a queued batch has none to retry.
    let resp = post(&app, &format!("/api/v1/jobs/{}/retry", job_ids[0])).await;
    let err = assert_error(resp, StatusCode::CONFLICT, "conflict", Some("status")).await;
    assert!(err["detail"].as_str().unwrap().contains("queued"), "{err}");
    let resp = post(&app, &format!("{path}/retry-failed")).await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let none: Value = resp.json().await.unwrap();
    assert_eq!(none["retried"], 0, "{none}");
    assert_eq!(none["batch"]["status"], "queued", "{none}");

    // A refused key fails every job.
    let worker = app
        .start_worker(&sim, |s| s.provider.api_key = "sk-wrong".into())
        .await;
    let failed = app.wait_for_batch(&id, Duration::from_secs(30)).await;
    worker.stop().await;
    assert_eq!(failed["status"], "ready_for_review", "{failed}");
    assert_eq!(failed["counts"]["failed"], 4, "{failed}");

    // One job back in the queue, with fresh attempts and no error.
    let resp = post(&app, &format!("/api/v1/jobs/{}/retry", job_ids[0])).await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let retried: Value = resp.json().await.unwrap();
    assert_eq!(retried["id"], job_ids[0].as_str());
    assert_eq!(retried["status"], "queued", "{retried}");
    assert_eq!(retried["attempts"], 0, "{retried}");
    assert!(retried["error"].is_null(), "{retried}");
    assert!(retried["finished_at"].is_null(), "{retried}");
    let reopened = app.get_json(&path).await;
    assert_eq!(reopened["status"], "running", "{reopened}");
    assert!(reopened["finished_at"].is_null(), "{reopened}");
    assert_counts_match(&reopened, &jobs_of(&app, &id).await);
    assert_eq!(reopened["counts"]["queued"], 1);
    assert_eq!(reopened["counts"]["failed"], 3);

    // Not twice: it is queued now.
    let resp = post(&app, &format!("/api/v1/jobs/{}/retry", job_ids[0])).await;
    assert_error(resp, StatusCode::CONFLICT, "conflict", Some("status")).await;

    // The rest of the dead letter, in one call.
    let resp = post(&app, &format!("{path}/retry-failed")).await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let all: Value = resp.json().await.unwrap();
    assert_eq!(all["retried"], 3, "{all}");
    assert_eq!(all["batch"]["status"], "running", "{all}");
    assert_eq!(all["batch"]["counts"]["queued"], 4, "{all}");
    assert_eq!(all["batch"]["counts"]["failed"], 0, "{all}");
    assert_counts_match(&all["batch"], &jobs_of(&app, &id).await);
    for j in jobs_of(&app, &id).await {
        assert_eq!(status_name(j.status), "queued");
        assert_eq!(j.attempts, j.attempt_floor, "a new round of attempts");
        assert!(j.attempts >= 1, "the count goes on: it keys the call log");
        assert!(j.error_code.is_none() && j.error_message.is_none());
    }

    // Other tenants and malformed ids.
    let other = app.other_org_key().await;
    let resp = post_as(&app, &other, &format!("/api/v1/jobs/{}/retry", job_ids[1])).await;
    assert_error(resp, StatusCode::NOT_FOUND, "not_found", None).await;
    let resp = post_as(&app, &other, &format!("{path}/retry-failed")).await;
    assert_error(resp, StatusCode::NOT_FOUND, "not_found", None).await;
    let resp = post(&app, "/api/v1/jobs/not-a-job/retry").await;
    assert_error(resp, StatusCode::BAD_REQUEST, "bad_request", Some("job_id")).await;
    let resp = post(&app, &format!("/api/v1/jobs/{id}/retry")).await;
    assert_error(resp, StatusCode::BAD_REQUEST, "bad_request", Some("job_id")).await;
    let resp = post(&app, "/api/v1/batches/batch_nope/retry-failed").await;
    assert_error(
        resp,
        StatusCode::BAD_REQUEST,
        "bad_request",
        Some("batch_id"),
    )
    .await;
    let resp = post(&app, "/api/v1/batches/batch_nope/cancel").await;
    assert_error(
        resp,
        StatusCode::BAD_REQUEST,
        "bad_request",
        Some("batch_id"),
    )
    .await;

    // With the right key, every job goes through on its fresh attempt.
    let done = app.drain_batch(&id, &sim).await;
    assert_eq!(done["status"], "ready_for_review", "{done}");
    assert_eq!(done["counts"]["succeeded"], 4, "{done}");
    let jobs = jobs_of(&app, &id).await;
    assert_counts_match(&done, &jobs);
    // One attempt in the new round; the failed round's attempt stays in the count (and its
    // calls in the call log, keyed by attempt).
    assert!(
        jobs.iter().all(|j| j.attempts == 2 && j.attempt_floor == 1),
        "{jobs:?}"
    );
    assert!(jobs.iter().all(|j| j.error_code.is_none()), "{jobs:?}");

    // A succeeded job is not retried.
    let resp = post(&app, &format!("/api/v1/jobs/{}/retry", job_ids[0])).await;
    let err = assert_error(resp, StatusCode::CONFLICT, "conflict", Some("status")).await;
    assert!(
        err["detail"].as_str().unwrap().contains("succeeded"),
        "{err}"
    );
    sim.shutdown().await;
    app.cleanup().await;
}

//! Steering accepted work: cancelling a batch mid-run, retrying the dead letter.

use std::{collections::HashMap, time::Duration};

use chrono::{DateTime, Utc};
use reqwest::{Response, StatusCode};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use llm_sim::{FaultProfile, Protocol, ScriptStep, Violation};

use bacowr_shared::{
    entities::{job, llm_call},
    testing::eventually,
};

use crate::helpers::{TestApp, assert_error, spawn_sim, spawn_sim_with};

/// POSTs an empty JSON body as the holder of `key`.
pub(crate) async fn post_as(app: &TestApp, key: &str, path: &str) -> Response {
    app.client
        .post(app.url(path))
        .bearer_auth(key)
        .json(&json!({}))
        .send()
        .await
        .unwrap()
}

pub(crate) async fn post(app: &TestApp, path: &str) -> Response {
    post_as(app, &app.api_key, path).await
}

/// The batch's jobs straight from Postgres.
pub(crate) async fn jobs_of(app: &TestApp, batch_id: &str) -> Vec<job::Model> {
    let id = bacowr_shared::ids::BatchId::parse(batch_id).unwrap();
    job::Entity::find()
        .filter(job::Column::BatchId.eq(id.uuid()))
        .all(&app.db)
        .await
        .unwrap()
}

pub(crate) fn status_name(status: bacowr_shared::domain::JobStatus) -> String {
    serde_json::to_value(status)
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned()
}

/// The batch counters equal the job states, one by one.
pub(crate) fn assert_counts_match(batch: &Value, jobs: &[job::Model]) {
    let mut by_status: HashMap<String, i64> = HashMap::new();
    for j in jobs {
        *by_status.entry(status_name(j.status)).or_default() += 1;
    }
    for status in [
        "queued",
        "running",
        "succeeded",
        "needs_review",
        "failed",
        "cancelled",
    ] {
        assert_eq!(
            batch["counts"][status].as_i64().unwrap(),
            by_status.get(status).copied().unwrap_or(0),
            "counter {status} vs the jobs {by_status:?}: {batch}"
        );
    }
    assert_eq!(batch["total_jobs"].as_i64().unwrap(), jobs.len() as i64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cancel_mid_batch_starts_nothing_afterwards() {
    let app = TestApp::spawn().await;
    let sim = spawn_sim_with(|c| c.latency = Duration::from_millis(500)).await;
    let batch = app.submit_batch(30).await;
    let id = batch["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/batches/{id}");

    let worker = app.start_worker(&sim, |s| s.worker.concurrency = 2).await;
    eventually("a few jobs started", Duration::from_secs(30), || async {
        let batch = app.get_json(&path).await;
        let started = batch["total_jobs"].as_i64()? - batch["counts"]["queued"].as_i64()?;
        (started >= 3).then_some(())
    })
    .await;

    let resp = post(&app, &format!("{path}/cancel")).await;
    let cancel_returned = Utc::now();
    let requests_at_cancel = sim.requests();
    let status = resp.status();
    let cancelled: Value = resp.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    assert_eq!(cancelled["status"], "cancelled", "{cancelled}");
    let cancelled_at: DateTime<Utc> = cancelled["cancelled_at"]
        .as_str()
        .expect("cancelled_at is set")
        .parse()
        .unwrap();
    assert!(cancelled_at <= cancel_returned);
    assert_eq!(cancelled["counts"]["queued"], 0, "{cancelled}");
    let running_at_cancel = cancelled["counts"]["running"].as_u64().unwrap();
    assert!(
        cancelled["counts"]["cancelled"].as_i64().unwrap() > 0,
        "most of the batch was still queued: {cancelled}"
    );

    // Jobs mid-call finish or stop at their next checkpoint; nothing is left queued or running.
    let done = app.wait_for_batch(&id, Duration::from_secs(30)).await;
    worker.stop().await;
    assert_eq!(done["status"], "cancelled", "{done}");
    assert_eq!(done["cancelled_at"], cancelled["cancelled_at"]);

    let jobs = jobs_of(&app, &id).await;
    assert_eq!(jobs.len(), 30);
    let late: Vec<_> = jobs
        .iter()
        .filter(|j| j.started_at.is_some_and(|s| s > cancel_returned))
        .map(|j| (j.row_index, j.started_at))
        .collect();
    assert!(
        late.is_empty(),
        "jobs started after the cancel returned at {cancel_returned}: {late:?}"
    );
    for j in &jobs {
        let status = status_name(j.status);
        assert!(
            ["succeeded", "needs_review", "cancelled"].contains(&status.as_str()),
            "job {} ended {status}",
            j.row_index
        );
        if j.started_at.is_none() {
            assert_eq!(status, "cancelled", "a queued job is cancelled");
            assert_eq!(j.attempts, 0);
        }
    }
    assert_counts_match(&done, &jobs);

    // Nothing was spent after the cancel beyond the calls already under way.
    let started = jobs.iter().filter(|j| j.started_at.is_some()).count() as u64;
    let requests = sim.requests();
    assert!(
        requests <= requests_at_cancel + running_at_cancel,
        "{requests} requests; {requests_at_cancel} answered and {running_at_cancel} jobs running at the cancel"
    );
    assert!(
        requests <= started,
        "{requests} requests for {started} started jobs"
    );

    // Cancelling again answers the cancelled batch unchanged.
    let resp = post(&app, &format!("{path}/cancel")).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let again: Value = resp.json().await.unwrap();
    assert_eq!(again, app.get_json(&path).await);
    assert_eq!(again["cancelled_at"], cancelled["cancelled_at"]);

    // Another organization sees no such batch.
    let other = app.other_org_key().await;
    let resp = post_as(&app, &other, &format!("{path}/cancel")).await;
    assert_error(resp, StatusCode::NOT_FOUND, "not_found", None).await;

    // A cancelled batch's jobs can't be retried.
    let resp = post(&app, &format!("{path}/retry-failed")).await;
    assert_error(resp, StatusCode::CONFLICT, "conflict", Some("status")).await;

    // A finished batch can't be cancelled.
    let finished = app.submit_batch(1).await;
    let finished_id = finished["id"].as_str().unwrap().to_owned();
    let finished = app.drain_batch(&finished_id, &sim).await;
    assert_eq!(finished["status"], "ready_for_review", "{finished}");
    let resp = post(&app, &format!("/api/v1/batches/{finished_id}/cancel")).await;
    let err = assert_error(resp, StatusCode::CONFLICT, "conflict", Some("status")).await;
    assert!(
        err["detail"].as_str().unwrap().contains("ready_for_review"),
        "{err}"
    );
    let unchanged = app
        .get_json(&format!("/api/v1/batches/{finished_id}"))
        .await;
    assert_eq!(unchanged["status"], "ready_for_review");
    assert!(unchanged["cancelled_at"].is_null());

    sim.shutdown().await;
    app.cleanup().await;
}

/// Every draft is too short, so each job calls the provider three times (the draft and two
/// regenerations): a job running at the cancel stops before its next call and keeps the
/// article it has, for review.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cancel_stops_running_jobs_before_their_next_call() {
    let app = TestApp::spawn().await;
    let sim = spawn_sim_with(|c| {
        c.latency = Duration::from_millis(500);
        c.violation = Some(Violation::Short);
    })
    .await;
    let batch = app.submit_batch(10).await;
    let id = batch["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/batches/{id}");
    let worker = app.start_worker(&sim, |s| s.worker.concurrency = 2).await;
    // The first drafts are answered: the running jobs are on to their regenerations.
    eventually(
        "the first drafts answered",
        Duration::from_secs(30),
        || async { (sim.requests() >= 2).then_some(()) },
    )
    .await;

    let resp = post(&app, &format!("{path}/cancel")).await;
    let cancel_returned = Utc::now();
    let requests_at_cancel = sim.requests();
    assert_eq!(resp.status(), StatusCode::OK);
    let cancelled: Value = resp.json().await.unwrap();
    assert_eq!(cancelled["status"], "cancelled", "{cancelled}");
    let running_at_cancel = cancelled["counts"]["running"].as_u64().unwrap();

    let done = app.wait_for_batch(&id, Duration::from_secs(30)).await;
    worker.stop().await;
    assert_eq!(done["status"], "cancelled", "{done}");
    let jobs = jobs_of(&app, &id).await;
    assert_counts_match(&done, &jobs);
    assert!(
        jobs.iter()
            .all(|j| j.started_at.is_none_or(|s| s <= cancel_returned)),
        "{jobs:?}"
    );
    let requests = sim.requests();
    assert!(
        requests <= requests_at_cancel + running_at_cancel,
        "{requests} requests; {requests_at_cancel} answered and {running_at_cancel} jobs running at the cancel"
    );
    for j in &jobs {
        let status = status_name(j.status);
        match j.started_at {
            None => assert_eq!(status, "cancelled"),
            // A draft exists: it is kept for review, not thrown away.
            Some(_) => assert!(
                ["needs_review", "cancelled"].contains(&status.as_str()),
                "job {} ended {status}",
                j.row_index
            ),
        }
    }
    // Every call made is in the log, and every job that ran has its draft.
    let calls = llm_call::Entity::find()
        .filter(llm_call::Column::BatchId.eq(jobs[0].batch_id))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(calls.len() as u64, requests);
    sim.shutdown().await;
    app.cleanup().await;
}

/// The provider fails every call and its breaker opens: each job waits inside the router for
/// it to reopen (up to `router.max_wait_secs`). A cancel ends that wait within seconds, and no
/// call starts afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cancel_ends_a_job_waiting_on_an_open_breaker() {
    let app = TestApp::spawn().await;
    let sim = spawn_sim().await;
    sim.set_faults(
        Protocol::OpenAi,
        FaultProfile {
            script: vec![ScriptStep {
                fault: "500".into(),
                seconds: 600.0,
                ..ScriptStep::default()
            }],
            ..FaultProfile::default()
        },
    );
    let batch = app.submit_batch(2).await;
    let id = batch["id"].as_str().unwrap().to_owned();
    let worker = app
        .start_worker(&sim, |s| {
            s.router.breaker_cooldown_secs = 120;
            s.router.breaker_min_calls = 2;
        })
        .await;
    eventually(
        "both jobs waiting on the breaker",
        Duration::from_secs(30),
        || async {
            let b = app.get_json(&format!("/api/v1/batches/{id}")).await;
            (b["counts"]["running"] == 2 && sim.requests() >= 2).then_some(())
        },
    )
    .await;

    let resp = post(&app, &format!("/api/v1/batches/{id}/cancel")).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let requests_at_cancel = sim.requests();
    let cancelled_at = std::time::Instant::now();
    let done = app.wait_for_batch(&id, Duration::from_secs(15)).await;
    let took = cancelled_at.elapsed();
    worker.stop().await;
    eprintln!("cancel ended jobs waiting on an open breaker after {took:?}");
    assert_eq!(done["counts"]["cancelled"], 2, "{done}");
    assert_eq!(done["counts"]["running"], 0, "{done}");
    assert_eq!(
        sim.requests(),
        requests_at_cancel,
        "no call after the cancel"
    );
    assert_counts_match(&done, &jobs_of(&app, &id).await);
    sim.shutdown().await;
    app.cleanup().await;
}

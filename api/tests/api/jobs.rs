use reqwest::StatusCode;
use serde_json::{Value, json};

use bacowr_shared::testing::eventually;

use crate::helpers::{TestApp, assert_error, error_fields, link, spawn_sim};

#[tokio::test]
async fn single_job_is_written_and_served_with_its_article() {
    let app = TestApp::spawn().await;
    let resp = app.post_json("/api/v1/jobs", &link(0)).await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let job: Value = resp.json().await.unwrap();
    let id = job["id"].as_str().unwrap();
    assert!(id.starts_with("job_"));
    assert_eq!(job["status"], "queued");
    assert!(job["batch_id"].is_null());
    assert!(job.get("article").is_none());

    let sim = spawn_sim().await;
    let worker = app.start_worker(&sim, |_| {}).await;
    let path = format!("/api/v1/jobs/{id}");
    let done = eventually(
        "the job succeeded",
        std::time::Duration::from_secs(30),
        || async {
            let job = app.get_json(&path).await;
            (job["status"] == "succeeded").then_some(job)
        },
    )
    .await;
    worker.stop().await;
    assert_eq!(done["attempts"], 1);
    assert_eq!(done["article"]["version"], 1);
    assert_eq!(done["article"]["language"], "sv");
    assert!(done["tokens_out"].as_i64().unwrap() > 0);
    assert!(done["cost_usd"].as_f64().unwrap() > 0.0);
    sim.shutdown().await;
    app.cleanup().await;
}

#[tokio::test]
async fn single_job_validation_names_fields() {
    let app = TestApp::spawn().await;
    let resp = app
        .post_json(
            "/api/v1/jobs",
            &json!({"publisher_domain": "ok.se", "target_url": "ftp://x.se/", "anchor_text": ""}),
        )
        .await;
    let err = assert_error(
        resp,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("target_url"),
    )
    .await;
    assert_eq!(err["errors"][1]["field"], "anchor_text");
    let resp = app
        .post_json("/api/v1/jobs", &json!({"target_url": 5}))
        .await;
    let err = assert_error(
        resp,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        None,
    )
    .await;
    let fields = error_fields(&err);
    assert_eq!(fields, ["publisher_domain", "target_url", "anchor_text"]);
    app.cleanup().await;
}

#[tokio::test]
async fn jobs_are_tenant_scoped() {
    let app = TestApp::spawn().await;
    let job: Value = app
        .post_json("/api/v1/jobs", &link(1))
        .await
        .json()
        .await
        .unwrap();
    let other = app.other_org_key().await;
    let resp = app
        .client
        .get(app.url(&format!("/api/v1/jobs/{}", job["id"].as_str().unwrap())))
        .bearer_auth(other)
        .send()
        .await
        .unwrap();
    assert_error(resp, StatusCode::NOT_FOUND, "not_found", None).await;
    let resp = app
        .get("/api/v1/jobs/batch_00000000000000000000000000000000")
        .await;
    assert_error(resp, StatusCode::BAD_REQUEST, "bad_request", Some("job_id")).await;
    app.cleanup().await;
}

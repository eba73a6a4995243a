//! The article pipeline end to end: autofix, regeneration with feedback, needs_review and
//! failure, driven by a simulator that breaks a chosen QC rule.

use reqwest::StatusCode;
use serde_json::{Value, json};

use llm_sim::Violation;

use crate::helpers::{TestApp, assert_error, batch_body, error_fields, spawn_sim_with};

async fn run_one(
    app: &TestApp,
    violation: Option<Violation>,
    once: bool,
    body: Value,
) -> (Value, Value, u64) {
    let sim = spawn_sim_with(|c| {
        c.violation = violation;
        c.violate_once = once;
    })
    .await;
    let resp = app.post_json("/api/v1/batches", &body).await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let batch: Value = resp.json().await.unwrap();
    let id = batch["id"].as_str().unwrap();
    let done = app.drain_batch(id, &sim).await;
    let jobs = app.get_json(&format!("/api/v1/batches/{id}/jobs")).await;
    let job = app
        .get_json(&format!(
            "/api/v1/jobs/{}",
            jobs["items"][0]["id"].as_str().unwrap()
        ))
        .await;
    let requests = sim.requests();
    sim.shutdown().await;
    (done, job, requests)
}

fn check<'a>(job: &'a Value, name: &str) -> &'a Value {
    job["article"]["qc_report"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == name)
        .unwrap_or_else(|| panic!("no check {name} in {job}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mangled_anchor_link_is_autofixed() {
    let app = TestApp::spawn().await;
    let (done, job, requests) =
        run_one(&app, Some(Violation::MangledAnchor), false, batch_body(1)).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(requests, 1, "no regeneration needed");
    assert!(
        !job["article"]["autofixes"].as_array().unwrap().is_empty(),
        "{job}"
    );
    assert_eq!(job["article"]["regenerations"], 0);
    assert_eq!(
        done["qc"]["first_try_passed"], 0,
        "an autofixed draft is not a first-try pass"
    );
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_draft_is_regenerated_with_feedback() {
    let app = TestApp::spawn().await;
    let (_, job, requests) = run_one(&app, Some(Violation::Short), true, batch_body(1)).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(requests, 2, "one regeneration");
    assert_eq!(job["article"]["regenerations"], 1);
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draft_that_never_passes_needs_review_with_its_report() {
    let app = TestApp::spawn().await;
    let (done, job, requests) =
        run_one(&app, Some(Violation::AnchorInHeading), false, batch_body(1)).await;
    assert_eq!(job["status"], "needs_review", "{job}");
    assert_eq!(requests, 3, "first draft and two regenerations");
    assert_eq!(job["article"]["qc_passed"], false);
    assert_eq!(check(&job, "anchor_not_in_heading")["passed"], false);
    assert_eq!(done["counts"]["needs_review"], 1);
    assert_eq!(done["qc"]["needs_review"], 1);
    assert_eq!(done["status"], "ready_for_review");
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unparseable_answers_fail_the_job() {
    let app = TestApp::spawn().await;
    let (done, job, requests) = run_one(&app, Some(Violation::BadJson), false, batch_body(1)).await;
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["error"]["code"], "bad_provider_output");
    assert!(
        requests >= 2,
        "the loop guard stops a model that repeats itself: {requests}"
    );
    assert_eq!(done["counts"]["failed"], 1);
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_overrides_change_the_rules() {
    let app = TestApp::spawn().await;
    let mut body = batch_body(1);
    body["qc"] = json!({"profile": "standard", "overrides": {"min_words": 300, "max_words": 500, "max_regenerations": 0}});
    let (done, job, requests) = run_one(&app, None, false, body).await;
    assert_eq!(done["qc"]["thresholds"]["max_words"], 500);
    assert_eq!(requests, 1, "no regenerations allowed");
    assert_eq!(
        job["status"], "needs_review",
        "an 820-word draft breaks a 500-word limit"
    );
    assert_eq!(check(&job, "word_count")["expected"], "300-500 words");
    app.cleanup().await;
}

#[tokio::test]
async fn bad_qc_settings_are_named() {
    let app = TestApp::spawn().await;
    let mut body = batch_body(1);
    body["qc"] = json!({"profile": "tiny", "overrides": {"x": 1}});
    body["default_language"] = json!("xx");
    let resp = app.post_json("/api/v1/batches", &body).await;
    let err = assert_error(
        resp,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        None,
    )
    .await;
    let fields = error_fields(&err);
    assert!(
        fields.contains(&"qc.profile") && fields.contains(&"default_language"),
        "{err}"
    );

    let mut body = batch_body(1);
    body["qc"] = json!({"overrides": {"min_words": 1000, "allow_lists": "yes"}});
    let resp = app.post_json("/api/v1/batches", &body).await;
    let err = assert_error(
        resp,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("qc.overrides.allow_lists"),
    )
    .await;
    assert_eq!(err["errors"].as_array().unwrap().len(), 1, "{err}");

    let resp = app
        .post_raw(
            "/api/v1/batches?qc_profile=long_form&default_language=sv",
            "text/csv",
            "publisher,target,anchor\nexample.com,https://a.se/x,ankare\n",
        )
        .await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let batch: Value = resp.json().await.unwrap();
    assert_eq!(batch["qc"]["profile"], "long_form");
    assert_eq!(batch["default_language"], "sv");
    app.cleanup().await;
}

#[tokio::test]
async fn dry_run_estimates_without_creating_anything() {
    let app = TestApp::spawn().await;
    let resp = app
        .post_json("/api/v1/batches?dry_run=true", &batch_body(175))
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let estimate: Value = resp.json().await.unwrap();
    assert_eq!(estimate["links"], 175);
    assert_eq!(estimate["expected"]["calls"], 175);
    assert_eq!(
        estimate["maximum"]["calls"], 525,
        "two regenerations per job at most"
    );
    let expected = estimate["expected"]["cost_usd"].as_f64().unwrap();
    assert!(expected > 0.0 && estimate["maximum"]["cost_usd"].as_f64().unwrap() > expected);
    let list = app.get_json("/api/v1/batches").await;
    assert!(
        list["items"].as_array().unwrap().is_empty(),
        "nothing created"
    );

    let mut bad = batch_body(2);
    bad["links"][0]["target_url"] = json!("nope");
    let resp = app.post_json("/api/v1/batches?dry_run=true", &bad).await;
    assert_error(
        resp,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("links[0].target_url"),
    )
    .await;
    let resp = app
        .post_json("/api/v1/batches?dry_run=maybe", &batch_body(1))
        .await;
    assert_error(
        resp,
        StatusCode::BAD_REQUEST,
        "bad_request",
        Some("dry_run"),
    )
    .await;
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publisher_never_gets_the_same_trust_link_twice_in_a_batch() {
    let app = TestApp::spawn().await;
    let sim = crate::helpers::spawn_sim().await;
    let same = crate::helpers::link(0);
    let body = json!({"links": [same.clone(), same]});
    let batch: Value = app
        .post_json("/api/v1/batches", &body)
        .await
        .json()
        .await
        .unwrap();
    let id = batch["id"].as_str().unwrap();
    app.drain_batch(id, &sim).await;
    let jobs = app.get_json(&format!("/api/v1/batches/{id}/jobs")).await;
    let mut kept: Vec<String> = Vec::new();
    for j in jobs["items"].as_array().unwrap() {
        let job = app
            .get_json(&format!("/api/v1/jobs/{}", j["id"].as_str().unwrap()))
            .await;
        for t in job["article"]["trust_links"].as_array().unwrap() {
            if t["kept"] == true {
                let url = t["url"].as_str().unwrap().to_owned();
                assert!(!kept.contains(&url), "{url} kept twice for one publisher");
                kept.push(url);
            }
        }
    }
    assert!(!kept.is_empty());
    sim.shutdown().await;
    app.cleanup().await;
}

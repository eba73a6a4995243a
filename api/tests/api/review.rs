//! The review workflow end to end: every transition legal and illegal, regeneration through
//! the real worker against the simulator, bulk decisions, batch completion, and counters
//! that agree with the items under two concurrent reviewers.

use std::collections::HashMap;

use reqwest::StatusCode;
use serde_json::{Value, json};

use llm_sim::Violation;

use crate::helpers::{TestApp, assert_error, spawn_sim, spawn_sim_with};

/// A batch of `n` links run through the worker: every item pending.
async fn reviewed_batch(app: &TestApp, n: usize) -> (String, Vec<Value>) {
    let sim = spawn_sim().await;
    let batch = app.submit_batch(n).await;
    let id = batch["id"].as_str().unwrap().to_owned();
    let done = app.drain_batch(&id, &sim).await;
    sim.shutdown().await;
    assert_eq!(done["status"], "ready_for_review", "{done}");
    assert_eq!(done["review"]["pending"], n, "{done}");
    let items = all_items(app, &id, "sort=row").await;
    assert_eq!(items.len(), n);
    (id, items)
}

pub async fn all_items(app: &TestApp, batch: &str, query: &str) -> Vec<Value> {
    let page = app
        .get_json(&format!("/api/v1/batches/{batch}/items?limit=200&{query}"))
        .await;
    page["items"].as_array().unwrap().clone()
}

pub async fn decide(app: &TestApp, batch: &str, item: &str, decision: &str) -> reqwest::Response {
    app.post_json(
        &format!("/api/v1/batches/{batch}/items/{item}/review"),
        &json!({"decision": decision, "notes": format!("{decision} by test")}),
    )
    .await
}

fn id(v: &Value) -> &str {
    v["id"].as_str().unwrap()
}

/// The batch's review counters equal a count of its items by status.
async fn assert_counters_agree(app: &TestApp, batch: &str) -> Value {
    let b = app.get_json(&format!("/api/v1/batches/{batch}")).await;
    let mut counted: HashMap<String, i64> = HashMap::new();
    for item in all_items(app, batch, "").await {
        *counted
            .entry(item["status"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    for status in ["pending", "approved", "rejected", "regenerating"] {
        assert_eq!(
            b["review"][status].as_i64().unwrap(),
            counted.get(status).copied().unwrap_or(0),
            "{status}: {b}"
        );
    }
    b
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approve_and_reject_only_decide_pending_items() {
    let app = TestApp::spawn().await;
    let (batch, items) = reviewed_batch(&app, 3).await;
    let (a, b) = (id(&items[0]), id(&items[1]));

    let resp = decide(&app, &batch, a, "approve").await;
    assert_eq!(resp.status(), StatusCode::OK);
    let item: Value = resp.json().await.unwrap();
    assert_eq!(item["status"], "approved");
    assert_eq!(item["notes"], "approve by test");
    assert!(item["reviewer"].as_str().unwrap().starts_with("key_"));
    assert!(item["reviewed_at"].is_string());
    assert_eq!(item["article"]["version"], 1);
    assert_eq!(item["history"][0]["decision"], "approve");
    assert_eq!(item["history"][0]["from"], "pending");
    let now = app.get_json(&format!("/api/v1/batches/{batch}")).await;
    assert_eq!(
        now["status"], "in_review",
        "the first decision starts the review"
    );

    // An approved item is final: no second decision, no regeneration.
    for decision in ["approve", "reject", "needs_regeneration"] {
        let resp = decide(&app, &batch, a, decision).await;
        let err = assert_error(resp, StatusCode::CONFLICT, "conflict", Some("status")).await;
        assert!(
            err["detail"]
                .as_str()
                .unwrap()
                .contains("the item is approved"),
            "{err}"
        );
    }
    let resp = decide(&app, &batch, b, "reject").await;
    assert_eq!(resp.status(), StatusCode::OK);
    for decision in ["approve", "reject"] {
        let resp = decide(&app, &batch, b, decision).await;
        let err = assert_error(resp, StatusCode::CONFLICT, "conflict", Some("status")).await;
        assert!(
            err["detail"]
                .as_str()
                .unwrap()
                .contains("the item is rejected"),
            "{err}"
        );
    }
    assert_counters_agree(&app, &batch).await;

    // Bad input names its field; other tenants and unknown items are 404.
    let path = format!("/api/v1/batches/{batch}/items/{}/review", id(&items[2]));
    let resp = app.post_json(&path, &json!({"decision": "maybe"})).await;
    assert_error(
        resp,
        StatusCode::BAD_REQUEST,
        "bad_request",
        Some("decision"),
    )
    .await;
    let resp = app.post_json(&path, &json!({"notes": "x"})).await;
    assert_error(
        resp,
        StatusCode::BAD_REQUEST,
        "bad_request",
        Some("decision"),
    )
    .await;
    let long = "x".repeat(4001);
    let resp = app
        .post_json(&path, &json!({"decision": "approve", "notes": long}))
        .await;
    assert_error(resp, StatusCode::BAD_REQUEST, "bad_request", Some("notes")).await;
    let other = app.other_org_key().await;
    let resp = app
        .client
        .post(app.url(&path))
        .bearer_auth(&other)
        .json(&json!({"decision": "approve"}))
        .send()
        .await
        .unwrap();
    assert_error(resp, StatusCode::NOT_FOUND, "not_found", None).await;
    let unknown = "item_0190a7a0a0a07a0a8a0a0a0a0a0a0a0a";
    let resp = decide(&app, &batch, unknown, "approve").await;
    assert_error(resp, StatusCode::NOT_FOUND, "not_found", None).await;
    let resp = decide(&app, &batch, "job_123", "approve").await;
    assert_error(
        resp,
        StatusCode::BAD_REQUEST,
        "bad_request",
        Some("item_id"),
    )
    .await;
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regeneration_brings_a_new_version_back_to_pending_and_the_batch_completes() {
    let app = TestApp::spawn().await;
    let (batch, items) = reviewed_batch(&app, 4).await;
    let d = id(&items[3]).to_owned();

    // A regeneration against a model that now writes too short: the new version fails QC.
    let resp = app
        .post_json(
            &format!("/api/v1/batches/{batch}/items/{d}/review"),
            &json!({"decision": "needs_regeneration", "notes": "More about pricing, please."}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let item: Value = resp.json().await.unwrap();
    assert_eq!(item["status"], "regenerating");
    assert_eq!(item["regenerations"], 1);
    let b = assert_counters_agree(&app, &batch).await;
    assert_eq!(b["review"]["regenerating"], 1);
    assert_eq!(b["counts"]["queued"], 1, "the job is queued again: {b}");
    let resp = decide(&app, &batch, &d, "approve").await;
    assert_error(resp, StatusCode::CONFLICT, "conflict", Some("status")).await;

    let short = spawn_sim_with(|c| c.violation = Some(Violation::Short)).await;
    app.drain_batch(&batch, &short).await;
    short.shutdown().await;
    let item = app
        .get_json(&format!("/api/v1/batches/{batch}/items/{d}"))
        .await;
    assert_eq!(item["status"], "pending", "{item}");
    // The regeneration's three drafts (the first and two retries with QC feedback) are all
    // kept as versions 2-4; the best of them, stored last, is the item's.
    assert_eq!(item["article_version"], 4);
    assert_eq!(
        item["qc"]["passed"], false,
        "the QC snapshot is the new version's"
    );
    assert_eq!(item["article"]["version"], 4);
    let versions = item["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 4);
    let mut drafts: Vec<i64> = versions[1..]
        .iter()
        .map(|v| v["regenerations"].as_i64().unwrap())
        .collect();
    drafts.sort_unstable();
    assert_eq!(
        drafts,
        [0, 1, 2],
        "every draft of the regeneration is a version"
    );
    let history: Vec<_> = item["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["decision"].as_str().unwrap())
        .collect();
    assert_eq!(history, ["needs_regeneration", "regenerated"]);
    // The first version stays readable.
    let v1 = app
        .get_json(&format!("/api/v1/batches/{batch}/items/{d}/versions/1"))
        .await;
    assert_eq!(v1["version"], 1);
    assert_eq!(v1["qc_passed"], true);
    let job = app
        .get_json(&format!(
            "/api/v1/jobs/{}",
            item["job_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(job["status"], "needs_review", "{job}");

    // Worst QC first; filters by QC result and status.
    let sorted = all_items(&app, &batch, "").await;
    assert_eq!(id(&sorted[0]), d, "the failing item sorts first");
    let failing = all_items(&app, &batch, "qc=failed").await;
    assert_eq!(failing.len(), 1);
    let passing = all_items(&app, &batch, "qc=passed&status=pending").await;
    assert_eq!(passing.len(), 3);

    // Approve every pending item that passed QC in one request: the failing one stays.
    let resp = app
        .post_json(
            &format!("/api/v1/batches/{batch}/review"),
            &json!({"decision": "approve", "all_passing_qc": true}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let bulk: Value = resp.json().await.unwrap();
    assert_eq!(bulk["applied"].as_array().unwrap().len(), 3, "{bulk}");
    assert_eq!(bulk["batch"]["status"], "in_review");
    assert_counters_agree(&app, &batch).await;

    // Rejecting the last pending item completes the review.
    let resp = decide(&app, &batch, &d, "reject").await;
    assert_eq!(resp.status(), StatusCode::OK);
    let b = assert_counters_agree(&app, &batch).await;
    assert_eq!(b["status"], "completed", "{b}");
    assert!(b["completed_at"].is_string());
    assert_eq!(b["review"]["approved"], 3);
    assert_eq!(b["review"]["rejected"], 1);

    // A rejected item can still be sent back: the batch reopens, then completes again.
    let resp = decide(&app, &batch, &d, "needs_regeneration").await;
    assert_eq!(resp.status(), StatusCode::OK);
    let b = app.get_json(&format!("/api/v1/batches/{batch}")).await;
    assert_eq!(b["status"], "in_review", "{b}");
    let sim = spawn_sim().await;
    app.drain_batch(&batch, &sim).await;
    sim.shutdown().await;
    let item = app
        .get_json(&format!("/api/v1/batches/{batch}/items/{d}"))
        .await;
    assert_eq!(item["status"], "pending");
    assert_eq!(
        item["article_version"], 5,
        "one draft, passing, after versions 1-4"
    );
    assert_eq!(item["qc"]["passed"], true);
    let resp = decide(&app, &batch, &d, "approve").await;
    assert_eq!(resp.status(), StatusCode::OK);
    let b = assert_counters_agree(&app, &batch).await;
    assert_eq!(b["status"], "completed");
    assert_eq!(b["review"]["approved"], 4);
    assert_eq!(
        b["qc"]["first_try_passed"], 4,
        "regenerations are not first tries"
    );
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_regeneration_that_fails_leaves_the_previous_version_under_review() {
    let app = TestApp::spawn().await;
    let (batch, items) = reviewed_batch(&app, 1).await;
    let a = id(&items[0]).to_owned();
    let resp = decide(&app, &batch, &a, "needs_regeneration").await;
    assert_eq!(resp.status(), StatusCode::OK);
    // The provider now refuses the key: no new article.
    let sim = spawn_sim().await;
    let worker = app
        .start_worker(&sim, |s| s.provider.api_key = "sk-wrong".into())
        .await;
    let item = bacowr_shared::testing::eventually(
        "the item is back under review",
        std::time::Duration::from_secs(60),
        || async {
            let item = app
                .get_json(&format!("/api/v1/batches/{batch}/items/{a}"))
                .await;
            (item["status"] == "pending").then_some(item)
        },
    )
    .await;
    worker.stop().await;
    sim.shutdown().await;
    assert_eq!(item["article_version"], 1);
    let last = item["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["decision"], "regeneration_failed", "{item}");
    let job = app
        .get_json(&format!(
            "/api/v1/jobs/{}",
            item["job_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(
        job["status"], "succeeded",
        "the job keeps its article: {job}"
    );
    let b = assert_counters_agree(&app, &batch).await;
    assert_eq!(b["counts"]["succeeded"], 1, "{b}");
    assert_eq!(b["counts"]["failed"], 0, "{b}");
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_reviewers_at_once_decide_each_item_exactly_once() {
    let app = TestApp::spawn().await;
    let (batch, items) = reviewed_batch(&app, 8).await;
    let ids: Vec<String> = items.iter().map(|i| id(i).to_owned()).collect();
    let reviewer = |decision: &'static str| {
        let ids = ids.clone();
        let app = &app;
        let batch = batch.clone();
        async move {
            let mut won = 0;
            for item in &ids {
                let resp = decide(app, &batch, item, decision).await;
                match resp.status() {
                    StatusCode::OK => won += 1,
                    StatusCode::CONFLICT => {}
                    other => panic!("{other}: {}", resp.text().await.unwrap()),
                }
            }
            won
        }
    };
    let bulk = async {
        let resp = app
            .post_json(
                &format!("/api/v1/batches/{batch}/review"),
                &json!({"decision": "reject", "item_ids": ids.iter().rev().collect::<Vec<_>>()}),
            )
            .await;
        assert_eq!(resp.status(), StatusCode::OK);
        let v: Value = resp.json().await.unwrap();
        v["applied"].as_array().unwrap().len()
    };
    let (approved, rejected, bulk_rejected) =
        tokio::join!(reviewer("approve"), reviewer("reject"), bulk);
    assert_eq!(approved + rejected + bulk_rejected, 8);
    let b = assert_counters_agree(&app, &batch).await;
    assert_eq!(b["review"]["approved"], approved);
    assert_eq!(b["review"]["rejected"], rejected + bulk_rejected);
    assert_eq!(b["status"], "completed");
    for item in &ids {
        let full = app
            .get_json(&format!("/api/v1/batches/{batch}/items/{item}"))
            .await;
        assert_eq!(full["history"].as_array().unwrap().len(), 1, "{full}");
    }
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_requests_are_validated_and_regeneration_waits_for_generation() {
    let app = TestApp::spawn().await;
    let (batch, items) = reviewed_batch(&app, 2).await;
    let path = format!("/api/v1/batches/{batch}/review");
    for (body, field) in [
        (json!({"decision": "approve"}), "item_ids"),
        (json!({"decision": "approve", "item_ids": []}), "item_ids"),
        (
            json!({"decision": "approve", "item_ids": [id(&items[0])], "all_passing_qc": true}),
            "item_ids",
        ),
        (
            json!({"decision": "approve", "item_ids": [id(&items[0]), "nope"]}),
            "item_ids[1]",
        ),
        (json!({"item_ids": [id(&items[0])]}), "decision"),
    ] {
        let resp = app.post_json(&path, &body).await;
        assert_error(resp, StatusCode::BAD_REQUEST, "bad_request", Some(field)).await;
    }
    let resp = app
        .post_json(
            &path,
            &json!({"decision": "approve", "item_ids": [id(&items[0])], "extra": 1}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);

    // Approving one listed twice decides it once; an already-decided one is refused.
    let resp = app
        .post_json(
            &path,
            &json!({"decision": "approve", "item_ids": [id(&items[0]), id(&items[0])]}),
        )
        .await;
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["applied"].as_array().unwrap().len(), 1, "{v}");
    let resp = app
        .post_json(
            &path,
            &json!({"decision": "reject", "item_ids": [id(&items[0]), id(&items[1])]}),
        )
        .await;
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["applied"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["refused"][0]["item_id"], id(&items[0]));
    assert_eq!(v["refused"][0]["status"], "approved");

    // A batch still generating takes approvals but not regenerations.
    let running = app.submit_batch(1).await;
    let resp = app
        .post_json(
            &format!("/api/v1/batches/{}/review", id(&running)),
            &json!({"decision": "needs_regeneration", "all_passing_qc": true}),
        )
        .await;
    assert_error(resp, StatusCode::CONFLICT, "conflict", Some("status")).await;
    app.cleanup().await;
}

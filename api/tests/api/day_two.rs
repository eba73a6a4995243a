//! "Day two" in one test, entirely through the API: a batch is submitted and watched live,
//! reviewed (approved, rejected, one sent back for regeneration with notes), completed, a
//! signed `export.ready` webhook arrives, and the export it points to holds exactly the
//! approved articles.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, spawn_sim},
    live::{Sse, batch_is},
    webhooks::{
        receiver::{Behaviour, Receiver},
        register, verify,
    },
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_watch_review_regenerate_export_and_hear_about_it() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::spawn(Behaviour::FailFirst(1)).await;
    let (_, secret) = register(
        &app,
        &receiver.url,
        &["batch.ready_for_review", "batch.completed", "export.ready"],
    )
    .await;
    let sim = spawn_sim().await;
    let batch = app.submit_batch(4).await;
    let id = batch["id"].as_str().unwrap().to_owned();
    let mut live = Sse::open(&app.address, &app.api_key, &id, None).await;
    let worker = app
        .start_worker(&sim, |s| {
            s.webhooks.allow_hosts = vec!["127.0.0.0/8".into()];
            s.webhooks.retry_schedule_secs = vec![1, 1, 1];
        })
        .await;
    live.until(batch_is("ready_for_review")).await;

    let items = app
        .get_json(&format!("/api/v1/batches/{id}/items?sort=row"))
        .await["items"]
        .as_array()
        .unwrap()
        .clone();
    let ids: Vec<&str> = items.iter().map(|i| i["id"].as_str().unwrap()).collect();
    let resp = app
        .post_json(
            &format!("/api/v1/batches/{id}/review"),
            &json!({"decision": "approve", "item_ids": [ids[0], ids[1]]}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let review = |item: &str, decision: &str| {
        let path = format!("/api/v1/batches/{id}/items/{item}/review");
        let body = json!({"decision": decision, "notes": "Shorter intro; mention delivery times."});
        let app = &app;
        async move { app.post_json(&path, &body).await }
    };
    assert_eq!(review(ids[2], "reject").await.status(), StatusCode::OK);
    assert_eq!(
        review(ids[3], "needs_regeneration").await.status(),
        StatusCode::OK
    );
    // The new version arrives live, then is approved: the review is complete.
    let frames = live
        .until(|f| f.event == "review.changed" && f.data["data"]["decision"] == "regenerated")
        .await;
    assert!(
        frames
            .iter()
            .any(|f| f.event == "review.changed" && f.data["data"]["decision"] == "reject"),
        "reviewer decisions are announced too"
    );
    assert_eq!(review(ids[3], "approve").await.status(), StatusCode::OK);
    live.until(batch_is("completed")).await;

    // export.ready arrives signed (after one refused attempt) and points at the export.
    let ready = bacowr_shared::testing::eventually(
        "export.ready delivered on its second attempt",
        std::time::Duration::from_secs(60),
        || async {
            let hits: Vec<_> = receiver
                .hits()
                .into_iter()
                .filter(|h| h.json()["type"] == "export.ready")
                .collect();
            (hits.len() >= 2).then(|| hits[hits.len() - 1].clone())
        },
    )
    .await;
    verify(&secret, &ready);
    let event = ready.json();
    assert_eq!(event["data"]["review"]["approved"], 3, "{event}");
    let types: Vec<Value> = receiver
        .hits()
        .iter()
        .map(|h| h.json()["type"].clone())
        .collect();
    assert!(types.contains(&json!("batch.completed")), "{types:?}");
    assert!(
        types.contains(&json!("batch.ready_for_review")),
        "{types:?}"
    );
    worker.stop().await;
    sim.shutdown().await;

    let csv_path = event["data"]["exports"]["csv"].as_str().unwrap();
    let resp = app.get(csv_path).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body = resp.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 3, "the approved articles only:\n{body}");
    let rejected_anchor = items[2]["anchor_text"].as_str().unwrap();
    assert!(!body.contains(rejected_anchor), "{body}");
    let regenerated = app
        .get_json(&format!("/api/v1/batches/{id}/items/{}", ids[3]))
        .await;
    assert_eq!(regenerated["article_version"], 2);
    assert_eq!(regenerated["versions"].as_array().unwrap().len(), 2);
    receiver.stop();
    app.cleanup().await;
}

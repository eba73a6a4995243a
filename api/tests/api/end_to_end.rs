//! The walking skeleton's promise: a 175-link batch goes in through the API, the real worker
//! writes every article through the provider protocol (llm-sim), and the API serves them all.

use std::time::Duration;

use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::Value;

use bacowr_shared::entities::{article, batch, job, llm_call};

use crate::helpers::{TestApp, spawn_sim};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_175_link_batch_end_to_end() {
    a_175_link_batch(TestApp::spawn().await).await;
}

/// The same batch on the embedded build (#8): SQLite database, SQLite queue and in-process
/// backplane, shared by the API and the worker in this process; no Postgres, no Redis.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_175_link_batch_end_to_end_embedded() {
    let app = TestApp::spawn_embedded().await;
    assert_eq!(
        app.db.get_database_backend(),
        sea_orm::DbBackend::Sqlite,
        "the embedded build runs on SQLite"
    );
    a_175_link_batch(app).await;
}

async fn a_175_link_batch(app: TestApp) {
    let sim = spawn_sim().await;
    let batch = app.submit_batch(175).await;
    let id = batch["id"].as_str().unwrap().to_owned();

    let worker = app.start_worker(&sim, |_| {}).await;
    let done = app.wait_for_batch(&id, Duration::from_secs(120)).await;
    worker.stop().await;

    assert_eq!(done["status"], "ready_for_review", "{done}");
    assert_eq!(done["counts"]["succeeded"], 175, "{done}");
    assert_eq!(done["qc"]["passed"], 175, "{done}");
    assert_eq!(done["qc"]["first_try_pass_rate"], 1.0, "{done}");
    assert_eq!(done["qc"]["profile"], "standard");
    assert_eq!(done["progress"], 1.0);
    assert!(done["finished_at"].is_string());
    assert!(done["tokens_in"].as_i64().unwrap() > 0);
    assert!(done["cost_usd"].as_f64().unwrap() > 0.0);

    // Every job serves its article, with the anchor link exactly once.
    let mut cursor: Option<String> = None;
    let mut seen = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/batches/{id}/jobs?limit=100&cursor={c}"),
            None => format!("/api/v1/batches/{id}/jobs?limit=100"),
        };
        let page = app.get_json(&path).await;
        for job in page["items"].as_array().unwrap() {
            let full = app
                .get_json(&format!("/api/v1/jobs/{}", job["id"].as_str().unwrap()))
                .await;
            assert_eq!(full["status"], "succeeded", "{full}");
            let article = &full["article"];
            let link = format!(
                "[{}]({})",
                full["anchor_text"].as_str().unwrap(),
                full["target_url"].as_str().unwrap()
            );
            let body = article["body_markdown"].as_str().unwrap();
            assert_eq!(body.matches(&link).count(), 1, "{body}");
            assert!(article["word_count"].as_i64().unwrap() > 600, "{article}");
            assert!(!article["title"].as_str().unwrap().is_empty());
            assert_eq!(article["language"], full["language"]);
            assert_eq!(article["model"], "sim-writer");
            // The QC report is served, every check passed, with measured values.
            assert_eq!(article["qc_passed"], true, "{article}");
            let checks = article["qc_report"]["checks"].as_array().unwrap();
            assert!(checks.len() >= 12, "{article}");
            assert!(
                checks
                    .iter()
                    .all(|c| c["passed"] == true && !c["measured"].is_null()
                        || c["check"] == "banned_phrases")
            );
            // Trust links come from the target page's sources and were verified.
            let kept: Vec<&Value> = article["trust_links"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|t| t["kept"] == true)
                .collect();
            assert!(!kept.is_empty(), "{article}");
            assert!(article["meta_description"].is_string());
            assert_eq!(full["versions"].as_array().unwrap().len(), 1);
            seen += 1;
        }
        cursor = page["next_cursor"].as_str().map(str::to_owned);
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(seen, 175);

    // Exactly one article and one provider call per job.
    assert_eq!(article::Entity::find().count(&app.db).await.unwrap(), 175);
    let calls = llm_call::Entity::find().all(&app.db).await.unwrap();
    assert_eq!(calls.len(), 175);
    assert_eq!(sim.requests(), 175);

    // Costs add up exactly: each call priced from the table (llm-sim: $0.15 in, $0.075 cached
    // in, $0.60 out per million tokens), summed on jobs, the batch and the organization.
    for c in &calls {
        assert!(
            c.tokens_cached > 0 && c.tokens_cached < c.tokens_in,
            "{c:?}"
        );
        let expected = (0.15 * (c.tokens_in - c.tokens_cached) as f64
            + 0.075 * c.tokens_cached as f64
            + 0.60 * c.tokens_out as f64)
            .round() as i64;
        assert_eq!(c.cost_micros, expected, "{c:?}");
    }
    let call_micros: i64 = calls.iter().map(|c| c.cost_micros).sum();
    let job_micros: i64 = job::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .iter()
        .map(|j| j.cost_micros)
        .sum();
    let batch_row = batch::Entity::find().one(&app.db).await.unwrap().unwrap();
    assert_eq!(job_micros, call_micros);
    assert_eq!(batch_row.cost_micros, call_micros);
    let usage = app.get_json("/api/v1/usage").await;
    assert_eq!(usage["cost_usd"], done["cost_usd"], "{usage}");
    assert_eq!(usage["calls"], 175);
    assert_eq!(usage["by_model"][0]["provider"], "llm-sim");
    sim.shutdown().await;
    app.cleanup().await;
}

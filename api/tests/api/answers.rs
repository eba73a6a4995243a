//! Whole batches against a primary that answers HTTP 200 with output nobody can use: every
//! job is written by the fallback, the article says who wrote it, the primary's breaker is
//! open for the whole fleet, and analytics count its failed calls. And the cost side: a batch
//! whose trust links can't be verified spends one call per job, not three.

use std::time::Duration;

use bacowr_shared::config::Settings;
use llm_sim::{FaultProfile, Protocol};
use serde_json::{Value, json};

use crate::{
    helpers::{TestApp, site_url, spawn_sim_with},
    providers::deployment,
};

fn content(kind: &str) -> FaultProfile {
    FaultProfile {
        content: [(kind.to_owned(), 1.0)].into(),
        ..FaultProfile::default()
    }
}

async fn all_jobs(app: &TestApp, batch_id: &str) -> Vec<Value> {
    let mut jobs = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/api/v1/batches/{batch_id}/jobs?limit=100");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page = app.get_json(&path).await;
        jobs.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return jobs,
        }
    }
}

/// The primary (Anthropic protocol) answers every call with `fault`; two worker runtimes
/// with their own routers share the fleet breaker through Redis.
async fn batch_through_an_unusable_primary(fault: &str, class: &str) {
    let sim = spawn_sim_with(|_| {}).await;
    sim.set_faults(Protocol::Anthropic, content(fault));
    let (claude, gpt) = (
        deployment("anthropic", sim.base_url()),
        deployment("openai", sim.openai_base_url()),
    );
    let chain = move |s: &mut Settings| {
        s.router.chain = vec!["claude".into(), "gpt".into()];
        s.deployments = [
            ("claude".to_owned(), claude.clone()),
            ("gpt".to_owned(), gpt.clone()),
        ]
        .into();
        s.router.breaker_min_calls = 3;
        s.router.breaker_window = 10;
        // Open for the rest of the test, so its fleet-wide state can be seen afterwards.
        s.router.breaker_cooldown_secs = 300;
        s.worker.concurrency = 8;
    };
    let app = TestApp::spawn_with(chain.clone()).await;
    let batch = app.submit_batch(175).await;
    let id = batch["id"].as_str().unwrap().to_owned();
    let workers = [
        app.start_worker(&sim, chain.clone()).await,
        app.start_worker(&sim, chain).await,
    ];
    let done = app.wait_for_batch(&id, Duration::from_secs(180)).await;
    for w in workers {
        w.stop().await;
    }

    assert_eq!(done["counts"]["succeeded"], 175, "{fault}: {done}");
    let primary = sim.served(Protocol::Anthropic);
    let fallback = sim.served(Protocol::OpenAi);
    eprintln!("{fault} figures: primary {primary:?}, fallback {fallback:?}");
    assert_eq!(
        fallback.ok, 175,
        "the fallback wrote every job: {fallback:?}"
    );
    assert!(
        primary.requests < 60,
        "the breaker kept most jobs off the primary: {primary:?}"
    );

    // Who wrote each article, as every job view says it.
    for job in all_jobs(&app, &id).await.iter().step_by(7) {
        let view = app
            .get_json(&format!("/api/v1/jobs/{}", job["id"].as_str().unwrap()))
            .await;
        let article = &view["article"];
        assert_eq!(article["deployment"], "gpt", "{view}");
        assert_eq!(article["provider"], "openai", "{view}");
        assert_eq!(article["model"], "openai-sim", "{view}");
    }

    let providers = app.get_json("/api/v1/providers").await;
    let claude = providers["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "claude")
        .unwrap();
    assert!(
        claude["fleet_open_until"].is_string(),
        "the primary's breaker is open fleet-wide: {claude}"
    );

    let costs = app.get_json("/api/v1/analytics/costs").await;
    let by_provider = costs["by_provider"].as_array().unwrap();
    let failed = by_provider
        .iter()
        .find(|p| p["provider"] == "claude")
        .unwrap_or_else(|| panic!("{costs}"));
    assert_eq!(failed["failed_calls"], primary.requests, "{costs}");
    assert_eq!(failed["calls"], primary.requests, "{costs}");

    let calls = app.get_json(&format!("/api/v1/batches/{id}/calls")).await;
    assert_eq!(calls["failed_calls"], primary.requests, "{calls}");
    assert_eq!(calls["calls"], primary.requests + 175, "{calls}");
    assert_eq!(calls["regeneration_calls"], 0, "{calls}");
    let outcomes = calls["by_outcome"].as_array().unwrap();
    assert!(
        outcomes
            .iter()
            .any(|o| o["outcome"] == class && o["calls"] == primary.requests),
        "{calls}"
    );
    sim.shutdown().await;
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_175_link_batch_gets_through_a_primary_that_writes_prose() {
    batch_through_an_unusable_primary("prose", "unparseable").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_175_link_batch_gets_through_a_primary_that_is_cut_off() {
    batch_through_an_unusable_primary("truncated", "truncated").await;
}

/// Client pages whose sources are all gone: no trust link can be verified, so no other draft
/// could pass that check. Each job is written once and handed to review with the reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unverifiable_trust_links_cost_one_call_per_job() {
    let sim = spawn_sim_with(|_| {}).await;
    let app = TestApp::spawn().await;
    let links: Vec<Value> = (0..12)
        .map(|i| {
            json!({
                "publisher_domain": format!("news{i}.com"),
                "target_url": site_url(&format!("/page/gadget-{i}?lang=en&sources=dead")),
                "anchor_text": format!("gadget deal {i}"),
                "language": "en",
            })
        })
        .collect();
    let resp = app
        .post_json(
            "/api/v1/batches",
            &json!({"name": "dead sources", "links": links}),
        )
        .await;
    assert_eq!(resp.status(), reqwest::StatusCode::ACCEPTED);
    let batch: Value = resp.json().await.unwrap();
    let id = batch["id"].as_str().unwrap().to_owned();
    let done = app.drain_batch(&id, &sim).await;

    assert_eq!(done["counts"]["needs_review"], 12, "{done}");
    assert_eq!(
        sim.served(Protocol::OpenAi).requests,
        12,
        "one call per job, not three"
    );
    let calls = app.get_json(&format!("/api/v1/batches/{id}/calls")).await;
    assert_eq!(calls["calls"], 12, "{calls}");
    assert_eq!(calls["regeneration_calls"], 0, "{calls}");
    let job = &all_jobs(&app, &id).await[0];
    let view = app
        .get_json(&format!("/api/v1/jobs/{}", job["id"].as_str().unwrap()))
        .await;
    let report = &view["article"]["qc_report"];
    assert!(
        report.to_string().contains("not_regenerated"),
        "the reason is on the article: {report}"
    );
    sim.shutdown().await;
    app.cleanup().await;
}

/// A deployment that can't read pages says so on the estimate, the submission's answer and
/// the batch, before anyone wonders why its articles went to review.
#[tokio::test]
async fn what_the_set_up_cannot_check_is_said_up_front() {
    let app = TestApp::spawn_with(|s| s.context.enabled = false).await;
    let body = crate::helpers::batch_body(2);
    let estimate: Value = app
        .post_json("/api/v1/batches?dry_run=true", &body)
        .await
        .json()
        .await
        .unwrap();
    let accepted = app.submit_batch(2).await;
    let id = accepted["id"].as_str().unwrap();
    let view = app.get_json(&format!("/api/v1/batches/{id}")).await;
    for answer in [&estimate, &accepted, &view] {
        assert!(
            answer["notices"].to_string().contains("trust link"),
            "{answer}"
        );
    }
    app.cleanup().await;

    let app = TestApp::spawn().await;
    let view = app.submit_batch(1).await;
    assert!(view.get("notices").is_none(), "nothing to say: {view}");
    app.cleanup().await;
}

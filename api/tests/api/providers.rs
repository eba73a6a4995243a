//! A provider outage mid-batch: the primary fails every call for a while, the fallback carries
//! the batch, and the primary is back in use once it recovers. No job is lost or failed.

use std::time::Duration;

use bacowr_shared::config::DeploymentSettings;
use llm_sim::{FaultProfile, Protocol, ScriptStep};

use crate::helpers::{TestApp, spawn_sim_with};

pub fn deployment(kind: &str, base_url: String) -> DeploymentSettings {
    DeploymentSettings {
        base_url,
        api_key: "sk-test".into(),
        timeout_secs: 10,
        price_provider: "llm-sim".into(),
        ..DeploymentSettings::new(kind.parse().unwrap(), &format!("{kind}-sim"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_175_link_batch_rides_out_a_primary_outage() {
    // 150 ms per answer and 4 jobs at a time: the batch takes several seconds, so the outage
    // below is a part of it, not all of it.
    let sim = spawn_sim_with(|c| c.latency = Duration::from_millis(150)).await;
    // The primary (Anthropic protocol) fails every call for its first 3 s (503s, then 529s),
    // then recovers. (The 30 s, shortened to keep CI fast; the mechanics are the same.)
    sim.set_faults(
        Protocol::Anthropic,
        FaultProfile {
            script: vec![
                ScriptStep {
                    fault: "503".into(),
                    seconds: 2.0,
                    ..ScriptStep::default()
                },
                ScriptStep {
                    fault: "529".into(),
                    seconds: 1.0,
                    ..ScriptStep::default()
                },
            ],
            ..FaultProfile::default()
        },
    );
    let (claude, gpt) = (
        deployment("anthropic", sim.base_url()),
        deployment("openai", sim.openai_base_url()),
    );
    let chain = move |s: &mut bacowr_shared::config::Settings| {
        s.router.chain = vec!["claude".into(), "gpt".into()];
        s.deployments = [
            ("claude".to_owned(), claude.clone()),
            ("gpt".to_owned(), gpt.clone()),
        ]
        .into();
    };
    // API and workers share one configuration, as in production.
    let app = TestApp::spawn_with(chain.clone()).await;
    let batch = app.submit_batch(175).await;
    let id = batch["id"].as_str().unwrap().to_owned();
    let worker = app
        .start_worker(&sim, move |s| {
            chain(s);
            s.router.breaker_cooldown_secs = 1;
            s.router.breaker_min_calls = 3;
            s.router.breaker_window = 10;
            s.worker.concurrency = 4;
        })
        .await;
    let done = app.wait_for_batch(&id, Duration::from_secs(120)).await;
    worker.stop().await;

    assert_eq!(done["counts"]["succeeded"], 175, "every job done: {done}");
    assert_eq!(done["counts"]["failed"], 0);
    let anthropic = sim.served(Protocol::Anthropic);
    let openai = sim.served(Protocol::OpenAi);
    eprintln!("outage figures: primary {anthropic:?}, fallback {openai:?}");
    // The breaker keeps calls off the failing primary: a handful of failures, not one per job.
    assert!(
        anthropic.faulted > 0 && anthropic.faulted < 40,
        "the outage was met and contained: {anthropic:?}"
    );
    assert!(openai.ok > 0, "the fallback carried jobs: {openai:?}");
    assert!(
        anthropic.ok > 0,
        "the primary is back in use after recovery: {anthropic:?}"
    );
    assert_eq!(anthropic.ok + openai.ok, 175, "one successful call per job");
    // Ops see both deployments: breakers as the worker reported them, the primary's recent
    // failures in its success rate, latency percentiles.
    let providers = app.get_json("/api/v1/providers").await;
    let list = providers["deployments"].as_array().unwrap();
    assert_eq!(list.len(), 2, "{providers}");
    let primary = &list[0];
    assert_eq!(primary["name"], "claude");
    assert_eq!(primary["kind"], "anthropic");
    assert!(
        primary["recent_success_rate"].as_f64().unwrap() < 1.0,
        "{primary}"
    );
    assert!(
        primary["recent_latency"]["p95_ms"].as_i64().unwrap() >= 150,
        "{primary}"
    );
    let b = &primary["breakers"];
    assert!(
        b["closed"].as_u64().unwrap()
            + b["open"].as_u64().unwrap()
            + b["half_open"].as_u64().unwrap()
            >= 1,
        "{primary}"
    );
    let usage = app.get_json("/api/v1/usage").await;
    let models: Vec<&str> = usage["by_model"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["provider"].as_str().unwrap())
        .collect();
    assert!(
        models.contains(&"claude") && models.contains(&"gpt"),
        "{usage}"
    );
    sim.shutdown().await;
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_can_pin_a_deployment() {
    let sim = spawn_sim_with(|_| {}).await;
    let (claude, gpt) = (
        deployment("anthropic", sim.base_url()),
        deployment("openai", sim.openai_base_url()),
    );
    let chain = move |s: &mut bacowr_shared::config::Settings| {
        s.router.chain = vec!["claude".into(), "gpt".into()];
        s.deployments = [
            ("claude".to_owned(), claude.clone()),
            ("gpt".to_owned(), gpt.clone()),
        ]
        .into();
    };
    let app = TestApp::spawn_with(chain.clone()).await;

    let mut body = crate::helpers::batch_body(3);
    body["providers"] = serde_json::json!(["nope"]);
    let resp = app.post_json("/api/v1/batches", &body).await;
    crate::helpers::assert_error(
        resp,
        reqwest::StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("providers"),
    )
    .await;

    body["providers"] = serde_json::json!(["gpt"]);
    let batch: serde_json::Value = app
        .post_json("/api/v1/batches", &body)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(batch["providers"], serde_json::json!(["gpt"]));
    let worker = app.start_worker(&sim, chain).await;
    let done = app
        .wait_for_batch(batch["id"].as_str().unwrap(), Duration::from_secs(60))
        .await;
    worker.stop().await;
    assert_eq!(done["counts"]["succeeded"], 3, "{done}");
    assert_eq!(
        sim.served(Protocol::Anthropic).requests,
        0,
        "the pinned batch never used claude"
    );
    assert_eq!(sim.served(Protocol::OpenAi).ok, 3);
    sim.shutdown().await;
    app.cleanup().await;
}

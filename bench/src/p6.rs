//! P6: what the router adds to a provider call: a generation through `Router::generate`
//! (breaker, fleet rate budget, the provider client, cost) against a direct HTTP call of the
//! same request to the simulator, interleaved so both see the same machine.

use std::time::{Duration, Instant};

use llm_sim::SimConfig;

use bacowr_shared::{
    config::{DeploymentSettings, Settings},
    pricing::PriceTable,
};
use bacowr_worker::{provider::GenerationRequest, router::Router};

use crate::{
    env::{BoxError, Env},
    report::{Row, Target},
    stats::{Samples, median},
};

pub async fn run(runs: usize, quick: bool) -> Result<Vec<Row>, BoxError> {
    let n = if quick { 50 } else { 2000 };
    let mut f: [Vec<f64>; 6] = Default::default();
    for run in 0..runs {
        let env = Env::new().await;
        let sim = llm_sim::spawn(SimConfig::default()).await?;
        let plain = router(&env, &sim.openai_base_url(), 0).await?;
        let limited = router(&env, &sim.openai_base_url(), 1_000_000).await?;
        let request = request();
        let client = reqwest::Client::new();
        let url = format!("{}/chat/completions", sim.openai_base_url());
        let body = serde_json::json!({
            "model": "sim-gpt",
            "messages": [
                {"role": "system", "content": request.system},
                {"role": "user", "content": request.user},
            ],
            "max_completion_tokens": request.max_output_tokens,
            "temperature": request.temperature,
        });
        let (mut direct, mut routed, mut routed_limited) = (vec![], vec![], vec![]);
        for i in 0..(n + 20) {
            let started = Instant::now();
            let resp = client
                .post(&url)
                .bearer_auth("sim-key")
                .json(&body)
                .send()
                .await?;
            let answer: serde_json::Value = resp.json().await?;
            if answer["choices"][0]["message"]["content"]
                .as_str()
                .is_none()
            {
                return Err(format!("the direct call got no article: {answer}").into());
            }
            let d = started.elapsed();
            let r = timed(&plain, &request).await?;
            let l = timed(&limited, &request).await?;
            // The first calls warm connections and caches.
            if i >= 20 {
                direct.push(d);
                routed.push(r);
                routed_limited.push(l);
            }
        }
        let (d, r, l) = (
            Samples::from_durations(&direct),
            Samples::from_durations(&routed),
            Samples::from_durations(&routed_limited),
        );
        eprintln!(
            "P6 run {run}: direct p50 {:.3} p99 {:.3} ms; router p50 {:.3} p99 {:.3} ms; \
             router with a rate budget p50 {:.3} p99 {:.3} ms",
            d.pct(0.5),
            d.pct(0.99),
            r.pct(0.5),
            r.pct(0.99),
            l.pct(0.5),
            l.pct(0.99)
        );
        for (slot, v) in f.iter_mut().zip([
            d.pct(0.99),
            r.pct(0.99) - d.pct(0.99),
            l.pct(0.99) - d.pct(0.99),
            d.pct(0.5),
            r.pct(0.5) - d.pct(0.5),
            l.pct(0.5) - d.pct(0.5),
        ]) {
            slot.push(v);
        }
        sim.shutdown().await;
        env.cleanup().await;
    }
    let m: Vec<f64> = f.iter().map(|v| median(v)).collect();
    Ok(vec![
        Row::new(
            "P6",
            format!("router overhead, p99 added ({n} calls, no rate budget)"),
            format!("{:+.3} ms", m[1]),
            format!("{:.3} ms p99 direct", m[0]),
            None,
            Target::at_most(m[1], 1.0, "p99 added ≤ 1 ms"),
        ),
        Row::new(
            "P6",
            "router overhead, p99 added, with a fleet-wide rate budget (Redis)".into(),
            format!("{:+.3} ms", m[2]),
            format!("{:.3} ms p99 direct", m[0]),
            None,
            Target::at_most(m[2], 1.0, "p99 added ≤ 1 ms"),
        ),
        Row::new(
            "P6",
            "router overhead, p50 added (no budget / with budget)".into(),
            format!("{:+.3} / {:+.3} ms", m[4], m[5]),
            format!("{:.3} ms p50 direct", m[3]),
            None,
            Target::report(),
        ),
    ])
}

async fn timed(router: &Router, request: &GenerationRequest) -> Result<Duration, BoxError> {
    let started = Instant::now();
    let mut calls = Vec::new();
    router
        .generate(request, &mut calls)
        .await
        .map_err(|e| format!("the router failed: {e}"))?;
    Ok(started.elapsed())
}

async fn router(env: &Env, base_url: &str, rpm: u32) -> Result<Router, BoxError> {
    let mut settings = Settings::from_figment(Settings::figment(None))?;
    settings.redis.url = env.redis.url.clone();
    settings.redis.namespace = env.redis.namespace.clone();
    settings.deployments.clear();
    settings.deployments.insert(
        "gpt".into(),
        DeploymentSettings {
            base_url: base_url.to_owned(),
            api_key: "sim-key".into(),
            timeout_secs: 30,
            rpm,
            price_provider: "llm-sim".into(),
            structured_output: "none".into(),
            ..DeploymentSettings::new(bacowr_shared::config::ProviderKind::OpenAi, "sim-gpt")
        },
    );
    settings.router.chain = vec!["gpt".into()];
    let redis = bacowr_shared::db::connect_redis(&settings.redis).await?;
    Ok(Router::new(
        &settings,
        bacowr_shared::backplane::Backplane::Redis(redis),
        PriceTable::embedded(),
    )?)
}

/// A brief of the size the pipeline sends: a long system prompt and a shorter user one.
fn request() -> GenerationRequest {
    let words = |n: usize, w: &str| vec![w; n].join(" ");
    GenerationRequest {
        system: format!(
            "You write publication-ready articles for a publisher. {}",
            words(250, "rule")
        ),
        user: format!(
            "Publisher: tradgardsliv.se\nTarget: https://www.tradgardshuset.se/odling\n\
             Anchor: upphöjda odlingsbäddar\nLanguage: sv\n{}",
            words(150, "context")
        ),
        max_output_tokens: 1600,
        temperature: 0.7,
        structured: false,
    }
}

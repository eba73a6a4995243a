//! P5 (worker): resident memory of one worker process with 64 jobs in flight (the simulator
//! holds each call for 5 s). The API's figures come with P2.

use std::time::{Duration, Instant};

use llm_sim::SimConfig;

use crate::{
    env::{self, BoxError, Env, org_key},
    report::{Row, Target},
    stats::median,
};

const IN_FLIGHT: usize = 64;

pub async fn run(runs: usize, _quick: bool) -> Result<Vec<Row>, BoxError> {
    let (mut idle, mut busy) = (Vec::new(), Vec::new());
    for run in 0..runs {
        let env = Env::new().await;
        let sim = llm_sim::spawn(SimConfig {
            latency: Duration::from_secs(5),
            ..SimConfig::default()
        })
        .await?;
        let (api, port) = env.api(&[]).await?;
        let mut vars = env::deployment("gpt", "openai", &sim.openai_base_url(), 0);
        vars.push(("BACOWR_ROUTER__CHAIN".into(), "[\"gpt\"]".into()));
        vars.push(("BACOWR_WORKER__CONCURRENCY".into(), IN_FLIGHT.to_string()));
        vars.push(("BACOWR_DISPATCH__ORG_MAX_RUNNING".into(), "1000".into()));
        let extra: Vec<(&str, String)> =
            vars.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        let (worker, metrics_port) = env.worker(&extra).await?;
        let db = env.connect().await;
        let key = org_key(&db, "bench").await?;
        tokio::time::sleep(Duration::from_secs(1)).await;
        let before = worker.rss_mib();
        env::submit(port, &key, &env::example_batch(IN_FLIGHT)).await?;
        // Sample while all 64 are in flight (the simulator holds each for 5 s).
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut peak = 0f64;
        let mut saw_all = false;
        while Instant::now() < deadline {
            let active = active_jobs(metrics_port).await.unwrap_or(0);
            if active >= IN_FLIGHT as i64 {
                saw_all = true;
                peak = peak.max(worker.rss_mib());
            } else if saw_all {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if !saw_all {
            return Err(format!("never saw {IN_FLIGHT} jobs in flight").into());
        }
        eprintln!(
            "P5 run {run}: worker RSS idle {before:.1} MiB, {IN_FLIGHT} in flight {peak:.1} MiB"
        );
        idle.push(before);
        busy.push(peak);
        drop(worker);
        drop(api);
        drop(db);
        sim.shutdown().await;
        env.cleanup().await;
    }
    let (idle, busy) = (median(&idle), median(&busy));
    Ok(vec![
        Row::new(
            "P5",
            "worker resident memory, idle".into(),
            format!("{idle:.1} MiB"),
            "—".into(),
            None,
            Target::report(),
        ),
        Row::new(
            "P5",
            format!("worker resident memory, {IN_FLIGHT} jobs in flight (peak)"),
            format!("{busy:.1} MiB"),
            "—".into(),
            None,
            Target::at_most(busy, 100.0, "≤ 100 MB"),
        ),
    ])
}

async fn active_jobs(port: u16) -> Option<i64> {
    let body = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    body.lines()
        .find(|l| l.starts_with("active_jobs "))?
        .rsplit(' ')
        .next()?
        .parse()
        .ok()
}

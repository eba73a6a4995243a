//! P2: `GET /api/v1/batches/{id}` at saturation (throughput, p99) against actix-web answering
//! a constant in a process of its own; and P5's API figures: resident memory idle and at the
//! end of that load.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use crate::{
    env::{BoxError, Env, Proc, org_key, wait_http},
    load::{self, Load},
    report::{Row, Target},
    stats::{Samples, median},
};

const CONNECTIONS: usize = 64;

pub async fn run(runs: usize, quick: bool) -> Result<Vec<Row>, BoxError> {
    let duration = Duration::from_secs(if quick { 2 } else { 10 });
    let warmup = Duration::from_secs(if quick { 1 } else { 2 });
    let mut f: [Vec<f64>; 10] = Default::default();
    for run in 0..runs {
        let env = Env::new().await;
        let (api, port) = env.api(&[]).await?;
        let db = env.connect().await;
        let key = org_key(&db, "bench").await?;
        let resp = reqwest::Client::new()
            .post(format!("http://127.0.0.1:{port}/api/v1/batches"))
            .bearer_auth(&key)
            .json(&crate::env::example_batch(175))
            .send()
            .await?;
        let batch: serde_json::Value = resp.json().await?;
        let id = batch["id"]
            .as_str()
            .ok_or("the submission returned no batch id")?
            .to_owned();
        tokio::time::sleep(Duration::from_secs(1)).await;
        let idle = api.rss_mib();

        let peer_port = bacowr_shared::testing::free_port();
        let peer = Proc::spawn(
            "bacowr-bench",
            &["constant-server", &peer_port.to_string()],
            &[],
        )?;
        wait_http(peer_port, "/", Duration::from_secs(10)).await?;
        let peer_load = load::run(&Load {
            port: peer_port,
            path: "/".into(),
            bearer: None,
            connections: CONNECTIONS,
            warmup,
            duration,
        })
        .await?;
        drop(peer);

        let peak = Arc::new(Mutex::new(0f64));
        let sampler = {
            let peak = peak.clone();
            let pid = api.pid();
            tokio::spawn(async move {
                loop {
                    let rss = crate::env::rss_of(pid);
                    {
                        let mut p = peak.lock().expect("peak lock");
                        *p = p.max(rss);
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            })
        };
        // Where the time goes: the same server's unauthenticated liveness route, and an
        // authenticated route that reads nothing else (auth, rate limit, one query).
        let mut parts = Vec::new();
        for (path, bearer) in [("/health", None), ("/api/v1/me", Some(key.clone()))] {
            let l = load::run(&Load {
                port,
                path: path.into(),
                bearer,
                connections: CONNECTIONS,
                warmup,
                duration,
            })
            .await?;
            let s = Samples::from_durations(&l.latencies);
            eprintln!(
                "P2 run {run}: {path}: {:.0} req/s p50 {:.2} ms p99 {:.2} ms",
                l.rate(),
                s.pct(0.5),
                s.pct(0.99)
            );
            parts.push(l.rate());
        }
        let api_load = load::run(&Load {
            port,
            path: format!("/api/v1/batches/{id}"),
            bearer: Some(key.clone()),
            connections: CONNECTIONS,
            warmup,
            duration,
        })
        .await?;
        sampler.abort();
        let loaded = *peak.lock().expect("peak lock");
        if api_load.errors > 0 {
            eprintln!("P2 run {run}: {} non-2xx answers", api_load.errors);
        }
        let a = Samples::from_durations(&api_load.latencies);
        let p = Samples::from_durations(&peer_load.latencies);
        eprintln!(
            "P2 run {run}: api {:.0} req/s p99 {:.2} ms; constant {:.0} req/s p99 {:.2} ms; \
             api RSS idle {idle:.1} MiB, under load {loaded:.1} MiB",
            api_load.rate(),
            a.pct(0.99),
            peer_load.rate(),
            p.pct(0.99)
        );
        for (slot, v) in f.iter_mut().zip([
            api_load.rate(),
            a.pct(0.99),
            peer_load.rate(),
            p.pct(0.99),
            api_load.rate() / peer_load.rate(),
            a.pct(0.99) / p.pct(0.99),
            idle,
            loaded,
            parts[0],
            parts[1],
        ]) {
            slot.push(v);
        }
        drop(api);
        drop(db);
        env.cleanup().await;
    }
    let m: Vec<f64> = f.iter().map(|v| median(v)).collect();
    Ok(vec![
        Row::new(
            "P2",
            format!("GET /api/v1/batches/{{id}} throughput, {CONNECTIONS} connections"),
            format!("{:.0} req/s", m[0]),
            format!("{:.0} req/s (constant)", m[2]),
            Some(m[4]),
            Target::at_least(m[0], 10_000.0, "≥ 10k req/s"),
        ),
        Row::new(
            "P2",
            "GET /api/v1/batches/{id} p99 at saturation".into(),
            format!("{:.2} ms", m[1]),
            format!("{:.2} ms (constant)", m[3]),
            Some(m[5]),
            Target::report(),
        ),
        Row::new(
            "P2",
            "where it goes: GET /health (no credential, no I/O); GET /api/v1/me (API key \
             lookup in Postgres, rate limit in Redis)"
                .into(),
            format!("{:.0} / {:.0} req/s", m[8], m[9]),
            "—".into(),
            None,
            Target::report(),
        ),
        Row::new(
            "P5",
            "API resident memory, idle".into(),
            format!("{:.1} MiB", m[6]),
            "—".into(),
            None,
            Target::at_most(m[6], 30.0, "≤ 30 MB"),
        ),
        Row::new(
            "P5",
            "API resident memory under P2 load (peak)".into(),
            format!("{:.1} MiB", m[7]),
            "—".into(),
            None,
            Target::at_most(m[7], 80.0, "≤ 80 MB"),
        ),
    ])
}

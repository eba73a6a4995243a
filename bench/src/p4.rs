//! P4: makespan of the bundled 175-link batch on two worker processes, the simulator taking
//! 3 s ± jitter per article, a 600 RPM limit per deployment, against the bound
//! max(⌈175 / slots⌉ × latency, 175 / rate); then again with the primary failing half its
//! calls (fast 503s) and a fallback behind it.

use std::time::{Duration, Instant};

use llm_sim::{FaultProfile, Protocol, SimConfig};

use crate::{
    env::{self, BoxError, Env, org_key},
    report::{Row, Target},
    stats::median,
};

const WORKERS: usize = 2;
const CONCURRENCY: usize = 8;
const RPM: u32 = 600;
/// Per-call latency: 2.75 s plus up to 0.5 s, uniformly: 3 s on average.
const BASE_MS: u64 = 2750;
const JITTER_MS: u64 = 500;

pub async fn run(runs: usize, quick: bool) -> Result<Vec<Row>, BoxError> {
    let links: usize = if quick { 32 } else { 175 };
    let slots = WORKERS * CONCURRENCY;
    let latency = (BASE_MS + JITTER_MS / 2) as f64 / 1000.0;
    let bound = (links.div_ceil(slots) as f64 * latency).max(links as f64 / (RPM as f64 / 60.0));
    let mut rows = Vec::new();
    for (failing, label, limit) in [
        (false, "healthy providers", 1.10),
        (
            true,
            "primary failing 50% (fast 503s), fallback behind it",
            1.25,
        ),
    ] {
        let mut spans = Vec::new();
        for run in 0..runs {
            let env = Env::new().await;
            let (took, calls) = makespan(&env, links, failing).await?;
            eprintln!(
                "P4 run {run} ({label}): {:.1} s for {links} jobs, {calls} calls; bound {bound:.1} s",
                took.as_secs_f64()
            );
            spans.push(took.as_secs_f64());
            env.cleanup().await;
        }
        let m = median(&spans);
        rows.push(Row::new(
            "P4",
            format!("makespan, {links} links, {WORKERS}×{CONCURRENCY} slots, {RPM} RPM, {label}"),
            format!("{m:.1} s"),
            format!("{bound:.1} s (bound)"),
            Some(m / bound),
            Target::at_most(m / bound, limit, &format!("≤ {limit}× bound")),
        ));
    }
    Ok(rows)
}

async fn makespan(env: &Env, links: usize, failing: bool) -> Result<(Duration, i64), BoxError> {
    let normal = FaultProfile {
        latency_ms: BASE_MS,
        latency_jitter_ms: JITTER_MS,
        ..FaultProfile::default()
    };
    let primary = FaultProfile {
        error_rate: if failing { 0.5 } else { 0.0 },
        error_status: 503,
        error_latency_ms: Some(100),
        ..normal.clone()
    };
    let sim = llm_sim::spawn(SimConfig {
        faults: vec![(Protocol::Anthropic, primary), (Protocol::OpenAi, normal)],
        ..SimConfig::default()
    })
    .await?;
    let (api, port) = env.api(&[]).await?;
    let mut vars = env::deployment("claude", "anthropic", &sim.base_url(), RPM);
    vars.extend(env::deployment(
        "gpt",
        "openai",
        &sim.openai_base_url(),
        RPM,
    ));
    let chain = if failing {
        "[\"claude\",\"gpt\"]"
    } else {
        "[\"claude\"]"
    };
    vars.push(("BACOWR_ROUTER__CHAIN".into(), chain.into()));
    vars.push(("BACOWR_WORKER__CONCURRENCY".into(), CONCURRENCY.to_string()));
    // Twice the slots: the organization's cap must not be what limits one batch on an
    // otherwise idle fleet, and a slot that frees finds its next task already in Redis.
    vars.push((
        "BACOWR_DISPATCH__ORG_MAX_RUNNING".into(),
        (2 * WORKERS * CONCURRENCY).to_string(),
    ));
    let extra: Vec<(&str, String)> = vars.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    let mut workers = Vec::new();
    for _ in 0..WORKERS {
        workers.push(env.worker(&extra).await?.0);
    }
    let db = env.connect().await;
    let key = org_key(&db, "bench").await?;
    let started = Instant::now();
    env::submit(port, &key, &env::example_batch(links)).await?;
    let took = env::wait_finished(&db, links as i64, started, Duration::from_secs(900)).await?;
    let calls = calls(&db).await?;
    drop(workers);
    drop(api);
    sim.shutdown().await;
    Ok((took, calls))
}

async fn calls(db: &sea_orm::DatabaseConnection) -> Result<i64, BoxError> {
    use sea_orm::{ConnectionTrait, Statement};
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM llm_calls",
        ))
        .await?
        .ok_or("no row")?;
    Ok(row.try_get::<i64>("", "n")?)
}

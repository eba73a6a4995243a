//! P3: the worker pipeline's cost per job with the simulator answering at once, against
//! apalis-redis running a no-op handler with the same queue settings and concurrency.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use apalis::prelude::*;
use apalis_core::backend::TaskSink;
use llm_sim::SimConfig;

use bacowr_shared::{config::Settings, queue::queue_config};

use crate::{
    env::{self, BoxError, Env, org_key},
    report::{Row, Target},
    stats::median,
};

const CONCURRENCY: usize = 16;

pub async fn run(runs: usize, quick: bool) -> Result<Vec<Row>, BoxError> {
    let n = if quick { 40 } else { 400 };
    let mut f: [Vec<f64>; 6] = Default::default();
    for run in 0..runs {
        let env = Env::new().await;
        let (full_rate, cpu_ms) = full_pipeline(&env, n).await?;
        let noop = noop_rate(&env, n).await?;
        let overhead_ms = (1.0 / full_rate - 1.0 / noop) * 1000.0;
        eprintln!(
            "P3 run {run}: pipeline {full_rate:.0} jobs/s ({cpu_ms:.2} ms worker CPU per job), \
             no-op {noop:.0} jobs/s, overhead {overhead_ms:.2} ms/job"
        );
        for (slot, v) in f.iter_mut().zip([
            full_rate,
            noop,
            full_rate / noop,
            overhead_ms,
            cpu_ms,
            n as f64,
        ]) {
            slot.push(v);
        }
        env.cleanup().await;
    }
    let m: Vec<f64> = f.iter().map(|v| median(v)).collect();
    Ok(vec![
        Row::new(
            "P3",
            format!("worker pipeline throughput, sim at 0 ms, concurrency {CONCURRENCY}, {n} jobs"),
            format!("{:.0} jobs/s", m[0]),
            format!("{:.0} jobs/s (apalis-redis no-op)", m[1]),
            Some(m[2]),
            Target::at_least(m[2], 0.5, "≥ 50% of no-op rate"),
        ),
        Row::new(
            "P3",
            "pipeline overhead per job (1/rate − 1/no-op rate)".into(),
            format!("{:.2} ms", m[3]),
            "—".into(),
            None,
            Target::at_most(m[3], 1.0, "< 1 ms/job"),
        ),
        Row::new(
            "P3",
            "worker process CPU per job".into(),
            format!("{:.2} ms", m[4]),
            "—".into(),
            None,
            Target::report(),
        ),
    ])
}

/// A batch of `n` through the real API and one real worker process; jobs per second from
/// the submission to the last final status, and the worker's CPU time per job.
async fn full_pipeline(env: &Env, n: usize) -> Result<(f64, f64), BoxError> {
    let sim = llm_sim::spawn(SimConfig::default()).await?;
    let (api, port) = env.api(&[]).await?;
    let mut worker_env = env::deployment("gpt", "openai", &sim.openai_base_url(), 0);
    worker_env.push(("BACOWR_ROUTER__CHAIN".into(), "[\"gpt\"]".into()));
    worker_env.push(("BACOWR_WORKER__CONCURRENCY".into(), CONCURRENCY.to_string()));
    worker_env.push(("BACOWR_DISPATCH__ORG_MAX_RUNNING".into(), "1000".into()));
    let extra: Vec<(&str, String)> = worker_env
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    let (worker, _) = env.worker(&extra).await?;
    let db = env.connect().await;
    let key = org_key(&db, "bench").await?;
    let cpu_before = env::cpu_time(worker.pid());
    let started = Instant::now();
    env::submit(port, &key, &env::example_batch(n)).await?;
    let took = env::wait_finished(&db, n as i64, started, Duration::from_secs(600)).await?;
    let cpu = env::cpu_time(worker.pid()) - cpu_before;
    drop(worker);
    drop(api);
    sim.shutdown().await;
    Ok((
        n as f64 / took.as_secs_f64(),
        cpu.as_secs_f64() * 1000.0 / n as f64,
    ))
}

async fn noop(_: u64, done: Data<Arc<AtomicUsize>>) -> Result<(), BoxDynError> {
    done.fetch_add(1, Ordering::SeqCst);
    Ok(())
}

/// apalis-redis with the worker's queue settings (batch size, heartbeat, poll interval) and
/// concurrency, handling `n` tasks that do nothing.
async fn noop_rate(env: &Env, n: usize) -> Result<f64, BoxError> {
    let mut settings = Settings::from_figment(Settings::figment(None))?;
    settings.redis.namespace = format!("{}:noop", env.redis.namespace);
    settings.worker.concurrency = CONCURRENCY;
    let poll = Duration::from_millis(settings.worker.poll_interval_ms);
    settings.redis.url = env.redis.url.clone();
    let conn = bacowr_shared::db::connect_redis(&settings.redis).await?;
    let mut storage: apalis_redis::RedisStorage<u64> =
        apalis_redis::RedisStorage::new(conn).with_config(queue_config(&settings));
    let done = Arc::new(AtomicUsize::new(0));
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let monitor = {
        let done = done.clone();
        let storage = storage.clone();
        Monitor::new().register(move |restart| {
            WorkerBuilder::new(format!(
                "bench-noop-{restart}-{:04x}",
                rand::random::<u16>()
            ))
            .backend(storage.clone().poll_with_interval(poll))
            .data(done.clone())
            .concurrency(CONCURRENCY)
            .parallelize(tokio::spawn)
            .build(noop)
        })
    };
    let running = tokio::spawn(async move {
        monitor
            .run_with_signal(async move {
                let _ = stop_rx.await;
                Ok(())
            })
            .await
    });
    // Let the worker register before the clock starts, as the pipeline's worker has.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let started = Instant::now();
    let tasks = (0..n as u64).map(|i| {
        apalis_core::task::builder::TaskBuilder::new(i)
            .task_id(apalis_core::task::task_id::TaskId::from_string(format!(
                "t{i}"
            )))
            .build()
    });
    storage.push_all(futures::stream::iter(tasks)).await?;
    while done.load(Ordering::SeqCst) < n {
        if started.elapsed() > Duration::from_secs(300) {
            return Err("the no-op worker did not finish".into());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let took = started.elapsed();
    let _ = stop_tx.send(());
    let _ = tokio::time::timeout(Duration::from_secs(10), running).await;
    Ok(n as f64 / took.as_secs_f64())
}

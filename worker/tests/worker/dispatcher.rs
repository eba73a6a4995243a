//! The dispatcher: exactly one active, a quick takeover when it dies (read from each worker
//! process's own `/metrics`), and lost tasks pushed again.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use chrono::Utc;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

use bacowr_shared::{
    backplane::Backplane,
    config::Settings,
    db::connect_redis,
    entities::job,
    infra::Queues,
    queue,
    testing::{eventually, free_port},
    webhooks::queue::webhook_queue,
};
use bacowr_worker::{dispatch::Dispatcher, metrics::Metrics};

use crate::cluster::{
    Setup, WorkerProc, assert_exactly_once, create_org, seed_batch, wait_finished,
};

/// `Some(true)` if the process at `port` is the active dispatcher, `None` if it doesn't answer.
async fn is_leader(port: u16) -> Option<bool> {
    let body = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    let line = body.lines().find(|l| l.starts_with("dispatcher_leader "))?;
    Some(line.ends_with(" 1"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_dispatcher_leads_and_another_takes_over_within_seconds_when_it_dies() {
    let s = Setup::new(Duration::from_millis(100)).await;
    let ports = [free_port(), free_port(), free_port()];
    let mut workers: Vec<WorkerProc> = ports
        .iter()
        .map(|p| {
            WorkerProc::spawn(
                &s.env,
                &[("BACOWR_WORKER__HTTP_LISTEN", format!("127.0.0.1:{p}"))],
            )
        })
        .collect();
    let leaders = |ports: Vec<u16>| async move {
        let mut found = Vec::new();
        for p in ports {
            found.push(is_leader(p).await?);
        }
        Some(found)
    };
    let first = eventually("a leader among three", Duration::from_secs(20), || async {
        let found = leaders(ports.to_vec()).await?;
        (found.iter().filter(|l| **l).count() == 1).then_some(found)
    })
    .await;
    let leader = first.iter().position(|l| *l).unwrap();
    // The container healthcheck: `bacowr-worker health` probes the worker's own /health.
    let probe = |port: u16| {
        std::process::Command::new(env!("CARGO_BIN_EXE_bacowr-worker"))
            .arg("health")
            .env("BACOWR_WORKER__HTTP_LISTEN", format!("0.0.0.0:{port}"))
            .output()
            .unwrap()
    };
    assert!(probe(ports[0]).status.success());
    let down = probe(free_port());
    assert_eq!(down.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&down.stderr).contains("unhealthy"));

    let org = create_org(&s.db, "Agency", None).await;
    let (batch, _) = seed_batch(&s.db, org, 30, Utc::now()).await;
    workers[leader].kill9();
    let killed = Instant::now();
    let survivors: Vec<u16> = ports
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != leader)
        .map(|(_, p)| *p)
        .collect();
    eventually("a new leader", Duration::from_secs(10), || async {
        let found = leaders(survivors.clone()).await?;
        (found.iter().filter(|l| **l).count() == 1).then_some(())
    })
    .await;
    let takeover = killed.elapsed();
    eprintln!("dispatcher takeover after kill -9 of the leader: {takeover:?}");
    assert!(takeover < Duration::from_secs(5), "{takeover:?}");

    // The new leader dispatches: the batch submitted as the old one died completes.
    wait_finished(&s.db, batch, Duration::from_secs(60)).await;
    assert_exactly_once(&s.db, batch, 30).await;
    drop(workers);
    s.finish().await;
}

/// A task lost on its own (the marker key survives, so this isn't a Redis reset): the
/// dispatcher's check finds it missing from apalis' records and pushes the job again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dispatched_task_lost_from_redis_is_dispatched_again() {
    let s = Setup::new(Duration::ZERO).await;
    let org = create_org(&s.db, "Agency", None).await;
    let jobs = 8;
    let (batch, ids) = seed_batch(&s.db, org, jobs, Utc::now()).await;

    // Dispatch with no worker running, in this process.
    let mut settings = Settings::from_figment(Settings::figment(None)).unwrap();
    settings.database.url = s.env.db_url.clone();
    settings.redis.url = s.env.redis_url.clone();
    settings.redis.namespace = s.env.namespace.clone();
    let redis = connect_redis(&settings.redis).await.unwrap();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let dispatcher = tokio::spawn(
        Dispatcher {
            db: s.db.clone(),
            backplane: Backplane::Redis(redis.clone()),
            queues: Queues::Redis(redis.clone()),
            queue: queue::article_queue(redis.clone(), &settings).into(),
            webhook_queue: webhook_queue(redis.clone(), &settings).into(),
            settings: settings.clone(),
            metrics: Arc::new(Metrics::default()),
            events: bacowr_shared::events::Publisher::new(
                Backplane::Redis(redis.clone()),
                &settings,
            ),
        }
        .run(stopped),
    );
    eventually("all dispatched", Duration::from_secs(10), || async {
        let n = job::Entity::find()
            .filter(job::Column::DispatchedAt.is_not_null())
            .count(&s.db)
            .await
            .ok()?;
        (n == jobs as u64).then_some(())
    })
    .await;
    stop.send(true).unwrap();
    dispatcher.await.unwrap();

    // Lose every task, but not the marker: no flush happened as far as anyone can tell.
    let queue_name = queue::generate_article_queue(&s.env.namespace);
    let mut conn = redis.clone();
    let mut pipe = redis::pipe();
    pipe.cmd("DEL")
        .arg(format!("{queue_name}:active"))
        .arg(format!("{queue_name}:scheduled"))
        .arg(format!("{queue_name}:data"));
    for id in &ids {
        pipe.cmd("DEL")
            .arg(format!("{queue_name}:meta:{}", queue::task_id(*id, 1)));
    }
    pipe.query_async::<()>(&mut conn).await.unwrap();

    let found = Instant::now();
    let worker = WorkerProc::spawn(&s.env, &[]);
    wait_finished(&s.db, batch, Duration::from_secs(60)).await;
    eprintln!(
        "lost tasks re-dispatched and done in {:?} (redispatch_after 3 s)",
        found.elapsed()
    );
    assert_exactly_once(&s.db, batch, jobs as u64).await;
    let redispatched = job::Entity::find()
        .filter(job::Column::Dispatches.gte(2))
        .count(&s.db)
        .await
        .unwrap();
    assert_eq!(
        redispatched, jobs as u64,
        "each job pushed again under a new task id"
    );
    drop(worker);
    s.finish().await;
}

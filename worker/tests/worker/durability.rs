//! Nothing lost, nothing done twice: real worker processes killed, Redis flushed, paused and
//! restarted, Postgres stopped, tasks delivered twice, workers shut down mid-batch.

use std::time::{Duration, Instant};

use chrono::Utc;
use sea_orm::{Database, DatabaseConnection, EntityTrait, PaginatorTrait};

use bacowr_migrations::{Migrator, MigratorTrait};
use bacowr_shared::{
    config::Settings,
    db::connect_redis,
    domain::JobStatus,
    entities::{article, job, llm_call},
    queue::{self, GenerateArticle},
    testing::{PgCluster, RedisServer, TestRedis, eventually, free_port},
};
use llm_sim::{Protocol, SimConfig};

use crate::cluster::{
    Env, Setup, WorkerProc, assert_counters_match, assert_exactly_once, count_status, create_org,
    seed_batch, wait_finished,
};

async fn finished(db: &DatabaseConnection, batch: bacowr_shared::ids::BatchId) -> u64 {
    count_status(
        db,
        batch,
        &[
            JobStatus::Succeeded,
            JobStatus::NeedsReview,
            JobStatus::Failed,
        ],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_five_times_mid_batch_loses_and_duplicates_nothing() {
    let s = Setup::new(Duration::from_millis(400)).await;
    let org = create_org(&s.db, "Agency", None).await;
    // 60 jobs of 400 ms on 8 slots, and every kill stalls the victim's jobs until their lease
    // lapses: the five kills all land mid-batch.
    let jobs = 60;
    let (batch, _) = seed_batch(&s.db, org, jobs, Utc::now()).await;
    let mut workers = vec![
        WorkerProc::spawn(&s.env, &[]),
        WorkerProc::spawn(&s.env, &[]),
    ];
    let started = Instant::now();
    for kill in 0..5 {
        // A random point: somewhere in the next 0.3-1.2 s of work.
        tokio::time::sleep(Duration::from_millis(300 + rand::random::<u64>() % 900)).await;
        let victim = rand::random::<u64>() as usize % workers.len();
        workers[victim].kill9();
        let done = finished(&s.db, batch).await;
        eprintln!(
            "kill -9 #{} at {:?}: {done} of {jobs} finished",
            kill + 1,
            started.elapsed()
        );
        assert!(done < jobs as u64, "the kill landed mid-batch");
        eprintln!(
            "kill -9 #{} at {:?}: {} of {jobs} finished",
            kill + 1,
            started.elapsed(),
            finished(&s.db, batch).await
        );
        workers[victim] = WorkerProc::spawn(&s.env, &[]);
    }
    wait_finished(&s.db, batch, Duration::from_secs(120)).await;
    eprintln!("kill -9 x5: {jobs} jobs done in {:?}", started.elapsed());
    assert_exactly_once(&s.db, batch, jobs as u64).await;
    drop(workers);
    s.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flushall_mid_batch_still_completes_it() {
    let mut s = Setup::new(Duration::from_millis(300)).await;
    let server = RedisServer::start().await;
    s.env.redis_url = server.url.clone();
    let org = create_org(&s.db, "Agency", None).await;
    let jobs = 30;
    let (batch, _) = seed_batch(&s.db, org, jobs, Utc::now()).await;
    let workers = [
        WorkerProc::spawn(&s.env, &[]),
        WorkerProc::spawn(&s.env, &[]),
    ];
    eventually(
        "a third of the batch done",
        Duration::from_secs(60),
        || async { (finished(&s.db, batch).await >= jobs as u64 / 3).then_some(()) },
    )
    .await;
    server.flushall().await;
    eprintln!(
        "FLUSHALL with {} of {jobs} finished",
        finished(&s.db, batch).await
    );
    wait_finished(&s.db, batch, Duration::from_secs(90)).await;
    assert_exactly_once(&s.db, batch, jobs as u64).await;
    drop(workers);
    s.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restart_without_persistence_mid_batch_still_completes_it() {
    let mut s = Setup::new(Duration::from_millis(300)).await;
    let mut server = RedisServer::start().await;
    s.env.redis_url = server.url.clone();
    let org = create_org(&s.db, "Agency", None).await;
    let jobs = 24;
    let (batch, _) = seed_batch(&s.db, org, jobs, Utc::now()).await;
    let workers = [
        WorkerProc::spawn(&s.env, &[]),
        WorkerProc::spawn(&s.env, &[]),
    ];
    eventually(
        "some of the batch done",
        Duration::from_secs(60),
        || async { (finished(&s.db, batch).await >= 6).then_some(()) },
    )
    .await;
    server.restart().await;
    wait_finished(&s.db, batch, Duration::from_secs(90)).await;
    assert_exactly_once(&s.db, batch, jobs as u64).await;
    drop(workers);
    s.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_outage_mid_batch_pauses_work_and_loses_nothing() {
    let cluster = PgCluster::start().await;
    let db = Database::connect(&cluster.url).await.unwrap();
    Migrator::up(&db, None).await.unwrap();
    let redis = TestRedis::create().await;
    let sim = llm_sim::spawn(SimConfig {
        latency: Duration::from_millis(300),
        api_key: Some("k".into()),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let env = Env {
        db_url: cluster.url.clone(),
        redis_url: redis.url.clone(),
        namespace: redis.namespace.clone(),
        sim_url: sim.openai_base_url(),
    };
    let org = create_org(&db, "Agency", None).await;
    let jobs = 30;
    let (batch, _) = seed_batch(&db, org, jobs, Utc::now()).await;
    let port = free_port();
    let workers = [
        WorkerProc::spawn(
            &env,
            &[("BACOWR_WORKER__HTTP_LISTEN", format!("127.0.0.1:{port}"))],
        ),
        WorkerProc::spawn(&env, &[]),
    ];
    let ready = |expect: u16| async move {
        let status = reqwest::get(format!("http://127.0.0.1:{port}/ready"))
            .await
            .ok()?
            .status()
            .as_u16();
        (status == expect).then_some(())
    };
    eventually("the worker is ready", Duration::from_secs(20), || {
        ready(200)
    })
    .await;
    eventually("a few jobs done", Duration::from_secs(60), || async {
        (finished(&db, batch).await >= 5).then_some(())
    })
    .await;
    drop(db);

    cluster.stop_server();
    eventually(
        "the worker reports the outage",
        Duration::from_secs(10),
        || ready(503),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    cluster.start_server().await;

    eventually("the worker is ready again", Duration::from_secs(30), || {
        ready(200)
    })
    .await;
    let db = Database::connect(&cluster.url).await.unwrap();
    wait_finished(&db, batch, Duration::from_secs(120)).await;
    assert_exactly_once(&db, batch, jobs as u64).await;
    drop(workers);
    drop(db);
    sim.shutdown().await;
    redis.clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_task_delivered_twice_at_once_writes_one_article() {
    let s = Setup::new(Duration::from_millis(200)).await;
    let org = create_org(&s.db, "Agency", None).await;
    let jobs = 12;
    let (batch, ids) = seed_batch(&s.db, org, jobs, Utc::now()).await;
    // The test is the dispatcher here: every job goes to Redis twice, under two task ids,
    // side by side, so two workers fetch the copies at the same moment.
    let off = [("BACOWR_DISPATCH__ENABLED", "false".to_owned())];
    let workers = [
        WorkerProc::spawn(&s.env, &off),
        WorkerProc::spawn(&s.env, &off),
    ];
    let mut settings = Settings::from_figment(Settings::figment(None)).unwrap();
    settings.redis.url = s.env.redis_url.clone();
    settings.redis.namespace = s.env.namespace.clone();
    settings.worker.concurrency = 4;
    let mut storage =
        queue::article_queue(connect_redis(&settings.redis).await.unwrap(), &settings);
    let tasks = ids
        .iter()
        .flat_map(|&job_id| {
            [1, 2].map(|copy| {
                (
                    queue::task_id(job_id, copy),
                    GenerateArticle::V1 {
                        job_id,
                        org_id: org,
                        traceparent: None,
                    },
                )
            })
        })
        .collect();
    queue::push_all(&mut storage, tasks).await.unwrap();
    wait_finished(&s.db, batch, Duration::from_secs(60)).await;
    assert_exactly_once(&s.db, batch, jobs as u64).await;
    assert_eq!(
        llm_call::Entity::find().count(&s.db).await.unwrap(),
        jobs as u64
    );
    assert_eq!(
        s.sim.served(Protocol::OpenAi).requests,
        jobs as u64,
        "one call per job"
    );
    drop(workers);
    s.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_or_releases_in_flight_work_and_exits_0() {
    // Generations take 3 s and the grace period is 1 s: the jobs in flight at SIGTERM can't
    // finish, so they must be handed back.
    let s = Setup::new(Duration::from_secs(3)).await;
    let org = create_org(&s.db, "Agency", None).await;
    let jobs = 10;
    let (batch, _) = seed_batch(&s.db, org, jobs, Utc::now()).await;
    let grace = [("BACOWR_WORKER__SHUTDOWN_GRACE_SECS", "1".to_owned())];
    let mut worker = WorkerProc::spawn(&s.env, &grace);
    eventually("jobs running", Duration::from_secs(20), || async {
        (count_status(&s.db, batch, &[JobStatus::Running]).await >= 4).then_some(())
    })
    .await;
    let term = Instant::now();
    worker.sigterm();
    let status = worker.wait_exit(Duration::from_secs(10)).await;
    let took = term.elapsed();
    eprintln!("SIGTERM: exited {status} after {took:?}");
    assert_eq!(status.code(), Some(0), "a graceful stop exits 0");
    assert!(
        took < Duration::from_secs(4),
        "within the deadline: {took:?}"
    );
    assert_eq!(
        count_status(&s.db, batch, &[JobStatus::Running]).await,
        0,
        "nothing left running under the stopped worker's name"
    );
    assert_counters_match(&s.db, batch).await;
    let released: Vec<job::Model> = job::Entity::find().all(&s.db).await.unwrap();
    assert!(
        released
            .iter()
            .filter(|j| j.status == JobStatus::Queued)
            .all(|j| j.lease_owner.is_none() && j.attempts == 0),
        "released jobs carry no lease and no spent attempt"
    );

    // The rest of the fleet (here: a new worker) takes the work over.
    let worker = WorkerProc::spawn(&s.env, &[]);
    wait_finished(&s.db, batch, Duration::from_secs(60)).await;
    assert_exactly_once(&s.db, batch, jobs as u64).await;
    drop(worker);
    s.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_stall_is_survived_and_never_ends_a_worker_with_status_0() {
    let mut s = Setup::new(Duration::from_millis(200)).await;
    let server = RedisServer::start().await;
    s.env.redis_url = server.url.clone();
    let org = create_org(&s.db, "Agency", None).await;
    let jobs = 30;
    let (batch, _) = seed_batch(&s.db, org, jobs, Utc::now()).await;
    let mut workers = [
        WorkerProc::spawn(&s.env, &[]),
        WorkerProc::spawn(&s.env, &[]),
    ];
    eventually(
        "some of the batch done",
        Duration::from_secs(60),
        || async { (finished(&s.db, batch).await >= 5).then_some(()) },
    )
    .await;
    server.pause();
    tokio::time::sleep(Duration::from_secs(3)).await;
    server.resume();
    wait_finished(&s.db, batch, Duration::from_secs(90)).await;
    assert_exactly_once(&s.db, batch, jobs as u64).await;
    for w in &mut workers {
        if let Some(status) = w.exit_status() {
            assert_ne!(
                status.code(),
                Some(0),
                "a worker that stopped by itself exits non-zero"
            );
        }
    }
    s.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finished_tasks_are_trimmed_from_redis() {
    let s = Setup::new(Duration::ZERO).await;
    let org = create_org(&s.db, "Agency", None).await;
    let jobs = 20;
    let (batch, _) = seed_batch(&s.db, org, jobs, Utc::now()).await;
    let worker = WorkerProc::spawn(&s.env, &[]);
    wait_finished(&s.db, batch, Duration::from_secs(60)).await;
    let mut conn = connect_redis(&bacowr_shared::config::RedisSettings {
        url: s.env.redis_url.clone(),
        namespace: s.env.namespace.clone(),
        response_timeout_ms: 5000,
        connection_timeout_ms: 5000,
    })
    .await
    .unwrap();
    let queue_name = queue::generate_article_queue(&s.env.namespace);
    eventually("done tasks trimmed", Duration::from_secs(10), || {
        let mut conn = conn.clone();
        let queue_name = queue_name.clone();
        async move {
            let inflight: Vec<String> = redis::cmd("KEYS")
                .arg(format!("{queue_name}:inflight:*"))
                .query_async(&mut conn)
                .await
                .ok()?;
            let mut pipe = redis::pipe();
            pipe.cmd("SCARD").arg(format!("{queue_name}:done"));
            pipe.cmd("HLEN").arg(format!("{queue_name}:data"));
            for key in &inflight {
                pipe.cmd("SCARD").arg(key);
            }
            let sizes: Vec<i64> = pipe.query_async(&mut conn).await.ok()?;
            // Acknowledged (out of the in-flight sets), then trimmed (data and done set).
            sizes.iter().all(|&n| n == 0).then_some(())
        }
    })
    .await;
    let _: i64 = redis::cmd("DBSIZE").query_async(&mut conn).await.unwrap();
    assert_eq!(
        article::Entity::find().count(&s.db).await.unwrap(),
        jobs as u64
    );
    drop(worker);
    s.finish().await;
}

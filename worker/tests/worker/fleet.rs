//! Real worker processes: two `bacowr-worker` binaries share one Redis, and together keep a
//! deployment's requests-per-minute limit, counted at the simulator.

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, sea_query::Expr};

use bacowr_migrations::{Migrator, MigratorTrait};
use bacowr_shared::{
    config::Settings,
    db::connect_redis,
    domain::JobStatus,
    entities::{batch, job},
    queue,
    testing::{TestDatabase, TestRedis, eventually},
};
use llm_sim::{Protocol, SimConfig};

struct Worker(Child);

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `bacowr-worker` on the test's database and Redis namespace, polling fast, without page
/// context (these tests are about calls, not QC).
pub fn worker_command(db_url: &str, redis: &TestRedis) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bacowr-worker"));
    cmd.env("BACOWR_DATABASE__URL", db_url)
        .env("BACOWR_REDIS__URL", &redis.url)
        .env("BACOWR_REDIS__NAMESPACE", &redis.namespace)
        .env("BACOWR_WORKER__POLL_INTERVAL_MS", "50")
        .env("BACOWR_CONTEXT__ENABLED", "false");
    cmd
}

/// Adds deployment `name` (`kind` protocol at `base_url`, priced as llm-sim) to `cmd`.
pub fn deployment(cmd: &mut Command, name: &str, kind: &str, base_url: &str) {
    let var = |field: &str| format!("BACOWR_DEPLOYMENTS__{}__{field}", name.to_uppercase());
    cmd.env(var("KIND"), kind)
        .env(var("MODEL"), "sim")
        .env(var("PRICE_PROVIDER"), "llm-sim")
        .env(var("BASE_URL"), base_url)
        .env(var("API_KEY"), "k");
}

/// Without page context there are no sources to cite: one draft, no trust links required.
pub async fn relax_qc(db: &sea_orm::DatabaseConnection, batch_id: bacowr_shared::ids::BatchId) {
    let mut relaxed = bacowr_shared::qc::profile("standard").unwrap().clone();
    relaxed.min_trust_links = 0;
    relaxed.max_regenerations = 0;
    batch::Entity::update_many()
        .col_expr(
            batch::Column::QcThresholds,
            Expr::value(serde_json::to_value(&relaxed).unwrap()),
        )
        .filter(batch::Column::Id.eq(batch_id.uuid()))
        .exec(db)
        .await
        .unwrap();
}

/// The jobs are in Postgres; the workers' dispatcher pushes them once woken.
pub async fn wake_dispatcher(redis: &TestRedis) {
    let mut settings = Settings::from_figment(Settings::figment(None)).unwrap();
    settings.redis.url = redis.url.clone();
    queue::wake_dispatcher(
        &connect_redis(&settings.redis).await.unwrap(),
        &redis.namespace,
    )
    .await;
}

pub async fn wait_until_finished(db: &sea_orm::DatabaseConnection, deadline: Duration) {
    eventually("every job finished", deadline, || async {
        let open = job::Entity::find()
            .filter(job::Column::Status.is_in([JobStatus::Queued, JobStatus::Running]))
            .count(db)
            .await
            .unwrap();
        (open == 0).then_some(())
    })
    .await;
}

fn spawn_worker(db: &TestDatabase, redis: &TestRedis, sim_url: &str) -> Worker {
    let mut cmd = worker_command(&db.url, redis);
    deployment(&mut cmd, "gpt", "openai", sim_url);
    let child = cmd
        .env("BACOWR_WORKER__CONCURRENCY", "4")
        .env("BACOWR_ROUTER__CHAIN", "[\"gpt\"]")
        .env("BACOWR_DEPLOYMENTS__GPT__RPM", "60")
        .env("BACOWR_TELEMETRY__LOG_LEVEL", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start bacowr-worker");
    Worker(child)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_worker_processes_keep_one_fleet_wide_limit() {
    let test_db = TestDatabase::create().await;
    let redis = TestRedis::create().await;
    let db = test_db.connect().await;
    Migrator::up(&db, None).await.unwrap();
    let sim = llm_sim::spawn(SimConfig {
        api_key: Some("k".into()),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let jobs = 6;
    let (_org, batch_id, _ids) = crate::store::seed(&db, jobs).await;
    relax_qc(&db, batch_id).await;

    let workers = [
        spawn_worker(&test_db, &redis, &sim.openai_base_url()),
        spawn_worker(&test_db, &redis, &sim.openai_base_url()),
    ];
    let started = Instant::now();
    wake_dispatcher(&redis).await;

    wait_until_finished(&db, Duration::from_secs(60)).await;
    let elapsed = started.elapsed();
    drop(workers);
    eprintln!("fleet figures: {jobs} jobs, 2 processes, rpm 60: {elapsed:?}");

    // Six calls at 60 per minute for the whole fleet: one a second, however many processes.
    assert_eq!(
        sim.served(Protocol::OpenAi).requests,
        jobs as u64,
        "one call per job"
    );
    assert!(
        elapsed >= Duration::from_millis(4900),
        "six calls in {elapsed:?}"
    );
    let finished = job::Entity::find()
        .filter(job::Column::Status.is_in([JobStatus::Succeeded, JobStatus::NeedsReview]))
        .count(&db)
        .await
        .unwrap();
    assert_eq!(finished, jobs as u64);
    sim.shutdown().await;
    drop(db);
    test_db.drop_database().await;
    redis.clean().await;
}

/// A worker process writing with `claude` (Anthropic protocol) and falling back to `gpt`.
fn spawn_chain_worker(db: &TestDatabase, redis: &TestRedis, sim: &llm_sim::SimHandle) -> Worker {
    let mut cmd = worker_command(&db.url, redis);
    deployment(&mut cmd, "claude", "anthropic", &sim.base_url());
    deployment(&mut cmd, "gpt", "openai", &sim.openai_base_url());
    let child = cmd
        .env("BACOWR_WORKER__CONCURRENCY", "8")
        .env("BACOWR_DISPATCH__ORG_MAX_RUNNING", "100")
        .env("BACOWR_ROUTER__CHAIN", "[\"claude\",\"gpt\"]")
        .env("BACOWR_ROUTER__BREAKER_COOLDOWN_SECS", "300")
        .env("BACOWR_TELEMETRY__LOG_LEVEL", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start bacowr-worker");
    Worker(child)
}

/// Three worker processes × 8 slots, and the primary goes down mid-batch: the first process
/// whose breaker opens tells the others, which stop sending before their own windows fill.
/// Counted at the simulator.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_process_finding_an_outage_keeps_the_whole_fleet_away() {
    let test_db = TestDatabase::create().await;
    let redis = TestRedis::create().await;
    let db = test_db.connect().await;
    Migrator::up(&db, None).await.unwrap();
    let sim = llm_sim::spawn(SimConfig {
        api_key: Some("k".into()),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    // Answers take 250 ms; the outage's 503s come at once, as a provider shedding load
    // answers. (A slow outage is met by whatever is already in flight: no breaker can
    // recall a call that has left.)
    let healthy = llm_sim::FaultProfile {
        latency_ms: 250,
        ..llm_sim::FaultProfile::default()
    };
    sim.set_faults(Protocol::Anthropic, healthy.clone());
    sim.set_faults(Protocol::OpenAi, healthy.clone());
    let jobs = 150;
    let (_org, batch_id, _ids) = crate::store::seed(&db, jobs).await;
    relax_qc(&db, batch_id).await;
    let workers = [
        spawn_chain_worker(&test_db, &redis, &sim),
        spawn_chain_worker(&test_db, &redis, &sim),
        spawn_chain_worker(&test_db, &redis, &sim),
    ];
    wake_dispatcher(&redis).await;

    // All 24 slots busy on the healthy primary first.
    eventually(
        "the primary carries the fleet",
        Duration::from_secs(60),
        || async { (sim.served(Protocol::Anthropic).ok >= 30).then_some(()) },
    )
    .await;
    sim.set_faults(
        Protocol::Anthropic,
        llm_sim::FaultProfile {
            error_latency_ms: Some(5),
            script: vec![llm_sim::ScriptStep {
                fault: "503".into(),
                seconds: 600.0,
                ..llm_sim::ScriptStep::default()
            }],
            ..healthy
        },
    );
    wait_until_finished(&db, Duration::from_secs(120)).await;
    drop(workers);

    let primary = sim.served(Protocol::Anthropic);
    let fallback = sim.served(Protocol::OpenAi);
    eprintln!(
        "fleet breaker figures: 3 processes x 8 slots, calls into the outage {}, primary {primary:?}, fallback {fallback:?}",
        primary.faulted
    );
    assert_eq!(
        primary.ok + fallback.ok,
        jobs as u64,
        "one good call per job"
    );
    assert!(
        primary.faulted <= 8,
        "at most one process's worth of calls went into the outage: {primary:?}"
    );
    sim.shutdown().await;
    drop(db);
    test_db.drop_database().await;
    redis.clean().await;
}

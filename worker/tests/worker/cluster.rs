//! The fleet harness: real `bacowr-worker` processes against Postgres, Redis and the provider
//! simulator, jobs seeded straight into Postgres (the queue of record), and the checks every
//! crash test ends with.

use std::{
    process::{Child, Command, ExitStatus, Stdio},
    time::Duration,
};

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, FromQueryResult,
    PaginatorTrait, QueryFilter, Statement,
};

use bacowr_migrations::{Migrator, MigratorTrait};
use bacowr_shared::{
    domain::JobStatus,
    entities::{batch, job, organization},
    ids::{BatchId, JobId, OrgId},
    testing::{TestDatabase, TestRedis, eventually, fixtures},
};
use llm_sim::{SimConfig, SimHandle};

/// A test's own database and Redis namespace on the shared servers, a simulator, and the
/// environment for worker processes pointed at them.
pub struct Setup {
    pub test_db: Option<TestDatabase>,
    pub db: DatabaseConnection,
    pub redis: TestRedis,
    pub sim: SimHandle,
    pub env: Env,
}

impl Setup {
    /// A database and Redis namespace of the test's own on the shared servers, and a
    /// simulator answering after `latency`.
    pub async fn new(latency: Duration) -> Self {
        let test_db = TestDatabase::create().await;
        let db = test_db.connect().await;
        Migrator::up(&db, None).await.unwrap();
        let redis = TestRedis::create().await;
        let sim = llm_sim::spawn(SimConfig {
            latency,
            api_key: Some("k".into()),
            ..SimConfig::default()
        })
        .await
        .unwrap();
        let env = Env {
            db_url: test_db.url.clone(),
            redis_url: redis.url.clone(),
            namespace: redis.namespace.clone(),
            sim_url: sim.openai_base_url(),
        };
        Self {
            test_db: Some(test_db),
            db,
            redis,
            sim,
            env,
        }
    }

    pub async fn finish(mut self) {
        self.sim.shutdown().await;
        drop(self.db);
        if let Some(db) = self.test_db.take() {
            db.drop_database().await;
        }
        self.redis.clean().await;
    }
}

/// Where the fleet's processes connect.
pub struct Env {
    pub db_url: String,
    pub redis_url: String,
    pub namespace: String,
    pub sim_url: String,
}

pub struct WorkerProc {
    child: Child,
    exited: Option<ExitStatus>,
}

impl WorkerProc {
    /// A worker with short leases and heartbeats so crashes recover within seconds;
    /// `extra` overrides any setting (`BACOWR_*` variables).
    pub fn spawn(env: &Env, extra: &[(&str, String)]) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_bacowr-worker"));
        cmd.env("BACOWR_DATABASE__URL", &env.db_url)
            .env("BACOWR_DATABASE__MAX_CONNECTIONS", "10")
            .env("BACOWR_REDIS__URL", &env.redis_url)
            .env("BACOWR_REDIS__NAMESPACE", &env.namespace)
            .env("BACOWR_WORKER__CONCURRENCY", "4")
            .env("BACOWR_WORKER__POLL_INTERVAL_MS", "50")
            .env("BACOWR_WORKER__LEASE_SECS", "3")
            .env("BACOWR_WORKER__HEARTBEAT_SECS", "1")
            .env("BACOWR_WORKER__MISSED_HEARTBEATS", "3")
            .env("BACOWR_WORKER__SHUTDOWN_GRACE_SECS", "5")
            .env("BACOWR_DISPATCH__TICK_MS", "200")
            .env("BACOWR_DISPATCH__REDISPATCH_AFTER_SECS", "3")
            .env("BACOWR_DISPATCH__MAX_ATTEMPTS", "10")
            .env("BACOWR_CONTEXT__ENABLED", "false")
            .env("BACOWR_ROUTER__CHAIN", "[\"gpt\"]")
            .env("BACOWR_ROUTER__BREAKER_COOLDOWN_SECS", "1")
            .env("BACOWR_DEPLOYMENTS__GPT__KIND", "openai")
            .env("BACOWR_DEPLOYMENTS__GPT__MODEL", "sim")
            .env("BACOWR_DEPLOYMENTS__GPT__PRICE_PROVIDER", "llm-sim")
            .env("BACOWR_DEPLOYMENTS__GPT__BASE_URL", &env.sim_url)
            .env("BACOWR_DEPLOYMENTS__GPT__API_KEY", "k")
            .env(
                "BACOWR_TELEMETRY__LOG_LEVEL",
                std::env::var("FLEET_LOG").unwrap_or_else(|_| "error".into()),
            )
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        for (key, value) in extra {
            cmd.env(key, value);
        }
        Self {
            child: cmd.spawn().expect("start bacowr-worker"),
            exited: None,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        self.exited = self.child.wait().ok();
    }

    pub fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
    }

    /// The exit status, if the process has ended.
    pub fn exit_status(&mut self) -> Option<ExitStatus> {
        if self.exited.is_none() {
            self.exited = self.child.try_wait().ok().flatten();
        }
        self.exited
    }

    pub async fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        eventually("the worker process exits", within, || {
            let status = self.exit_status();
            async move { status }
        })
        .await
    }
}

impl Drop for WorkerProc {
    fn drop(&mut self) {
        if self.exited.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

pub async fn create_org(db: &DatabaseConnection, name: &str, max_running: Option<i32>) -> OrgId {
    let org = OrgId::new();
    organization::Entity::insert(organization::ActiveModel {
        id: Set(org.uuid()),
        name: Set(name.into()),
        created_at: Set(Utc::now()),
        max_running: Set(max_running),
        ..Default::default()
    })
    .exec_without_returning(db)
    .await
    .unwrap();
    org
}

/// A batch of `n` jobs for `org`, created at `at`, with QC relaxed to what a run without
/// page context can meet (no sources to cite): these tests are about delivery, not QC.
pub async fn seed_batch(
    db: &DatabaseConnection,
    org: OrgId,
    n: usize,
    at: DateTime<Utc>,
) -> (BatchId, Vec<JobId>) {
    let batch_id = BatchId::new();
    let mut model = batch::Model::new_queued(batch_id.uuid(), org.uuid(), None, n as i32, at);
    let mut relaxed = bacowr_shared::qc::profile("standard").unwrap().clone();
    relaxed.min_trust_links = 0;
    relaxed.max_regenerations = 0;
    model.qc_thresholds = Some(serde_json::to_value(&relaxed).unwrap());
    batch::Entity::insert(batch::ActiveModel::from(model))
        .exec_without_returning(db)
        .await
        .unwrap();
    let ids: Vec<JobId> = (0..n).map(|_| JobId::new()).collect();
    for (chunk_no, chunk) in ids.chunks(500).enumerate() {
        let rows = chunk.iter().enumerate().map(|(i, id)| {
            job::ActiveModel::from(job::Model {
                id: id.uuid(),
                publisher_domain: "bloggen.se".into(),
                target_url: "https://client.se/cyklar".into(),
                anchor_text: "bästa cyklarna".into(),
                language: Some("sv".into()),
                ..fixtures::job(
                    org.uuid(),
                    Some(batch_id.uuid()),
                    (chunk_no * 500 + i) as i32,
                    at,
                )
            })
        });
        job::Entity::insert_many(rows)
            .exec_without_returning(db)
            .await
            .unwrap();
    }
    (batch_id, ids)
}

/// How many of the batch's jobs are in `statuses`. A failed query (a loaded machine) is
/// asked again, never answered with a stand-in: `u64::MAX` read as a count passed every
/// `>= n` wait, and in `assert_counters_match` printed exactly like a counter of -1.
pub async fn count_status(
    db: &DatabaseConnection,
    batch_id: BatchId,
    statuses: &[JobStatus],
) -> u64 {
    eventually(
        "counting the batch's jobs",
        Duration::from_secs(30),
        || async {
            job::Entity::find()
                .filter(job::Column::BatchId.eq(batch_id.uuid()))
                .filter(job::Column::Status.is_in(statuses.iter().copied()))
                .count(db)
                .await
                .ok()
        },
    )
    .await
}

/// Waits until no job of the batch is queued or running.
pub async fn wait_finished(db: &DatabaseConnection, batch_id: BatchId, within: Duration) {
    eventually("every job of the batch finished", within, || async {
        let open = job::Entity::find()
            .filter(job::Column::BatchId.eq(batch_id.uuid()))
            .filter(job::Column::Status.is_in([JobStatus::Queued, JobStatus::Running]))
            .count(db)
            .await
            .ok()?;
        (open == 0).then_some(())
    })
    .await;
}

/// Every job succeeded with exactly one article (version 1), and the batch's counters equal
/// its jobs' states.
pub async fn assert_exactly_once(db: &DatabaseConnection, batch_id: BatchId, jobs: u64) {
    let succeeded = count_status(db, batch_id, &[JobStatus::Succeeded]).await;
    assert_eq!(succeeded, jobs, "every job succeeded");
    #[derive(FromQueryResult)]
    struct PerJob {
        n: i64,
        max_version: i32,
    }
    let per_job = PerJob::find_by_statement(Statement::from_sql_and_values(
        db.get_database_backend(),
        "SELECT COUNT(*) AS n, MAX(a.version) AS max_version FROM articles a \
         JOIN jobs j ON j.id = a.job_id WHERE j.batch_id = $1 GROUP BY a.job_id",
        [batch_id.uuid().into()],
    ))
    .all(db)
    .await
    .unwrap();
    assert_eq!(per_job.len() as u64, jobs, "an article for every job");
    assert!(
        per_job.iter().all(|p| p.n == 1 && p.max_version == 1),
        "exactly one article per job"
    );
    assert_counters_match(db, batch_id).await;
}

pub async fn assert_counters_match(db: &DatabaseConnection, batch_id: BatchId) {
    let b = batch::Entity::find_by_id(batch_id.uuid())
        .one(db)
        .await
        .unwrap()
        .unwrap();
    for (status, counter) in [
        (JobStatus::Queued, b.queued_jobs),
        (JobStatus::Running, b.running_jobs),
        (JobStatus::Succeeded, b.succeeded_jobs),
        (JobStatus::NeedsReview, b.needs_review_jobs),
        (JobStatus::Failed, b.failed_jobs),
        (JobStatus::Cancelled, b.cancelled_jobs),
    ] {
        // Signed: a negative counter shows as one, not as 18446744073709551615.
        let jobs = count_status(db, batch_id, &[status]).await as i64;
        assert_eq!(
            jobs,
            i64::from(counter),
            "batch counter for {status:?} equals the jobs in that state"
        );
    }
}

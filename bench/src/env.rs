//! What a benchmark runs against: a scratch Postgres database and Redis namespace (removed
//! afterwards), and the release binaries started as real processes beside this one.

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use bacowr_shared::testing::{TestDatabase, TestRedis, free_port};
use sea_orm::DatabaseConnection;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

pub struct Env {
    pub db: TestDatabase,
    pub redis: TestRedis,
}

impl Env {
    pub async fn new() -> Self {
        Self {
            db: TestDatabase::create().await,
            redis: TestRedis::create().await,
        }
    }

    /// The scratch database, without TLS: over loopback TLS buys nothing and costs a
    /// delayed-ACK stall per large statement (bench/README.md, finding 1).
    pub fn db_url(&self) -> String {
        format!("{}?sslmode=disable", self.db.url)
    }

    pub async fn connect(&self) -> DatabaseConnection {
        sea_orm::Database::connect(self.db_url())
            .await
            .expect("connect to the scratch database")
    }

    /// The settings every BACOWR process of this run shares.
    fn base_env(&self) -> Vec<(String, String)> {
        let db_url = self.db_url();
        [
            ("BACOWR_DATABASE__URL", db_url.as_str()),
            ("BACOWR_DATABASE__AUTO_MIGRATE", "true"),
            ("BACOWR_DATABASE__MAX_CONNECTIONS", "20"),
            ("BACOWR_REDIS__URL", self.redis.url.as_str()),
            ("BACOWR_REDIS__NAMESPACE", self.redis.namespace.as_str()),
            ("BACOWR_TELEMETRY__LOG_LEVEL", "warn"),
            ("BACOWR_TELEMETRY__LOG_FORMAT", "json"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    /// `bacowr-api serve` on a free port, limits lifted so the load generator measures the
    /// server, not its rate limiter's refusals (the limiter still runs on every request).
    pub async fn api(&self, extra: &[(&str, String)]) -> Result<(Proc, u16), BoxError> {
        let port = free_port();
        let mut env = self.base_env();
        for (k, v) in [
            ("BACOWR_API__LISTEN", format!("127.0.0.1:{port}")),
            (
                "BACOWR_RATE_LIMIT__PER_CALLER_PER_MINUTE",
                "1000000000".into(),
            ),
            ("BACOWR_RATE_LIMIT__PER_ORG_PER_MINUTE", "1000000000".into()),
            (
                "BACOWR_RATE_LIMIT__EXPENSIVE_PER_MINUTE",
                "1000000000".into(),
            ),
        ] {
            env.push((k.to_owned(), v));
        }
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.clone())));
        let proc = Proc::spawn("bacowr-api", &["serve"], &env)?;
        wait_http(port, "/health", Duration::from_secs(60)).await?;
        Ok((proc, port))
    }

    /// `bacowr-worker` with its `/metrics` listener on a free port.
    pub async fn worker(&self, extra: &[(&str, String)]) -> Result<(Proc, u16), BoxError> {
        let port = free_port();
        let mut env = self.base_env();
        env.push((
            "BACOWR_WORKER__HTTP_LISTEN".into(),
            format!("127.0.0.1:{port}"),
        ));
        // Benchmarks measure the pipeline, not fetching made-up client pages.
        env.push(("BACOWR_CONTEXT__ENABLED".into(), "false".into()));
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.clone())));
        let proc = Proc::spawn("bacowr-worker", &[], &env)?;
        wait_http(port, "/health", Duration::from_secs(60)).await?;
        Ok((proc, port))
    }

    pub async fn cleanup(self) {
        self.db.drop_database().await;
        self.redis.clean().await;
    }
}

/// A child process, killed when dropped.
pub struct Proc {
    child: Child,
}

/// The release binaries sit beside this one (`cargo build --release` builds them together).
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("own path");
    exe.with_file_name(name)
}

impl Proc {
    pub fn spawn(name: &str, args: &[&str], env: &[(String, String)]) -> Result<Self, BoxError> {
        let path = binary(name);
        if !path.exists() {
            return Err(format!(
                "{} is missing: build it first (bash bench/run.sh does)",
                path.display()
            )
            .into());
        }
        let mut cmd = Command::new(&path);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        Ok(Self {
            child: cmd.spawn()?,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident set size now, in MiB.
    pub fn rss_mib(&self) -> f64 {
        status_kib(self.pid(), "VmRSS:") / 1024.0
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Resident set size of any process, in MiB.
pub fn rss_of(pid: u32) -> f64 {
    status_kib(pid, "VmRSS:") / 1024.0
}

fn status_kib(pid: u32, field: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(f64::NAN)
}

/// Polls `GET path` until it answers 200.
pub async fn wait_http(port: u16, path: &str, within: Duration) -> Result<(), BoxError> {
    let deadline = Instant::now() + within;
    let url = format!("http://127.0.0.1:{port}{path}");
    loop {
        if let Ok(r) = reqwest::get(&url).await
            && r.status().is_success()
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("{url} did not answer within {within:?}").into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A new organization and its API key, straight in the database.
pub async fn org_key(db: &DatabaseConnection, name: &str) -> Result<String, BoxError> {
    Ok(bacowr_api::services::orgs::create_org(db, name)
        .await?
        .api_key)
}

/// The bundled 175-link example batch (10 languages) as the JSON body of
/// `POST /api/v1/batches`, repeated or cut to `n` links. No trust links are asked for: the
/// benchmarks run without fetching context pages.
pub fn example_batch(n: usize) -> serde_json::Value {
    let mut body = bacowr_cli::local::example::submission(bacowr_cli::local::example::BATCH, None)
        .expect("the bundled example parses");
    let links = body["links"].as_array().cloned().unwrap_or_default();
    // Past 175 the links repeat with a distinct target, so none is a duplicate.
    body["links"] = links
        .iter()
        .cycle()
        .take(n)
        .enumerate()
        .map(|(i, l)| {
            let mut l = l.clone();
            if i >= links.len() {
                let target = l["target_url"].as_str().unwrap_or_default().to_owned();
                l["target_url"] = format!("{target}?copy={i}").into();
            }
            l
        })
        .collect();
    body["name"] = "bench".into();
    body
}

/// One provider deployment as `BACOWR_DEPLOYMENTS__*` variables.
pub fn deployment(name: &str, kind: &str, base_url: &str, rpm: u32) -> Vec<(String, String)> {
    let up = name.to_uppercase();
    [
        ("KIND", kind.to_owned()),
        ("MODEL", format!("sim-{name}")),
        ("BASE_URL", base_url.to_owned()),
        ("API_KEY", "sim-key".to_owned()),
        ("RPM", rpm.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (format!("BACOWR_DEPLOYMENTS__{up}__{k}"), v))
    .collect()
}

/// Jobs of the database that reached a final status.
pub async fn finished_jobs(db: &DatabaseConnection) -> Result<i64, BoxError> {
    use sea_orm::{ConnectionTrait, Statement};
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM jobs WHERE status IN ('succeeded', 'needs_review', 'failed', 'cancelled')",
        ))
        .await?
        .ok_or("no row")?;
    Ok(row.try_get::<i64>("", "n")?)
}

/// Polls until `n` jobs are final; the time it took from `since`.
pub async fn wait_finished(
    db: &DatabaseConnection,
    n: i64,
    since: Instant,
    within: Duration,
) -> Result<Duration, BoxError> {
    loop {
        if finished_jobs(db).await? >= n {
            return Ok(since.elapsed());
        }
        if since.elapsed() > within {
            return Err(format!("{n} jobs did not finish within {within:?}").into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Submits a batch through the API; returns its id.
pub async fn submit(port: u16, key: &str, body: &serde_json::Value) -> Result<String, BoxError> {
    let resp = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/api/v1/batches"))
        .bearer_auth(key)
        .json(body)
        .send()
        .await?;
    let status = resp.status();
    let body: serde_json::Value = resp.json().await?;
    if status.as_u16() != 202 {
        return Err(format!("submission answered {status}: {body}").into());
    }
    Ok(body["id"].as_str().ok_or("no batch id")?.to_owned())
}

/// CPU time (user + system) a process has used, from `/proc/<pid>/stat`.
pub fn cpu_time(pid: u32) -> Duration {
    let ticks = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            // The command name may hold spaces: fields count from after its ')'.
            let rest = s.rsplit_once(')')?.1;
            let f: Vec<&str> = rest.split_whitespace().collect();
            Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
        })
        .unwrap_or(0);
    // USER_HZ is 100 on Linux.
    Duration::from_millis(ticks * 10)
}

//! A BACOWR server in this test process (API + a worker + the provider simulator), and the
//! `bacowr` binary run against it as a child process.

use std::{path::PathBuf, process::Output, time::Duration};

use bacowr_cli::local::{Stack, sim};
use bacowr_shared::{
    config::Settings,
    testing::{TestDatabase, TestRedis},
};

pub struct Server {
    pub url: String,
    pub key: String,
    site: Option<llm_sim::SiteHandle>,
    stack: Option<Stack>,
    sim: Option<llm_sim::SimHandle>,
    db: Option<TestDatabase>,
    redis: Option<TestRedis>,
}

pub fn test_settings(db: &TestDatabase, redis: &TestRedis) -> Settings {
    let mut s = Settings::from_figment(Settings::figment(None)).expect("default settings");
    s.database.url = db.url.clone();
    s.database.auto_migrate = true;
    s.database.max_connections = 10;
    s.redis.url = redis.url.clone();
    s.redis.namespace = redis.namespace.clone();
    s.api.listen = "127.0.0.1:0".parse().unwrap();
    s.worker.poll_interval_ms = 50;
    s.worker.heartbeat_secs = 1;
    s.worker.shutdown_grace_secs = 5;
    s.worker.concurrency = 8;
    // Client pages come from the fixture site on loopback, which the SSRF guard refuses by
    // default; the made-up publishers must fail fast whatever the machine's network does.
    s.context.allow_hosts = vec!["127.0.0.0/8".into()];
    s.context.connect_timeout_ms = 500;
    s.context.total_timeout_ms = 3000;
    s
}

impl Server {
    pub async fn start() -> Self {
        let site = llm_sim::spawn_site().await.expect("fixture site");
        let db = TestDatabase::create().await;
        let redis = TestRedis::create().await;
        let mut settings = test_settings(&db, &redis);
        let simulator = sim::start(
            &mut settings,
            &sim::Profile {
                latency_ms: 0,
                jitter_ms: 0,
                outage_after_secs: 0.0,
                outage_secs: 0.0,
            },
        )
        .await
        .expect("simulator");
        let stack = Stack::start(settings.clone(), 1).await.expect("stack");
        let conn = db.connect().await;
        let org = bacowr_api::services::orgs::create_org(&conn, "CLI test agency")
            .await
            .expect("org");
        Self {
            url: stack.api_url.clone(),
            key: org.api_key,
            site: Some(site),
            stack: Some(stack),
            sim: Some(simulator),
            db: Some(db),
            redis: Some(redis),
        }
    }

    /// Runs `bacowr ARGS` against this server, with the server and key in the environment.
    pub async fn bacowr(&self, args: &[&str]) -> Output {
        run(
            args,
            &[("BACOWR_SERVER", &self.url), ("BACOWR_API_KEY", &self.key)],
        )
        .await
    }

    pub async fn stop(mut self) {
        if let Some(stack) = self.stack.take() {
            stack.stop().await;
        }
        if let Some(sim) = self.sim.take() {
            sim.shutdown().await;
        }
        if let Some(site) = self.site.take() {
            site.shutdown();
        }
        if let Some(db) = self.db.take() {
            db.drop_database().await;
        }
        if let Some(redis) = self.redis.take() {
            redis.clean().await;
        }
    }
}

/// Runs the real binary with only the given `BACOWR_*` variables (none inherited).
pub async fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_bacowr"));
    cmd.args(args).kill_on_drop(true);
    for (k, _) in std::env::vars() {
        if k.starts_with("BACOWR_") || k == "DATABASE_URL" || k == "REDIS_URL" {
            cmd.env_remove(k);
        }
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    tokio::time::timeout(Duration::from_secs(180), cmd.output())
        .await
        .expect("bacowr finished within 3 minutes")
        .expect("bacowr ran")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A scratch folder under the target dir, removed by the caller.
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "bacowr-cli-{name}-{}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

impl Server {
    /// Five assignments whose client pages live on the fixture site (sources for trust links).
    pub fn csv(&self) -> String {
        let site = self.site.as_ref().expect("running");
        let mut csv = String::from("publisher,target,anchor,language\n");
        for (i, (publisher, lang, anchor)) in [
            ("tradgardsliv.se", "sv", "upphöjda odlingsbäddar"),
            ("homeandhearth.co.uk", "en", "engineered oak flooring"),
            ("reisemagazin-online.de", "de", "Familienhotel in Tirol"),
            ("bostadsbloggen.se", "sv", "kontorsflytt i Stockholm"),
            ("gadgetweekly.com", "en", "invoicing software"),
        ]
        .into_iter()
        .enumerate()
        {
            let target = site.url(&format!("/page/product-{i}?lang={lang}"));
            csv.push_str(&format!("{publisher},{target},{anchor},{lang}\n"));
        }
        csv
    }
}

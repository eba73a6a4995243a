use std::{sync::LazyLock, time::Duration};

use bacowr_api::{Application, services::orgs};
use bacowr_shared::{
    config::Settings,
    infra::Infra,
    testing::{TestDatabase, TestRedis, TestSqlite, eventually},
};
use llm_sim::{SimConfig, SimHandle};
use reqwest::{Response, StatusCode};
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub db: DatabaseConnection,
    pub settings: Settings,
    pub api_key: String,
    /// `None` when the app runs on a database the test owns itself (`spawn_on_database`).
    test_db: Option<TestDatabase>,
    test_redis: Option<TestRedis>,
    /// The embedded build's files and shared connections (`spawn_embedded`).
    embedded: Option<(TestSqlite, Infra)>,
}

/// Spans of every trace a test starts with a sampled `traceparent`, exported in memory.
pub static SPANS: LazyLock<opentelemetry_sdk::trace::InMemorySpanExporter> =
    LazyLock::new(opentelemetry_sdk::trace::InMemorySpanExporter::default);

/// The process's one telemetry setup, as the binaries run it, with an in-memory span
/// exporter. Sampling 0: only traces a test starts itself (with a sampled `traceparent`) are
/// kept, so the exporter holds those and nothing of the other tests. Logs with `TEST_LOG`.
static TELEMETRY: LazyLock<()> = LazyLock::new(|| {
    let mut t = base_settings().telemetry;
    t.log_format = "pretty".into();
    t.sample_ratio = 0.0;
    if std::env::var_os("TEST_LOG").is_none() {
        t.log_level = "off".into();
    }
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_simple_exporter(SPANS.clone())
        .with_sampler(bacowr_shared::telemetry::sampler(t.sample_ratio))
        .with_resource(bacowr_shared::telemetry::resource("bacowr-test", &t))
        .build();
    let guard = bacowr_shared::telemetry::init_with("bacowr-test", &t, Some(provider));
    // Kept for the life of the test process.
    std::mem::forget(guard);
});

/// What every test app runs with: a local listener, quick polls and heartbeats, and rate
/// limits out of the way (the rate-limit tests set their own).
fn test_settings() -> Settings {
    let mut settings = base_settings();
    settings.database.auto_migrate = true;
    settings.database.max_connections = 10;
    settings.api.listen = "127.0.0.1:0".parse().unwrap();
    settings.worker.poll_interval_ms = 50;
    settings.worker.heartbeat_secs = 1;
    settings.worker.shutdown_grace_secs = 5;
    settings.provider.backoff_initial_ms = 10;
    settings.provider.backoff_max_ms = 50;
    // Tests poll hard; the rate-limit tests set their own limits.
    settings.rate_limit.per_caller_per_minute = 1_000_000;
    settings.rate_limit.per_org_per_minute = 1_000_000;
    settings.rate_limit.expensive_per_minute = 1_000_000;
    settings.rate_limit.unauthenticated_per_minute = 1_000_000;
    settings.rate_limit.login_per_minute = 1_000_000;
    settings
}

/// Runs a built app on this runtime; its address.
fn serve(app: Result<Application, bacowr_api::StartError>) -> String {
    let app = app.expect("app builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    address
}

pub fn base_settings() -> Settings {
    Settings::from_figment(Settings::figment(None)).expect("default settings load")
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// A migrated database, a Redis namespace and an organization of the test's own.
    pub async fn spawn_with(configure: impl FnOnce(&mut Settings)) -> Self {
        let test_db = TestDatabase::create().await;
        let url = test_db.url.clone();
        Self::spawn_inner(Some(test_db), url, configure).await
    }

    /// As `spawn`, but on a database the test owns (e.g. a `PgCluster` it stops and starts):
    /// the app migrates it and the test's organization is created there. Cleanup leaves it
    /// alone.
    pub async fn spawn_on_database(url: &str) -> Self {
        Self::spawn_inner(None, url.to_owned(), |_| {}).await
    }

    /// The embedded build: a SQLite database and queue of the test's own and an in-process
    /// backplane, shared by the API and the workers `start_worker` runs; no Postgres or Redis.
    pub async fn spawn_embedded() -> Self {
        LazyLock::force(&TELEMETRY);
        let files = TestSqlite::create();
        let mut settings = test_settings();
        settings.database.url = files.url.clone();
        let infra = Infra::embedded(&settings).await.expect("embedded infra");
        bacowr_migrations::ensure_migrated(&infra.db, true)
            .await
            .expect("migrated");
        let address = serve(Application::build_with(settings.clone(), infra.clone()).await);
        let db = infra.db.clone();
        let created = orgs::create_org(&db, "Test Agency").await.unwrap();
        Self {
            address,
            client: reqwest::Client::new(),
            db,
            settings,
            api_key: created.api_key,
            test_db: None,
            test_redis: None,
            embedded: Some((files, infra)),
        }
    }

    async fn spawn_inner(
        test_db: Option<TestDatabase>,
        database_url: String,
        configure: impl FnOnce(&mut Settings),
    ) -> Self {
        LazyLock::force(&TELEMETRY);
        let test_redis = TestRedis::create().await;
        let mut settings = test_settings();
        settings.database.url = database_url.clone();
        settings.redis.url = test_redis.url.clone();
        settings.redis.namespace = test_redis.namespace.clone();
        configure(&mut settings);

        let address = serve(Application::build(settings.clone()).await);

        let db = sea_orm::Database::connect(&database_url)
            .await
            .expect("connect to the test database");
        let created = orgs::create_org(&db, "Test Agency").await.unwrap();
        Self {
            address,
            client: reqwest::Client::new(),
            db,
            settings,
            api_key: created.api_key,
            test_db,
            test_redis: Some(test_redis),
            embedded: None,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Another tenant on the same deployment.
    pub async fn other_org_key(&self) -> String {
        orgs::create_org(&self.db, "Other Agency")
            .await
            .unwrap()
            .api_key
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .bearer_auth(&self.api_key)
            .send()
            .await
            .unwrap()
    }

    pub async fn get_json(&self, path: &str) -> Value {
        let resp = self.get(path).await;
        assert_eq!(resp.status(), StatusCode::OK, "GET {path}");
        resp.json().await.unwrap()
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .bearer_auth(&self.api_key)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn post_csv(&self, csv: &str) -> Response {
        self.post_raw("/api/v1/batches", "text/csv", csv.to_owned())
            .await
    }

    /// Submits `n` valid links and returns the batch view.
    pub async fn submit_batch(&self, n: usize) -> Value {
        let resp = self.post_json("/api/v1/batches", &batch_body(n)).await;
        assert_eq!(resp.status(), StatusCode::ACCEPTED);
        resp.json().await.unwrap()
    }

    /// Polls the batch until no job is queued or running, or the deadline passes.
    pub async fn wait_for_batch(&self, batch_id: &str, deadline: Duration) -> Value {
        let path = format!("/api/v1/batches/{batch_id}");
        eventually(&format!("batch {batch_id} finished"), deadline, || async {
            let batch = self.get_json(&path).await;
            let counts = &batch["counts"];
            (counts["queued"] == 0 && counts["running"] == 0).then_some(batch)
        })
        .await
    }

    /// POSTs a raw body with its content type, as clients that don't send JSON do.
    pub async fn post_raw(
        &self,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> Response {
        self.client
            .post(self.url(path))
            .bearer_auth(&self.api_key)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// Runs the real worker in-process against `sim` until the returned guard is stopped.
    pub async fn start_worker(
        &self,
        sim: &SimHandle,
        configure: impl FnOnce(&mut Settings),
    ) -> WorkerGuard {
        let mut settings = self.settings.clone();
        settings.provider.base_url = sim.openai_base_url();
        settings.provider.api_key = "sk-test".into();
        settings.provider.model = "sim-writer".into();
        settings.provider.name = "llm-sim".into();
        settings.worker.concurrency = 8;
        // The fixture site lives on loopback, which the SSRF guard refuses by default.
        settings.context.allow_hosts = vec!["127.0.0.0/8".into(), "::1".into()];
        // Test publishers' made-up domains must fail fast whatever the machine's network does.
        settings.context.connect_timeout_ms = 500;
        settings.context.total_timeout_ms = 3000;
        configure(&mut settings);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let stopped = async {
            let _ = stopped.await;
        };
        let task = match &self.embedded {
            Some((_, infra)) => tokio::spawn(
                bacowr_worker::start_with(settings, infra.clone(), stopped)
                    .await
                    .expect("worker starts"),
            ),
            None => tokio::spawn(
                bacowr_worker::start(settings, stopped)
                    .await
                    .expect("worker starts"),
            ),
        };
        WorkerGuard {
            stop: Some(stop),
            task,
        }
    }

    /// Drains a batch through the real worker: start it, wait, stop it.
    pub async fn drain_batch(&self, batch_id: &str, sim: &SimHandle) -> Value {
        let worker = self.start_worker(sim, |_| {}).await;
        let batch = self.wait_for_batch(batch_id, Duration::from_secs(60)).await;
        worker.stop().await;
        batch
    }

    pub async fn cleanup(self) {
        drop(self.db);
        if let Some(test_db) = self.test_db {
            test_db.drop_database().await;
        }
        if let Some(test_redis) = self.test_redis {
            test_redis.clean().await;
        }
        if let Some((files, infra)) = self.embedded {
            let _ = infra.db.close().await;
            files.remove();
        }
    }
}

pub struct WorkerGuard {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), bacowr_worker::MonitorError>>,
}

impl WorkerGuard {
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = tokio::time::timeout(Duration::from_secs(15), &mut self.task).await;
    }
}

pub async fn spawn_sim() -> SimHandle {
    spawn_sim_with(|_| {}).await
}

pub async fn spawn_sim_with(configure: impl FnOnce(&mut SimConfig)) -> SimHandle {
    let mut config = SimConfig {
        api_key: Some("sk-test".into()),
        ..SimConfig::default()
    };
    configure(&mut config);
    llm_sim::spawn(config).await.unwrap()
}

/// The fixture web site (client pages and their sources), one per test process: it runs on
/// its own thread so it outlives each test's runtime.
pub static SITE_PORT: LazyLock<u16> = LazyLock::new(|| {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let site = llm_sim::spawn_site().await.unwrap();
            tx.send(site.addr.port()).unwrap();
            std::future::pending::<()>().await;
        });
    });
    rx.recv().unwrap()
});

pub fn site_url(path: &str) -> String {
    format!("http://127.0.0.1:{}{path}", *SITE_PORT)
}

pub fn link(i: usize) -> Value {
    let (publisher, lang) = match i % 3 {
        0 => (format!("blogg{i}.se"), "sv"),
        1 => (format!("magazin{i}.de"), "de"),
        _ => (format!("news{i}.com"), "en"),
    };
    json!({
        "publisher_domain": publisher,
        "target_url": site_url(&format!("/page/product-{i}?lang={lang}")),
        "anchor_text": format!("best offer number {i}"),
        "language": lang,
    })
}

pub fn batch_body(n: usize) -> Value {
    json!({"name": format!("{n} links"), "links": (0..n).map(link).collect::<Vec<_>>()})
}

/// The project's error format (`detail`, `error_code`, `field`, `timestamp`, `request_id`), with
/// the field it should name.
pub async fn assert_error(
    resp: Response,
    status: StatusCode,
    code: &str,
    field: Option<&str>,
) -> Value {
    assert_eq!(resp.status(), status);
    let request_id = resp
        .headers()
        .get("x-request-id")
        .expect("x-request-id header")
        .to_str()
        .unwrap()
        .to_owned();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error_code"], code, "{body}");
    assert_eq!(body["request_id"], request_id.as_str(), "{body}");
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{body}"
    );
    assert!(body["timestamp"].is_string(), "{body}");
    if let Some(field) = field {
        assert_eq!(body["field"], field, "{body}");
    }
    body
}

/// The `field` of every entry in a validation error's `errors`, in order.
pub fn error_fields(err: &Value) -> Vec<&str> {
    err["errors"]
        .as_array()
        .expect("a validation error lists its errors")
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect()
}

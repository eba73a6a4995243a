//! Running BACOWR in this process: the API and N workers (the same code as `bacowr-api` and
//! `bacowr-worker`), for `bacowr up` and `bacowr demo`. Embedded (a SQLite `database.url`:
//! one SQLite database, its queue file and an in-process backplane, shared by the API and
//! every worker runtime) or against a fleet's Postgres and Redis.

pub mod demo;
pub mod example;
pub mod scratch_dir;
pub mod services;
pub mod sim;
pub mod up;

use std::time::Duration;

use bacowr_api::{Application, ServerHandle};
use bacowr_shared::{
    config::Settings,
    infra::{Infra, is_sqlite},
};
use sea_orm::DatabaseConnection;

use crate::exit::CliError;

type WorkerFuture =
    std::pin::Pin<Box<dyn Future<Output = Result<(), bacowr_worker::MonitorError>> + Send>>;
type WorkerRun = tokio::task::JoinHandle<Result<(), bacowr_worker::MonitorError>>;

/// The API and its workers, running on this process's runtime.
pub struct Stack {
    pub api_url: String,
    /// The embedded build's shared connections; `None` against Postgres and Redis.
    embedded: Option<Infra>,
    api: ServerHandle,
    api_task: tokio::task::JoinHandle<std::io::Result<()>>,
    workers: Vec<(tokio::sync::oneshot::Sender<()>, WorkerRun)>,
}

impl Stack {
    /// Starts the API on `settings.api.listen` and `workers` worker runtimes, each with
    /// `settings.worker.concurrency` slots (one of them becomes the dispatcher).
    pub async fn start(settings: Settings, workers: usize) -> Result<Self, CliError> {
        let embedded = if is_sqlite(&settings.database.url) {
            Some(embedded(&settings).await?)
        } else {
            None
        };
        let app = match &embedded {
            Some(infra) => Application::build_with(settings.clone(), infra.clone()).await,
            None => Application::build(settings.clone()).await,
        }
        .map_err(|e| CliError::Local(format!("the API did not start: {e}")))?;
        let host = match settings.api.listen.ip() {
            ip if ip.is_unspecified() => "127.0.0.1".to_owned(),
            std::net::IpAddr::V6(ip) => format!("[{ip}]"),
            ip => ip.to_string(),
        };
        let api_url = format!("http://{host}:{}", app.port());
        let api = app.handle();
        let api_task = tokio::spawn(app.run_until_stopped());
        let mut stack = Self {
            api_url,
            embedded,
            api,
            api_task,
            workers: Vec::new(),
        };
        for n in 0..workers.max(1) {
            let mut settings = settings.clone();
            // One process, one port: only the first worker serves /health and /metrics.
            if n > 0 {
                settings.worker.http_listen.clear();
            }
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let stopped = async {
                let _ = stopped.await;
            };
            let run = match &stack.embedded {
                Some(infra) => bacowr_worker::start_with(settings, infra.clone(), stopped)
                    .await
                    .map(|run| Box::pin(run) as WorkerFuture),
                None => bacowr_worker::start(settings, stopped)
                    .await
                    .map(|run| Box::pin(run) as WorkerFuture),
            };
            match run {
                Ok(run) => stack.workers.push((stop, tokio::spawn(run))),
                Err(e) => {
                    stack.stop().await;
                    return Err(CliError::Local(format!("a worker did not start: {e}")));
                }
            }
        }
        Ok(stack)
    }

    /// The database the stack runs on: the embedded build's own connection (SQLite takes one
    /// writer), else a new pool on the configured Postgres.
    pub async fn database(&self, settings: &Settings) -> Result<DatabaseConnection, CliError> {
        match &self.embedded {
            Some(infra) => Ok(infra.db.clone()),
            None => bacowr_shared::db::connect_database(&settings.database)
                .await
                .map_err(|e| CliError::Local(format!("Postgres: {e}"))),
        }
    }

    /// Resolves when a worker stops on its own (it should not) or the API server ends.
    pub async fn failed(&mut self) -> String {
        let workers = futures_any(&mut self.workers);
        tokio::select! {
            r = &mut self.api_task => format!("the API stopped: {r:?}"),
            w = workers => w,
        }
    }

    /// Stops taking work, lets in-flight jobs finish within the worker grace period (the rest
    /// go back to the queue), then stops the API.
    pub async fn stop(self) {
        let mut runs = Vec::new();
        for (stop, run) in self.workers {
            let _ = stop.send(());
            runs.push(run);
        }
        for run in runs {
            let _ = tokio::time::timeout(Duration::from_secs(120), run).await;
        }
        self.api.stop(true).await;
        let _ = tokio::time::timeout(Duration::from_secs(10), self.api_task).await;
    }
}

async fn futures_any(workers: &mut [(tokio::sync::oneshot::Sender<()>, WorkerRun)]) -> String {
    if workers.is_empty() {
        return std::future::pending().await;
    }
    loop {
        for (i, (_, run)) in workers.iter_mut().enumerate() {
            if run.is_finished() {
                let result = run.await;
                return format!("worker {i} stopped: {result:?}");
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The embedded build's connections, its schema brought up to date.
async fn embedded(settings: &Settings) -> Result<Infra, CliError> {
    let infra = Infra::embedded(settings)
        .await
        .map_err(|e| CliError::Local(format!("embedded database: {e}")))?;
    bacowr_migrations::ensure_migrated(&infra.db, true)
        .await
        .map_err(|e| CliError::Local(format!("embedded database: {e}")))?;
    Ok(infra)
}

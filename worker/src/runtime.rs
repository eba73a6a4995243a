//! Building and running the apalis worker, configured around apalis-redis 1.0's measured
//! defects (DESIGN §3a): the shared queue config (`bacowr_shared::queue::queue_config`), a
//! unique name per process and restart, a poll interval, a Redis connection with a patient
//! response timeout, and restarts of stopped workers.

use std::{sync::Arc, time::Duration};

use apalis::prelude::*;

use bacowr_shared::{
    config::Settings,
    db::{connect_database, connect_redis},
    pricing::PriceTable,
    queue::article_queue,
};

use crate::{
    context::Fetcher,
    handler::{WorkerState, handle},
    router::Router,
};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("Postgres: {0}")]
    Database(#[from] sea_orm::DbErr),
    #[error("{0}")]
    Schema(#[from] bacowr_migrations::SchemaError),
    #[error("Redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("provider client: {0}")]
    Provider(#[from] reqwest::Error),
    #[error("context fetching: {0}")]
    Context(String),
    #[error("{0}")]
    Prices(#[from] bacowr_shared::pricing::PriceTableError),
}

/// `host-pid-restart-random`: apalis-redis refuses a name that is still registered, and tests
/// run several workers in one process.
fn worker_name(restart: usize) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "worker".to_owned());
    format!(
        "{host}-{}-{restart}-{:04x}",
        std::process::id(),
        rand::random::<u16>()
    )
}

/// Connects, checks the schema, and returns a future that runs the worker until `shutdown`
/// resolves. The future resolves with an error if the workers stop on their own.
pub async fn start(
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<impl Future<Output = Result<(), MonitorError>>, StartError> {
    let db = connect_database(&settings.database).await?;
    bacowr_migrations::ensure_migrated(&db, settings.database.auto_migrate).await?;
    let redis = connect_redis(&settings.redis).await?;
    let fetcher = Fetcher::new(&settings.context).map_err(StartError::Context)?;
    let prices = PriceTable::load(&settings.provider.price_table)?;
    let state = Arc::new(WorkerState {
        db,
        redis: redis.clone(),
        fetcher,
        router: Router::new(&settings, redis.clone(), prices)?,
        owner: worker_name(0),
        settings: settings.clone(),
    });
    let storage = article_queue(redis.clone(), &settings);
    {
        let state = state.clone();
        let namespace = settings.redis.namespace.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(5));
            loop {
                tick.tick().await;
                state
                    .router
                    .publish_status(&redis, &namespace, &state.owner)
                    .await;
            }
        });
    }
    let concurrency = settings.worker.concurrency;
    let poll = Duration::from_millis(settings.worker.poll_interval_ms);
    let grace = Duration::from_secs(settings.worker.shutdown_grace_secs);

    let monitor = Monitor::new()
        .register(move |restart| {
            WorkerBuilder::new(worker_name(restart))
                .backend(storage.clone().poll_with_interval(poll))
                .data(state.clone())
                .concurrency(concurrency)
                .parallelize(tokio::spawn)
                .build(handle)
        })
        .should_restart(|ctx, error| {
            tracing::error!(worker = %ctx.name(), %error, "worker stopped; restarting");
            true
        })
        .shutdown_timeout(grace);
    Ok(monitor.run_with_signal(async move {
        shutdown.await;
        tracing::info!("shutdown requested; finishing in-flight jobs");
        Ok(())
    }))
}

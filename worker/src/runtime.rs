//! Building and running the apalis worker, configured around apalis-redis 1.0's measured
//! defects: the shared queue config (`bacowr_shared::queue::queue_config`), a
//! unique name per process and restart, a poll interval, a Redis connection with a patient
//! response timeout, and restarts of stopped workers.

use std::{
    sync::{Arc, atomic::AtomicBool},
    time::Duration,
};

use apalis::{layers::sentry::SentryLayer, prelude::*};

use bacowr_shared::{
    config::Settings,
    infra::{Infra, InfraError},
    pricing::PriceTable,
    queue::ArticleQueue,
    webhooks::queue::WebhookQueue,
};

use crate::{
    context::Fetcher,
    dispatch::Dispatcher,
    handler::{WorkerState, handle},
    metrics::Metrics,
    router::Router,
    sentry_hub::HubPerTask,
    store, webhooks,
};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    Infra(#[from] InfraError),
    #[error("{0}")]
    Schema(#[from] bacowr_migrations::SchemaError),
    #[error("{0}")]
    Router(#[from] crate::router::RouterError),
    #[error("context fetching: {0}")]
    Context(String),
    #[error("{0}")]
    Prices(#[from] bacowr_shared::pricing::PriceTableError),
    #[error("webhooks: {0}")]
    Webhooks(String),
    #[error("worker.http_listen: {0}")]
    Http(std::io::Error),
}

/// Registers a worker on `backend` with the layers every worker has. A macro, not a function:
/// the builder's type is spelled out by its backend's, and each backend is its own type.
macro_rules! register {
    ($monitor:expr, $backend:ident, $poll:ident, $suffix:expr, $data:ident, $concurrency:ident, $handler:path) => {
        $monitor.register(move |restart| {
            WorkerBuilder::new(format!("{}{}", worker_name(restart), $suffix))
                .backend($backend.clone().poll_with_interval($poll))
                .layer(HubPerTask)
                .layer(SentryLayer::new())
                .data($data.clone())
                .concurrency($concurrency)
                .parallelize(tokio::spawn)
                .build($handler)
        })
    };
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

/// Connects, checks the schema, and returns a future that runs the worker (and a dispatcher
/// candidate) until `shutdown` resolves: then no new task starts, in-flight jobs get the grace
/// period, and whatever is still running is released to the queue. The future resolves with
/// an error if the workers stop on their own.
pub async fn start(
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<impl Future<Output = Result<(), MonitorError>>, StartError> {
    let infra = Infra::connect(&settings).await?;
    bacowr_migrations::ensure_migrated(&infra.db, settings.database.auto_migrate).await?;
    start_with(settings, infra, shutdown).await
}

/// [`start`] on connections made elsewhere (the embedded build shares its with the API of
/// the process). The schema must be current.
pub async fn start_with(
    settings: Settings,
    infra: Infra,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<impl Future<Output = Result<(), MonitorError>>, StartError> {
    let Infra {
        db,
        backplane,
        queues,
        ..
    } = infra.clone();
    let fetcher = Fetcher::new(&settings.context).map_err(StartError::Context)?;
    let prices = PriceTable::load(&settings.provider.price_table)?;
    let metrics = Arc::new(Metrics::default());
    let state = Arc::new(WorkerState {
        db: db.clone(),
        backplane: backplane.clone(),
        queues: queues.clone(),
        fetcher,
        router: Router::new(&settings, backplane.clone(), prices)?.with_metrics(metrics.clone()),
        owner: worker_name(0),
        settings: settings.clone(),
        metrics: metrics.clone(),
        events: bacowr_shared::events::Publisher::new(backplane.clone(), &settings),
        accepting: AtomicBool::new(true),
    });
    let storage = queues.articles(&settings);
    if !settings.worker.http_listen.is_empty() {
        let addr = settings
            .worker
            .http_listen
            .parse()
            .map_err(|e| StartError::Http(std::io::Error::other(e)))?;
        let bound = crate::http::serve(addr, state.clone())
            .await
            .map_err(StartError::Http)?;
        tracing::info!(%bound, "worker endpoints: /health /ready /metrics");
    }
    let (stop_dispatch, stop_rx) = tokio::sync::watch::channel(false);
    let dispatcher = settings.dispatch.enabled.then(|| {
        tokio::spawn(
            Dispatcher {
                db: db.clone(),
                backplane: backplane.clone(),
                queues: queues.clone(),
                queue: storage.clone(),
                webhook_queue: queues.webhooks(&settings),
                settings: settings.clone(),
                metrics: metrics.clone(),
                events: bacowr_shared::events::Publisher::new(backplane.clone(), &settings),
            }
            .run(stop_rx),
        )
    });
    {
        // The fleet's breaker openings, a few times a second.
        let state = state.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(crate::router::BREAKER_SYNC_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                state.router.sync_breakers().await;
            }
        });
    }
    {
        let state = state.clone();
        let namespace = settings.redis.namespace.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(5));
            loop {
                tick.tick().await;
                state
                    .router
                    .publish_status(&state.backplane, &namespace, &state.owner)
                    .await;
            }
        });
    }
    let concurrency = settings.worker.concurrency;
    let poll = Duration::from_millis(settings.worker.poll_interval_ms);
    let grace = Duration::from_secs(settings.worker.shutdown_grace_secs);

    let stopping = state.clone();
    let finishing = state.clone();
    // One registration per backend: the builder's type follows its backend's.
    let mut monitor = match storage {
        ArticleQueue::Redis(storage) => {
            register!(
                Monitor::new(),
                storage,
                poll,
                "",
                state,
                concurrency,
                handle
            )
        }
        ArticleQueue::Sqlite(storage) => {
            register!(
                Monitor::new(),
                storage,
                poll,
                "",
                state,
                concurrency,
                handle
            )
        }
    };
    if settings.webhooks.enabled {
        // Its own queue, worker and concurrency: a slow receiver holds webhook slots only.
        let hooks = Arc::new(
            webhooks::WebhookState::new(db.clone(), &settings.webhooks)
                .map_err(StartError::Webhooks)?,
        );
        let concurrency = settings.webhooks.concurrency;
        monitor = match queues.webhooks(&settings) {
            WebhookQueue::Redis(queue) => register!(
                monitor,
                queue,
                poll,
                "-webhooks",
                hooks,
                concurrency,
                webhooks::handle
            ),
            WebhookQueue::Sqlite(queue) => register!(
                monitor,
                queue,
                poll,
                "-webhooks",
                hooks,
                concurrency,
                webhooks::handle
            ),
        };
    }
    let monitor = monitor
        .should_restart(|ctx, error| {
            tracing::error!(worker = %ctx.name(), %error, "worker stopped; restarting");
            true
        })
        .shutdown_timeout(grace);
    Ok(async move {
        // Holds the embedded build's claim on its files while the workers run.
        let _infra = infra;
        let result = monitor
            .run_with_signal(async move {
                shutdown.await;
                stopping
                    .accepting
                    .store(false, std::sync::atomic::Ordering::SeqCst);
                tracing::info!("shutdown requested; finishing in-flight jobs");
                Ok(())
            })
            .await;
        let _ = stop_dispatch.send(true);
        if let Some(dispatcher) = dispatcher {
            let _ = dispatcher.await;
        }
        let state = finishing;
        match store::release_owned(&state.db, &state.owner).await {
            Ok(0) => {}
            Ok(n) => {
                state.metrics.jobs_released(n);
                tracing::warn!(jobs = n, "released unfinished jobs to the queue");
                state
                    .backplane
                    .wake_dispatcher(&state.settings.redis.namespace)
                    .await;
            }
            Err(e) => {
                tracing::error!(error = %e, "releasing unfinished jobs failed; their leases will expire")
            }
        }
        result
    })
}

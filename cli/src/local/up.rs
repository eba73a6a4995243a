//! `bacowr up`: the API and N workers in this process, against the configured Postgres and
//! Redis (config file, `BACOWR_*`, or the conventional `DATABASE_URL` / `REDIS_URL`).

use std::net::SocketAddr;

use bacowr_shared::{config::Settings, telemetry};
use sea_orm::{EntityTrait, PaginatorTrait};

use crate::{
    exit::CliError,
    local::{Stack, services, sim},
};

#[derive(Debug, clap::Args)]
pub struct UpArgs {
    /// Worker runtimes in this process (each with `worker.concurrency` slots).
    #[arg(long, default_value_t = 2)]
    pub workers: usize,
    /// Where the API listens (default: `api.listen`, 127.0.0.1:8080).
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Write with the built-in provider simulator instead of real providers (no keys needed;
    /// articles are placeholders, costs are not real).
    #[arg(long)]
    pub simulate: bool,
}

/// `BACOWR_DATABASE__URL` wins; else the conventional `DATABASE_URL`; same for Redis.
pub fn conventional_urls(settings: &mut Settings) {
    if std::env::var_os("BACOWR_DATABASE__URL").is_none()
        && let Ok(url) = std::env::var("DATABASE_URL")
    {
        settings.database.url = url;
    }
    if std::env::var_os("BACOWR_REDIS__URL").is_none()
        && let Ok(url) = std::env::var("REDIS_URL")
    {
        settings.redis.url = url;
    }
}

fn has_provider(settings: &Settings) -> bool {
    !settings.router.chain.is_empty()
        || !settings.provider.api_key.is_empty()
        || !settings
            .provider
            .base_url
            .starts_with("https://api.openai.com")
}

pub async fn run(args: UpArgs) -> Result<(), CliError> {
    let mut settings = Settings::load().map_err(|e| CliError::Input(e.to_string()))?;
    conventional_urls(&mut settings);
    if let Some(listen) = args.listen {
        settings.api.listen = listen;
    }
    let _telemetry = telemetry::init("bacowr", &settings.telemetry);
    services::ensure_database(&settings.database.url).await?;
    services::check_redis(&settings.redis.url).await?;
    // `up` is the one-command start: bring the schema up to date instead of refusing.
    settings.database.auto_migrate = true;
    let simulator = if args.simulate {
        Some(sim::start(&mut settings, &sim::Profile::calm()).await?)
    } else {
        None
    };
    let stack = Stack::start(settings.clone(), args.workers).await?;
    let db = bacowr_shared::db::connect_database(&settings.database)
        .await
        .map_err(|e| CliError::Local(format!("Postgres: {e}")))?;
    let orgs = bacowr_shared::entities::organization::Entity::find()
        .count(&db)
        .await
        .map_err(|e| CliError::Local(format!("Postgres: {e}")))?;
    crate::out!("BACOWR is up");
    crate::out!("  API      {}/api/v1", stack.api_url);
    crate::out!("  docs     {}/docs", stack.api_url);
    crate::out!(
        "  workers  {} × {} slots, database {}",
        args.workers.max(1),
        settings.worker.concurrency,
        services::redact(&settings.database.url)
    );
    if orgs == 0 {
        let created = bacowr_api::services::orgs::create_org(&db, "default")
            .await
            .map_err(|e| CliError::Local(format!("creating the first organization: {e}")))?;
        crate::out!(
            "  key      {} (organization \"default\", {}; shown once)",
            created.api_key,
            created.org_id
        );
    }
    if simulator.is_some() {
        crate::out!("  providers SIMULATED (llm-sim in this process): articles are placeholders");
    } else if !has_provider(&settings) {
        crate::out!(
            "  warning  no provider key configured: set BACOWR_PROVIDER__API_KEY or [deployments.*] (README), or use --simulate"
        );
    }
    crate::out!(
        "Ctrl-C stops; in-flight jobs get {} s to finish.",
        settings.worker.shutdown_grace_secs
    );
    let mut stack = stack;
    let outcome = tokio::select! {
        _ = shutdown_signal() => Ok(()),
        why = stack.failed() => Err(CliError::Local(why)),
    };
    eprintln!("stopping…");
    stack.stop().await;
    if let Some(sim) = simulator {
        sim.shutdown().await;
    }
    outcome
}

pub async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

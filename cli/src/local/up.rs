//! `bacowr up`: the API and N workers in this process. Embedded by default (a SQLite database
//! and queue in `--data-dir`, nothing to install); against Postgres and Redis when they are
//! configured (config file, `BACOWR_*`, or the conventional `DATABASE_URL` / `REDIS_URL`).

use std::{net::SocketAddr, path::PathBuf};

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
    /// Where the embedded build keeps its database and queue files (created if missing).
    #[arg(long, default_value = "bacowr-data")]
    pub data_dir: PathBuf,
}

/// Whether the settings name a database or Redis of their own (anything but the defaults):
/// then `up` runs against them; otherwise it runs embedded.
fn configured(settings: &Settings) -> Result<bool, CliError> {
    use figment::providers::Format;
    let defaults: Settings = figment::Figment::from(figment::providers::Toml::string(
        bacowr_shared::config::DEFAULTS,
    ))
    .extract()
    .map_err(|e| CliError::Local(format!("embedded defaults: {e}")))?;
    Ok(settings.database.url != defaults.database.url || settings.redis.url != defaults.redis.url)
}

/// The embedded build's database URL in `dir`.
pub fn embedded_url(dir: &std::path::Path) -> Result<String, CliError> {
    // The path goes into a URL, where these would start its query or fragment.
    if dir.to_string_lossy().contains(['?', '#']) {
        return Err(CliError::Input(format!(
            "--data-dir {}: a folder whose path has no '?' or '#', please",
            dir.display()
        )));
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| CliError::Input(format!("--data-dir {}: {e}", dir.display())))?;
    Ok(format!(
        "sqlite://{}?mode=rwc",
        dir.join("bacowr.db").to_string_lossy()
    ))
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
    if bacowr_shared::infra::is_sqlite(&settings.database.url) {
        // Named explicitly: that file, embedded.
    } else if configured(&settings)? {
        services::ensure_database(&settings.database.url).await?;
        services::check_redis(&settings.redis.url).await?;
    } else {
        settings.database.url = embedded_url(&args.data_dir)?;
    }
    // `up` is the one-command start: bring the schema up to date instead of refusing.
    settings.database.auto_migrate = true;
    let simulator = if args.simulate {
        Some(sim::start(&mut settings, &sim::Profile::calm()).await?)
    } else {
        None
    };
    let stack = Stack::start(settings.clone(), args.workers).await?;
    let db = stack.database(&settings).await?;
    let orgs = bacowr_shared::entities::organization::Entity::find()
        .count(&db)
        .await
        .map_err(|e| CliError::Local(format!("database: {e}")))?;
    crate::out!("BACOWR is up");
    crate::out!("  API      {}/api/v1", stack.api_url);
    crate::out!("  docs     {}/docs", stack.api_url);
    crate::out!(
        "  workers  {} × {} slots, database {}",
        args.workers.max(1),
        settings.worker.concurrency,
        services::redact(&settings.database.url)
    );
    if bacowr_shared::infra::is_sqlite(&settings.database.url) {
        crate::out!(
            "  mode     embedded: SQLite database and queue, no Postgres or Redis; one process only"
        );
    } else {
        crate::out!(
            "  mode     fleet: Postgres and Redis; more `bacowr-api` and `bacowr-worker` processes may join"
        );
    }
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

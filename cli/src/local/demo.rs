//! `bacowr demo`: everything in this process (API, workers, and the provider simulator with an
//! outage of the primary), the bundled 175-link batch submitted over HTTP, live progress,
//! a summary table, and the approved articles exported to `./bacowr-out/`. Embedded (a
//! scratch SQLite database and queue, nothing to install) unless a Postgres or Redis is given.

use std::{path::PathBuf, time::Instant};

use bacowr_shared::{config::Settings, telemetry};
use serde::Serialize;

use crate::{
    client::{Client, models::BulkReviewBody},
    commands::export::write_file,
    exit::CliError,
    local::{
        Stack, example, scratch_dir,
        services::{self, Scratch},
        sim,
        up::shutdown_signal,
    },
    summary::{Summary, render},
    watch::{WatchOptions, watch},
};

const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const DEFAULT_REDIS: &str = "redis://127.0.0.1:6379";

/// Where a run keeps its data.
enum Place {
    Fleet(Scratch),
    /// A scratch directory holding the SQLite database and queue.
    Embedded(scratch_dir::ScratchDir),
}
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// A CSV to use instead of the bundled 175-link example.
    #[arg(long)]
    pub file: Option<PathBuf>,
    /// Use only the first N links.
    #[arg(long)]
    pub links: Option<usize>,
    /// Worker runtimes in this process.
    #[arg(long, default_value_t = 2)]
    pub workers: usize,
    /// Jobs each worker runs at once.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Simulated generation time per call, in milliseconds, plus up to --jitter-ms more.
    #[arg(long, default_value_t = 2000)]
    pub latency_ms: u64,
    #[arg(long, default_value_t = 1500)]
    pub jitter_ms: u64,
    /// The primary provider (claude) starts failing this many seconds after submission…
    #[arg(long, default_value_t = 5.0)]
    pub outage_after: f64,
    /// …for this many seconds (0: no outage).
    #[arg(long, default_value_t = 12.0)]
    pub outage_secs: f64,
    /// Where the exports go.
    #[arg(long, default_value = "bacowr-out")]
    pub out: PathBuf,
    /// Run against Postgres and Redis instead of embedded: the server the demo creates its
    /// scratch database on (any database URL of it).
    #[arg(long, env = "DATABASE_URL")]
    pub postgres: Option<String>,
    /// Run against Postgres and Redis instead of embedded: the Redis to use.
    #[arg(long, env = "REDIS_URL")]
    pub redis: Option<String>,
    /// Keep the scratch database and the server running after the summary, until Ctrl-C.
    #[arg(long)]
    pub keep: bool,
    /// Also write the summary as JSON to this file.
    #[arg(long)]
    pub summary_json: Option<PathBuf>,
}

/// What the demo reports at the end, in `--summary-json`.
#[derive(Debug, Serialize)]
pub struct DemoReport {
    pub summary: Summary,
    pub approved: usize,
    pub exports: Vec<PathBuf>,
    pub providers: Vec<(&'static str, llm_sim::Served)>,
    pub breakers_opened: Vec<String>,
    pub fallback_calls: i64,
}

fn settings(args: &DemoArgs, place: &Place) -> Result<Settings, CliError> {
    // The embedded defaults only: a demo must not pick up a real deployment's config.
    let mut s = Settings::from_figment(Settings::figment(None))
        .map_err(|e| CliError::Input(e.to_string()))?;
    s.database.auto_migrate = true;
    s.database.max_connections = 20;
    match place {
        Place::Fleet(scratch) => {
            s.database.url = scratch.database_url.clone();
            s.redis.url = scratch.redis_url.clone();
            s.redis.namespace = scratch.namespace.clone();
        }
        Place::Embedded(dir) => {
            s.database.url = crate::local::up::embedded_url(dir.path())?;
            s.redis.namespace = "bacowr-demo".into();
        }
    }
    s.api.listen = "127.0.0.1:0".parse().expect("literal address");
    s.worker.concurrency = args.concurrency.max(1);
    // One organization owns the whole demo: let it use every slot (the default share is 10).
    s.dispatch.org_max_running = args.workers.max(1) * s.worker.concurrency;
    s.worker.poll_interval_ms = 100;
    s.worker.shutdown_grace_secs = 5;
    s.worker.http_listen.clear();
    // The example's publishers and clients are not reachable from a laptop demo, and the
    // simulator does not need page context to write.
    s.context.enabled = false;
    s.telemetry.log_format = "pretty".into();
    if std::env::var_os("RUST_LOG").is_none() {
        s.telemetry.log_level = "error".into();
    }
    Ok(s)
}

pub async fn run(args: DemoArgs) -> Result<(), CliError> {
    let csv = match &args.file {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| CliError::Input(format!("cannot read {}: {e}", path.display())))?,
        None => example::BATCH.to_owned(),
    };
    let body = example::submission(&csv, args.links)?;
    eprintln!("BACOWR demo: every provider below is SIMULATED (llm-sim, in this process).");
    eprintln!(
        "No real model is called; articles are placeholders; costs are what real prices would be."
    );
    let place = if args.postgres.is_none() && args.redis.is_none() {
        eprintln!("embedded: a scratch SQLite database and queue; no Postgres or Redis needed.");
        Place::Embedded(scratch_dir::ScratchDir::create()?)
    } else {
        Place::Fleet(fleet_scratch(&args).await?)
    };
    let result = run_in(&args, &place, body).await;
    match place {
        Place::Fleet(scratch) => scratch.remove().await,
        Place::Embedded(dir) => dir.remove(),
    }
    result
}

async fn fleet_scratch(args: &DemoArgs) -> Result<Scratch, CliError> {
    let postgres = args.postgres.as_deref().unwrap_or(DEFAULT_POSTGRES);
    let redis = args.redis.as_deref().unwrap_or(DEFAULT_REDIS);
    match Scratch::create(postgres, redis).await {
        // Defaults that aren't running: start the local servers (or containers), as the test
        // command does, rather than send a newcomer off to read instructions.
        Err(CliError::Missing(why)) if postgres == DEFAULT_POSTGRES && redis == DEFAULT_REDIS => {
            eprintln!("{}", why.lines().next().unwrap_or_default());
            eprintln!("trying to start local Postgres and Redis…");
            services::start_local().await?;
            Scratch::create(postgres, redis).await
        }
        other => other,
    }
}

async fn run_in(args: &DemoArgs, place: &Place, body: serde_json::Value) -> Result<(), CliError> {
    let mut settings = settings(args, place)?;
    let _telemetry = telemetry::init("bacowr-demo", &settings.telemetry);
    let profile = sim::Profile {
        latency_ms: args.latency_ms,
        jitter_ms: args.jitter_ms,
        outage_after_secs: args.outage_after,
        outage_secs: args.outage_secs,
    };
    let simulator = sim::start(&mut settings, &profile).await?;
    let stack = Stack::start(settings.clone(), args.workers).await?;
    // Ctrl-C stops the run, never the cleanup: the stack and simulator stop before the
    // scratch database and Redis keys are removed.
    let outcome = tokio::select! {
        r = drive(args, &settings, &stack, &simulator, &profile, body) => r,
        _ = shutdown_signal() => Err(CliError::Interrupted),
    };
    if outcome.is_ok() && args.keep {
        eprintln!(
            "--keep: the server stays up at {} until Ctrl-C",
            stack.api_url
        );
        shutdown_signal().await;
    }
    stack.stop().await;
    simulator.shutdown().await;
    outcome
}

async fn drive(
    args: &DemoArgs,
    settings: &Settings,
    stack: &Stack,
    simulator: &llm_sim::SimHandle,
    profile: &sim::Profile,
    body: serde_json::Value,
) -> Result<(), CliError> {
    let db = stack.database(settings).await?;
    let org = bacowr_api::services::orgs::create_org(&db, "Demo agency")
        .await
        .map_err(|e| CliError::Local(format!("creating the demo organization: {e}")))?;
    eprintln!(
        "API  {}/api/v1   docs {}/docs",
        stack.api_url, stack.api_url
    );
    eprintln!(
        "key  {} (demo organization, dropped afterwards)",
        org.api_key
    );
    eprintln!(
        "providers: claude → gpt → gemini (simulated, {}–{} ms per call); {}",
        profile.latency_ms,
        profile.latency_ms + profile.jitter_ms,
        if profile.outage_secs > 0.0 {
            format!(
                "claude has an outage {}–{} s after submission",
                profile.outage_after_secs,
                profile.outage_after_secs + profile.outage_secs
            )
        } else {
            "no outage".to_owned()
        }
    );
    eprintln!(
        "trust links come from the pages BACOWR fetches; the example's sites can't be fetched offline, so this batch doesn't require them"
    );
    let client = Client::new(&stack.api_url, &org.api_key)?;
    let started = Instant::now();
    sim::arm_outage(simulator, profile);
    let batch = client.submit_json(&body, None).await?;
    eprintln!("submitted {} links as {}", batch.total_jobs, batch.id);
    // Our own server and organization: poll faster than a client of a shared server would.
    let options = WatchOptions {
        interval: std::time::Duration::from_secs(1),
        providers_every: Some(std::time::Duration::from_secs(2)),
        timeout: None,
    };
    let (batch, track) = watch(&client, &batch.id, &options).await?;
    let wall = started.elapsed();
    let jobs = client.jobs(&batch.id).await?;
    let summary = Summary::new(&batch, &jobs, wall);

    // A reviewer would read them; the demo approves what passed QC so there is an export.
    let approved = client
        .review_bulk(
            &batch.id,
            &BulkReviewBody {
                decision: "approve".into(),
                item_ids: None,
                all_passing_qc: Some(true),
                notes: Some("approved by the demo: passed QC".into()),
            },
        )
        .await?
        .applied
        .len();
    let exports = export_all(&client, &batch.id, &args.out, approved).await?;
    let served = sim::served(simulator);
    crate::out!("{}", summary.table());
    crate::out!("{}", providers_table(&served, &track.breakers_opened));
    crate::out!(
        "approved {approved} articles that passed QC (a reviewer decides the {} that need review)",
        summary.needs_review
    );
    for path in &exports {
        crate::out!("export: {}", path.display());
    }
    let report = DemoReport {
        summary,
        approved,
        exports,
        providers: served,
        breakers_opened: track.breakers_opened,
        fallback_calls: track.fallback_calls,
    };
    if let Some(path) = &args.summary_json {
        let text = serde_json::to_vec_pretty(&report)
            .map_err(|e| CliError::Local(format!("summary JSON: {e}")))?;
        let name = path.file_name().and_then(|n| n.to_str()).ok_or_else(|| {
            CliError::Input(format!(
                "--summary-json {}: not a file name",
                path.display()
            ))
        })?;
        let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
        write_file(dir.unwrap_or(std::path::Path::new(".")), name, &text)?;
    }
    Ok(())
}

async fn export_all(
    client: &Client,
    batch_id: &str,
    out: &std::path::Path,
    approved: usize,
) -> Result<Vec<PathBuf>, CliError> {
    if approved == 0 {
        eprintln!("nothing approved: no export written");
        return Ok(Vec::new());
    }
    let mut paths = Vec::new();
    for format in ["json", "csv", "markdown", "html", "docx"] {
        let download = client.export(batch_id, format).await?;
        paths.push(write_file(out, &download.file_name, &download.bytes)?);
    }
    Ok(paths)
}

fn providers_table(served: &[(&str, llm_sim::Served)], opened: &[String]) -> String {
    let rows: Vec<(&str, String)> = served
        .iter()
        .map(|(name, s)| {
            (
                *name,
                format!(
                    "{} calls: {} ok, {} failed{}",
                    s.requests,
                    s.ok,
                    s.faulted,
                    if opened.iter().any(|o| o == name) {
                        "; breaker opened"
                    } else {
                        ""
                    }
                ),
            )
        })
        .collect();
    render(&rows)
}

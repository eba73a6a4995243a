//! `bacowr status BATCH [--wait]`: where a batch stands.

use std::time::{Duration, Instant};

use crate::{
    client::models::BatchView,
    commands::{Remote, print_json},
    exit::CliError,
    summary::{Summary, render},
    watch::{WatchOptions, watch},
};

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// The batch id (`batch_…`).
    pub batch: String,
    /// Follow the batch with progress bars until every job has finished.
    #[arg(long)]
    pub wait: bool,
    /// With --wait: give up after this many seconds (exit 9); the batch goes on.
    #[arg(long, requires = "wait")]
    pub timeout: Option<u64>,
    /// Print JSON instead of tables (for scripts).
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub remote: Remote,
}

pub fn batch_table(b: &BatchView) -> String {
    let c = &b.counts;
    let r = &b.review;
    render(&[
        ("batch", b.id.clone()),
        ("name", b.name.clone().unwrap_or_default()),
        ("status", b.status.clone()),
        (
            "progress",
            format!("{:.0}% of {} jobs", b.progress * 100.0, b.total_jobs),
        ),
        (
            "jobs",
            format!(
                "queued {} · running {} · succeeded {} · needs review {} · failed {} · cancelled {}",
                c.queued, c.running, c.succeeded, c.needs_review, c.failed, c.cancelled
            ),
        ),
        (
            "review",
            format!(
                "pending {} · approved {} · rejected {} · regenerating {}",
                r.pending, r.approved, r.rejected, r.regenerating
            ),
        ),
        (
            "QC",
            format!(
                "{} passed · {} need review · first-draft pass rate {:.0}% ({})",
                b.qc.passed,
                b.qc.needs_review,
                b.qc.first_try_pass_rate * 100.0,
                b.qc.profile
            ),
        ),
        ("cost", format!("${:.4}", b.cost_usd)),
        (
            "tokens",
            format!("{} in, {} out", b.tokens_in, b.tokens_out),
        ),
        ("created", b.created_at.clone()),
    ])
}

/// Follows a batch to the end of generation and prints the summary; exit 8 if jobs failed.
pub async fn follow(
    remote: &Remote,
    batch_id: &str,
    timeout: Option<u64>,
    json: bool,
) -> Result<(), CliError> {
    let client = remote.client()?;
    let started = Instant::now();
    let options = WatchOptions {
        timeout: timeout.map(Duration::from_secs),
        ..WatchOptions::default()
    };
    let (batch, _) = watch(&client, batch_id, &options).await?;
    let jobs = client.jobs(batch_id).await?;
    let summary = Summary::new(&batch, &jobs, started.elapsed());
    if json {
        print_json(&summary)?;
    } else {
        crate::out!("{}", summary.table());
    }
    if batch.counts.failed > 0 {
        return Err(CliError::JobsFailed(batch.counts.failed));
    }
    Ok(())
}

pub async fn run(args: StatusArgs) -> Result<(), CliError> {
    if args.wait {
        return follow(&args.remote, &args.batch, args.timeout, args.json).await;
    }
    let batch = args.remote.client()?.batch(&args.batch).await?;
    if args.json {
        print_json(&batch)
    } else {
        crate::out!("{}", batch_table(&batch));
        Ok(())
    }
}

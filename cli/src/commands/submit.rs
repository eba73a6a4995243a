//! `bacowr submit FILE.csv [--wait]`: sends a CSV of link assignments as one batch.

use std::path::PathBuf;

use crate::{
    client::SubmitOptions,
    commands::{Remote, print_json, status},
    exit::CliError,
};

#[derive(Debug, clap::Args)]
pub struct SubmitArgs {
    /// CSV with a header `publisher,target,anchor[,language]` (`,` `;` or tab separated);
    /// `-` reads standard input.
    pub file: PathBuf,
    /// Follow the batch with progress bars until every job has finished, then summarize.
    #[arg(long)]
    pub wait: bool,
    /// With --wait: give up after this many seconds (exit 9); the batch goes on.
    #[arg(long, requires = "wait")]
    pub timeout: Option<u64>,
    /// Deployments this batch may use, in order, e.g. `claude,gpt`.
    #[arg(long)]
    pub providers: Option<String>,
    /// QC profile: `standard` (default) or `long_form`.
    #[arg(long)]
    pub qc_profile: Option<String>,
    /// Language for rows that don't say and whose publisher and target don't tell.
    #[arg(long)]
    pub default_language: Option<String>,
    /// Reuse a key to make a re-run of the same submission return the first batch.
    #[arg(long)]
    pub idempotency_key: Option<String>,
    /// Print JSON instead of tables (for scripts).
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub remote: Remote,
}

fn read_input(file: &PathBuf) -> Result<Vec<u8>, CliError> {
    if file.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)
            .map_err(|e| CliError::Input(format!("cannot read standard input: {e}")))?;
        return Ok(buf);
    }
    std::fs::read(file).map_err(|e| CliError::Input(format!("cannot read {}: {e}", file.display())))
}

pub async fn run(args: SubmitArgs) -> Result<(), CliError> {
    let client = args.remote.client()?;
    let csv = read_input(&args.file)?;
    if csv.iter().all(u8::is_ascii_whitespace) {
        return Err(CliError::Input(format!("{} is empty", args.file.display())));
    }
    let options = SubmitOptions {
        providers: args.providers.clone(),
        qc_profile: args.qc_profile.clone(),
        default_language: args.default_language.clone(),
        idempotency_key: args.idempotency_key.clone(),
    };
    let batch = client.submit_csv(csv, &options).await?;
    for group in batch.duplicates.iter().flatten() {
        let rows: Vec<String> = group.iter().map(|r| (r + 1).to_string()).collect();
        eprintln!(
            "warning: links {} (counting from the first link under the header) repeat the same \
             publisher, target and anchor; each gets its own article",
            rows.join(", ")
        );
    }
    if args.json && !args.wait {
        return print_json(&batch);
    }
    eprintln!(
        "submitted {} links as {} (status {})",
        batch.total_jobs, batch.id, batch.status
    );
    if !args.json {
        crate::out!("{}", batch.id);
    }
    if args.wait {
        return status::follow(&args.remote, &batch.id, args.timeout, args.json).await;
    }
    Ok(())
}

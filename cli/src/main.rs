//! `bacowr`: see `bacowr --help`. Exit codes are part of the interface (README, `exit.rs`).

use clap::{Parser, Subcommand};

use bacowr_cli::{
    commands::{export, review, status, submit},
    exit::{CliError, Exit},
    local::{demo, up},
};

#[derive(Parser)]
#[command(
    name = "bacowr",
    version,
    about = "BACOWR: backlink articles, written, checked, reviewed and exported.",
    after_help = "Exit codes: 0 ok · 1 failure · 2 usage · 3 input refused (400/413/422) · 4 auth (401/403) · \
                  5 not found · 6 refused for now (402/409/429) · 7 server or service unavailable · \
                  8 jobs failed · 9 --wait timed out"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the API and workers in this process against Postgres and Redis.
    Up(up::UpArgs),
    /// Run everything here with simulated providers and write the bundled 175-link batch.
    Demo(demo::DemoArgs),
    /// Submit a CSV of link assignments as one batch.
    Submit(submit::SubmitArgs),
    /// Show a batch, or follow it with --wait.
    Status(status::StatusArgs),
    /// List a batch's review items, or approve / reject / regenerate them.
    Review(review::ReviewArgs),
    /// Download the approved articles of a batch.
    Export(export::ExportArgs),
}

fn main() {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("bacowr: cannot start the async runtime: {e}");
            std::process::exit(Exit::Failure as i32);
        }
    };
    let result: Result<(), CliError> = runtime.block_on(async {
        match cli.command {
            Command::Up(args) => up::run(args).await,
            Command::Demo(args) => demo::run(args).await,
            Command::Submit(args) => submit::run(args).await,
            Command::Status(args) => status::run(args).await,
            Command::Review(args) => review::run(args).await,
            Command::Export(args) => export::run(args).await,
        }
    });
    // Background tasks (breaker status, pub/sub) must not hold the exit up.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    if let Err(e) = result {
        eprintln!("bacowr: {e}");
        std::process::exit(e.exit() as i32);
    }
}

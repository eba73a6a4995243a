//! `bacowr-migrate [up|down [N]|status|fresh]` against the configured database
//! (`BACOWR_DATABASE__URL`, or the file named by `BACOWR_CONFIG`).

use bacowr_migrations::{Migrator, MigratorTrait};
use bacowr_shared::{config::Settings, db::connect_database};

const USAGE: &str = "usage: bacowr-migrate [up | down [N] | status | fresh | --help | --version]";

#[tokio::main]
async fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            return;
        }
        Some("-V" | "--version" | "version") => {
            println!("bacowr-migrate {}", env!("CARGO_PKG_VERSION"));
            return;
        }
        _ => {}
    }
    if let Err(e) = run().await {
        eprintln!("bacowr-migrate: {e}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let settings = Settings::load()?;
    let db = connect_database(&settings.database).await?;
    match args.first().map(String::as_str).unwrap_or("up") {
        "up" => Migrator::up(&db, None).await?,
        "down" => {
            let steps = args.get(1).map(|n| n.parse()).transpose()?.unwrap_or(1);
            Migrator::down(&db, Some(steps)).await?
        }
        "status" => {
            let pending = Migrator::get_pending_migrations(&db).await?;
            let applied = Migrator::get_applied_migrations(&db).await?;
            for m in applied {
                println!("applied  {}", m.name());
            }
            for m in &pending {
                println!("pending  {}", m.name());
            }
            if !pending.is_empty() {
                std::process::exit(2);
            }
        }
        "fresh" => Migrator::fresh(&db).await?,
        other => {
            return Err(
                format!("unknown command {other:?}; use up, down [N], status or fresh").into(),
            );
        }
    }
    Ok(())
}

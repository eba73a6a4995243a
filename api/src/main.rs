//! `bacowr-api [serve]` runs the API; `bacowr-api create-org NAME` creates an organization
//! and prints its first API key (once); `bacowr-api openapi` prints the OpenAPI document;
//! `bacowr-api access-matrix` prints the role/scope matrix as the README shows it;
//! `bacowr-api health` probes a running API's `/health` (the container healthcheck).

use bacowr_api::{Application, openapi, services::orgs};
use bacowr_shared::{config::Settings, db::connect_database, ids::OrgId, telemetry};

const USAGE: &str = "usage: bacowr-api [serve | create-org NAME | org-max-running ORG_ID N|default | openapi | access-matrix | health]";

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = match args.first().map(String::as_str) {
        None | Some("serve") => serve().await,
        Some("create-org") => create_org(&args[1..]).await,
        Some("org-max-running") => org_max_running(&args[1..]).await,
        Some("openapi") => {
            print!("{}", openapi::document());
            0
        }
        Some("health") => {
            bacowr_shared::probe::health_exit_code("bacowr-api", Ok(settings().api.listen)).await
        }
        Some("access-matrix") => {
            print!("{}", bacowr_api::access::markdown_table());
            0
        }
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            0
        }
        Some("-V" | "--version" | "version") => {
            println!("bacowr-api {}", env!("CARGO_PKG_VERSION"));
            0
        }
        Some(other) => {
            eprintln!("bacowr-api: unknown command {other:?}\n{USAGE}");
            2
        }
    };
    std::process::exit(code);
}

fn settings() -> Settings {
    Settings::load().unwrap_or_else(|e| {
        eprintln!("bacowr-api: {e}");
        std::process::exit(2)
    })
}

async fn serve() -> i32 {
    let settings = settings();
    let _telemetry = telemetry::init("bacowr-api", &settings.telemetry);
    let listen = settings.api.listen;
    let app = match Application::build(settings).await {
        Ok(app) => app,
        Err(e) => {
            tracing::error!(error = %e, "API failed to start");
            eprintln!("bacowr-api: {e}");
            return 1;
        }
    };
    tracing::info!(%listen, port = app.port(), "API listening");
    match app.run_until_stopped().await {
        Ok(()) => 0,
        Err(e) => {
            tracing::error!(error = %e, "API server failed");
            1
        }
    }
}

async fn create_org(args: &[String]) -> i32 {
    let name = args.join(" ");
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        eprintln!("bacowr-api: create-org needs a name of 1-200 characters\n{USAGE}");
        return 2;
    }
    let settings = settings();
    let result = async {
        let db = connect_database(&settings.database).await?;
        bacowr_migrations::ensure_migrated(&db, settings.database.auto_migrate).await?;
        Ok::<_, Box<dyn std::error::Error>>(orgs::create_org(&db, name).await?)
    }
    .await;
    match result {
        Ok(created) => {
            println!("organization: {}", created.org_id);
            println!("api key id:   {}", created.key_id);
            println!("api key:      {}", created.api_key);
            eprintln!("Store the key now: it is shown only once.");
            0
        }
        Err(e) => {
            eprintln!("bacowr-api: {e}");
            1
        }
    }
}

/// Until organization settings have an API (#7), ops set an organization's fleet share here.
async fn org_max_running(args: &[String]) -> i32 {
    let parsed = match args {
        [org, n] => OrgId::parse(org).ok().and_then(|org| match n.as_str() {
            "default" => Some((org, None)),
            n => n
                .parse::<i32>()
                .ok()
                .filter(|n| *n > 0)
                .map(|n| (org, Some(n))),
        }),
        _ => None,
    };
    let Some((org_id, max_running)) = parsed else {
        eprintln!(
            "bacowr-api: org-max-running needs an organization id and a positive number or `default`\n{USAGE}"
        );
        return 2;
    };
    let settings = settings();
    let result = async {
        let db = connect_database(&settings.database).await?;
        bacowr_migrations::ensure_migrated(&db, settings.database.auto_migrate).await?;
        Ok::<_, Box<dyn std::error::Error>>(orgs::set_max_running(&db, org_id, max_running).await?)
    }
    .await;
    match result {
        Ok(true) => {
            match max_running {
                Some(n) => println!("{org_id}: at most {n} jobs running at once"),
                None => println!("{org_id}: the configured default (dispatch.org_max_running)"),
            }
            0
        }
        Ok(false) => {
            eprintln!("bacowr-api: no organization {org_id}");
            1
        }
        Err(e) => {
            eprintln!("bacowr-api: {e}");
            1
        }
    }
}

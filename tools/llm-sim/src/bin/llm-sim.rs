//! `llm-sim [--listen 127.0.0.1:7777] [--site 127.0.0.1:7778] [--latency-ms 0] [--words 820] [--api-key KEY]
//! [--violate RULE [--violate-once]] [--faults FILE.json]`
//!
//! `--faults` takes `{"anthropic": {"error_rate": 0.2, "error_status": 529}, "gemini": {…}}`
//! (see `chaos::FaultProfile`); `POST /admin/faults` changes them at run time and
//! `GET /admin/stats` tells what each route served.

use std::time::Duration;

use llm_sim::{SimConfig, serve, serve_site};

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let mut listen = "127.0.0.1:7777".to_owned();
    let mut site: Option<String> = None;
    let mut config = SimConfig::default();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || {
            args.next().unwrap_or_else(|| {
                eprintln!("llm-sim: {flag} needs a value");
                std::process::exit(2)
            })
        };
        match flag.as_str() {
            "-V" | "--version" => {
                println!("llm-sim {}", env!("CARGO_PKG_VERSION"));
                return;
            }
            "--listen" => listen = value(),
            "--site" => site = Some(value()),
            "--latency-ms" => config.latency = Duration::from_millis(parse(&value())),
            "--words" => config.words = parse(&value()) as usize,
            "--api-key" => config.api_key = Some(value()),
            "--violate" => {
                config.violation = Some(value().parse().unwrap_or_else(|e| {
                    eprintln!("llm-sim: {e}");
                    std::process::exit(2)
                }))
            }
            "--violate-once" => config.violate_once = true,
            "--faults" => {
                let path = value();
                let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
                    eprintln!("llm-sim: cannot read {path}: {e}");
                    std::process::exit(2)
                });
                let profiles: std::collections::HashMap<llm_sim::Protocol, llm_sim::FaultProfile> =
                    serde_json::from_str(&text).unwrap_or_else(|e| {
                        eprintln!("llm-sim: {path}: {e}");
                        std::process::exit(2)
                    });
                config.faults = profiles.into_iter().collect();
            }
            _ => {
                eprintln!(
                    "usage: llm-sim [--listen ADDR] [--site ADDR] [--latency-ms N] [--faults FILE.json] [--words N] [--api-key KEY] \
                     [--violate short|no_anchor|mangled_anchor|duplicate_anchor|list|\
                     anchor_in_heading|banned_phrase|no_trust_links|bad_json [--violate-once]] [--version]"
                );
                std::process::exit(if matches!(flag.as_str(), "-h" | "--help") {
                    0
                } else {
                    2
                });
            }
        }
    }
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .unwrap_or_else(|e| {
            eprintln!("llm-sim: cannot listen on {listen}: {e}");
            std::process::exit(1)
        });
    if let Some(site) = site {
        let site_listener = tokio::net::TcpListener::bind(&site)
            .await
            .unwrap_or_else(|e| {
                eprintln!("llm-sim: cannot listen on {site}: {e}");
                std::process::exit(1)
            });
        tracing::info!(%site, "fixture site serving /page/<topic>?lang=xx and /source/<topic>");
        tokio::spawn(serve_site(site_listener));
    }
    tracing::info!(%listen, "llm-sim serving OpenAI chat completions at /v1/chat/completions");
    serve(listener, config).await;
}

fn parse(s: &str) -> u64 {
    s.parse().unwrap_or_else(|_| {
        eprintln!("llm-sim: {s:?} is not a number");
        std::process::exit(2)
    })
}

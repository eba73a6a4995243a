//! `bacowr-worker`: runs until SIGTERM/SIGINT, then finishes in-flight jobs within the grace
//! period. Exits non-zero if its workers stop on their own, so a supervisor restarts it.
//! `bacowr-worker health` probes a running worker's `/health` on `worker.http_listen` (the
//! container healthcheck).

use bacowr_shared::{config::Settings, telemetry};

const USAGE: &str = "usage: bacowr-worker [run | health | --help | --version]\n\
    Runs the workers until SIGTERM/SIGINT; configuration from BACOWR_CONFIG and BACOWR_* (README).";

#[tokio::main]
async fn main() {
    // Before anything else: `--help` must never start a worker.
    match std::env::args().nth(1).as_deref() {
        None | Some("run" | "health") => {}
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            return;
        }
        Some("-V" | "--version" | "version") => {
            println!("bacowr-worker {}", env!("CARGO_PKG_VERSION"));
            return;
        }
        Some(other) => {
            eprintln!("bacowr-worker: unknown argument {other:?}\n{USAGE}");
            std::process::exit(2);
        }
    }
    let settings = Settings::load().unwrap_or_else(|e| {
        eprintln!("bacowr-worker: {e}");
        std::process::exit(2)
    });
    if std::env::args().nth(1).as_deref() == Some("health") {
        let listen = &settings.worker.http_listen;
        let addr = if listen.is_empty() {
            Err("worker.http_listen is empty: the worker serves no /health".to_owned())
        } else {
            listen
                .parse()
                .map_err(|e| format!("worker.http_listen {listen:?}: {e}"))
        };
        std::process::exit(bacowr_shared::probe::health_exit_code("bacowr-worker", addr).await);
    }
    let code = {
        // Dropped before exiting, so its Sentry events and spans are flushed: an exit from
        // inside would lose the very report of why the worker stopped.
        let _telemetry = telemetry::init("bacowr-worker", &settings.telemetry);
        run(settings).await
    };
    std::process::exit(code);
}

async fn run(settings: Settings) -> i32 {
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let stopping = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = stopping.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        flag.store(true, std::sync::atomic::Ordering::SeqCst);
        let _ = stop_tx.send(());
    });
    let run = match bacowr_worker::start(settings, async {
        let _ = stop_rx.await;
    })
    .await
    {
        Ok(run) => run,
        Err(e) => {
            tracing::error!(error = %e, "worker failed to start");
            eprintln!("bacowr-worker: {e}");
            return 1;
        }
    };
    tracing::info!("worker started");
    if let Err(e) = &run.await {
        tracing::error!(error = %e, "workers failed");
        return 1;
    }
    if !stopping.load(std::sync::atomic::Ordering::SeqCst) {
        tracing::error!("workers stopped without a shutdown request");
        return 1;
    }
    tracing::info!("worker stopped cleanly");
    0
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("install SIGTERM handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

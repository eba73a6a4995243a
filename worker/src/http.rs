//! Each worker process's own endpoints, for probes and scrapers: `/health` (the process is
//! up), `/ready` (Postgres and Redis answer and the workers are taking tasks) and `/metrics`.
//! Plain hyper: the worker links no web framework.

use std::{convert::Infallible, net::SocketAddr, sync::Arc, time::Duration};

use http_body_util::Full;
use hyper::{
    Method, Request, Response, StatusCode,
    body::{Bytes, Incoming},
    server::conn::http1,
    service::service_fn,
};
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::net::TcpListener;

use crate::handler::WorkerState;

/// Binds `addr` and serves until the process ends. Returns the bound address (port 0 picks one).
pub async fn serve(addr: SocketAddr, state: Arc<WorkerState>) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let state = state.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req| handle(req, state.clone()));
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(bound)
}

type Reply = Response<Full<Bytes>>;

fn reply(status: StatusCode, content_type: &str, body: String) -> Reply {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(Full::new(Bytes::from(body)))
        .expect("static headers are valid")
}

async fn handle(req: Request<Incoming>, state: Arc<WorkerState>) -> Result<Reply, Infallible> {
    if req.method() != Method::GET {
        return Ok(reply(
            StatusCode::METHOD_NOT_ALLOWED,
            "application/json",
            json!({"detail": "only GET"}).to_string(),
        ));
    }
    Ok(match req.uri().path() {
        "/health" => reply(
            StatusCode::OK,
            "application/json",
            json!({"status": "ok", "worker": state.owner}).to_string(),
        ),
        "/ready" => ready(&state).await,
        "/metrics" => metrics(&state).await,
        _ => reply(
            StatusCode::NOT_FOUND,
            "application/json",
            json!({"detail": "no such route"}).to_string(),
        ),
    })
}

/// Every worker reports the queue depth it reads now, so any one scrape target tells it; a
/// Redis hiccup falls back to the active dispatcher's last reading.
async fn metrics(state: &WorkerState) -> Reply {
    let depth = tokio::time::timeout(
        Duration::from_secs(1),
        crate::dispatch::queues::depth(&state.queues, &state.settings),
    )
    .await
    .ok()
    .and_then(Result::ok);
    reply(
        StatusCode::OK,
        crate::metrics::CONTENT_TYPE,
        state.metrics.render(&state.router.status(), depth),
    )
}

async fn ready(state: &WorkerState) -> Reply {
    // As on the API: the embedded build's one connection may be busy, not down.
    let timeout = if state.backplane.is_local() {
        Duration::from_secs(10)
    } else {
        Duration::from_secs(2)
    };
    let postgres = matches!(
        tokio::time::timeout(timeout, state.db.ping()).await,
        Ok(Ok(()))
    );
    let redis = matches!(
        tokio::time::timeout(timeout, state.backplane.ping()).await,
        Ok(Ok(()))
    );
    let accepting = state.accepting();
    let ok = postgres && redis && accepting;
    let check = |up: bool| if up { "ok" } else { "unavailable" };
    reply(
        if ok {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        },
        "application/json",
        json!({
            "status": if ok { "ready" } else { "unavailable" },
            "checks": {
                "postgres": check(postgres),
                "redis": check(redis),
                "workers": if accepting { "running" } else { "stopping" },
            },
        })
        .to_string(),
    )
}

//! The HTTP server: hyper on a tokio listener, one task per connection.

use std::{
    convert::Infallible,
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use http_body_util::{BodyExt, Full, Limited};
use hyper::{
    Method, Request, Response, StatusCode,
    body::{Bytes, Incoming},
    server::conn::http1,
    service::service_fn,
};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::{net::TcpListener, sync::watch, task::JoinHandle};

use crate::openai;

const MAX_REQUEST_BYTES: usize = 4 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Added before every answer, to stand in for generation time.
    pub latency: Duration,
    /// Words per generated article.
    pub words: usize,
    /// When set, requests must carry `Authorization: Bearer <key>`, as real providers demand.
    pub api_key: Option<String>,
    /// Break this QC rule in every answer…
    pub violation: Option<crate::Violation>,
    /// …or only until the prompt carries QC feedback.
    pub violate_once: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            latency: Duration::ZERO,
            words: 820,
            api_key: None,
            violation: None,
            violate_once: false,
        }
    }
}

struct State {
    config: SimConfig,
    requests: AtomicU64,
}

/// A running simulator; dropping it does not stop it, `shutdown` does.
pub struct SimHandle {
    pub addr: SocketAddr,
    state: Arc<State>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl SimHandle {
    /// Base URL for OpenAI-compatible clients, e.g. `http://127.0.0.1:PORT/v1`.
    pub fn openai_base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Chat-completion requests answered so far.
    pub fn requests(&self) -> u64 {
        self.state.requests.load(Ordering::Relaxed)
    }

    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Binds a port-0 listener on loopback and serves in the background.
pub async fn spawn(config: SimConfig) -> std::io::Result<SimHandle> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let state = Arc::new(State {
        config,
        requests: AtomicU64::new(0),
    });
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(accept_loop(listener, state.clone(), stopped));
    Ok(SimHandle {
        addr,
        state,
        stop,
        task,
    })
}

/// Serves on `listener` until the process ends.
pub async fn serve(listener: TcpListener, config: SimConfig) {
    let state = Arc::new(State {
        config,
        requests: AtomicU64::new(0),
    });
    let (_stop, stopped) = watch::channel(false);
    accept_loop(listener, state, stopped).await;
}

async fn accept_loop(listener: TcpListener, state: Arc<State>, mut stopped: watch::Receiver<bool>) {
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    continue;
                }
            },
            _ = stopped.changed() => return,
        };
        let state = state.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| handle(req, state.clone()));
            if let Err(e) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
}

fn json_response(status: StatusCode, body: &Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("static response parts are valid")
}

async fn handle(
    req: Request<Incoming>,
    state: Arc<State>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_owned();
    if req.method() == Method::GET && path == "/health" {
        return Ok(json_response(
            StatusCode::OK,
            &serde_json::json!({"status": "ok"}),
        ));
    }
    if req.method() != Method::POST || !path.ends_with("/chat/completions") {
        return Ok(json_response(
            StatusCode::NOT_FOUND,
            &openai::error(
                "invalid_request_error",
                &format!("no route {path}"),
                "not_found",
            ),
        ));
    }
    if let Some(key) = &state.config.api_key {
        let expected = format!("Bearer {key}");
        let given = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        if given != Some(expected.as_str()) {
            return Ok(json_response(
                StatusCode::UNAUTHORIZED,
                &openai::error(
                    "invalid_request_error",
                    "Incorrect API key provided",
                    "invalid_api_key",
                ),
            ));
        }
    }
    let body = match Limited::new(req.into_body(), MAX_REQUEST_BYTES)
        .collect()
        .await
    {
        Ok(body) => body.to_bytes(),
        Err(_) => {
            return Ok(json_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                &openai::error("invalid_request_error", "request too large", "too_large"),
            ));
        }
    };
    let request: openai::ChatRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return Ok(json_response(
                StatusCode::BAD_REQUEST,
                &openai::error(
                    "invalid_request_error",
                    &format!("invalid body: {e}"),
                    "invalid_json",
                ),
            ));
        }
    };
    state.requests.fetch_add(1, Ordering::Relaxed);
    if !state.config.latency.is_zero() {
        tokio::time::sleep(state.config.latency).await;
    }
    let created = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let _ = (request.max_tokens, request.max_completion_tokens);
    Ok(json_response(
        StatusCode::OK,
        &openai::complete(
            &request,
            created,
            state.config.words,
            openai::Behaviour {
                violation: state.config.violation,
                once: state.config.violate_once,
            },
        ),
    ))
}

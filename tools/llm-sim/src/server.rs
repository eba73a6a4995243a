//! The HTTP server: hyper on a tokio listener, one task per connection. Routes the three
//! provider protocols through the route's fault profile, and serves `/admin/*` for tests and
//! demos to change faults at run time and read what was served.

use std::{
    collections::HashMap,
    convert::Infallible,
    net::SocketAddr,
    sync::{Arc, Mutex},
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
use serde::Serialize;
use serde_json::{Value, json};
use tokio::{net::TcpListener, sync::watch, task::JoinHandle};

use crate::{
    chaos::{Fault, FaultProfile, RouteChaos},
    protocol::{self, Behaviour, Protocol, Refusal},
};

const MAX_REQUEST_BYTES: usize = 4 * 1024 * 1024;
const PROTOCOLS: [Protocol; 3] = [Protocol::OpenAi, Protocol::Anthropic, Protocol::Gemini];

#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Added before every answer, to stand in for generation time.
    pub latency: Duration,
    /// Words per generated article.
    pub words: usize,
    /// When set, requests must carry the key the way each real provider demands.
    pub api_key: Option<String>,
    /// Break this QC rule in every answer…
    pub violation: Option<crate::Violation>,
    /// …or only until the prompt carries QC feedback.
    pub violate_once: bool,
    /// Transport faults per protocol from the start.
    pub faults: Vec<(Protocol, FaultProfile)>,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            latency: Duration::ZERO,
            words: 820,
            api_key: None,
            violation: None,
            violate_once: false,
            faults: Vec::new(),
        }
    }
}

/// What one protocol's route served.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Served {
    /// Requests that reached the route with a valid key and body.
    pub requests: u64,
    pub ok: u64,
    pub faulted: u64,
}

struct State {
    config: SimConfig,
    chaos: Mutex<HashMap<Protocol, RouteChaos>>,
    served: Mutex<HashMap<Protocol, Served>>,
}

impl State {
    fn new(config: SimConfig) -> Arc<Self> {
        let mut chaos: HashMap<Protocol, RouteChaos> = HashMap::new();
        for (p, profile) in &config.faults {
            chaos.entry(*p).or_default().set(profile.clone());
        }
        Arc::new(Self {
            config,
            chaos: Mutex::new(chaos),
            served: Mutex::new(HashMap::new()),
        })
    }

    fn set_faults(&self, protocol: Protocol, profile: FaultProfile) {
        self.chaos
            .lock()
            .expect("chaos lock")
            .entry(protocol)
            .or_default()
            .set(profile);
    }

    fn count(&self, protocol: Protocol, ok: bool) {
        let mut served = self.served.lock().expect("served lock");
        let s = served.entry(protocol).or_default();
        s.requests += 1;
        if ok {
            s.ok += 1;
        } else {
            s.faulted += 1;
        }
    }

    fn served(&self, protocol: Protocol) -> Served {
        self.served
            .lock()
            .expect("served lock")
            .get(&protocol)
            .copied()
            .unwrap_or_default()
    }
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

    /// Base URL for Anthropic and Gemini clients (they add `/v1/messages`, `/v1beta/...`).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Requests answered so far on every route, faults included.
    pub fn requests(&self) -> u64 {
        PROTOCOLS
            .iter()
            .map(|p| self.state.served(*p).requests)
            .sum()
    }

    pub fn served(&self, protocol: Protocol) -> Served {
        self.state.served(protocol)
    }

    pub fn set_faults(&self, protocol: Protocol, profile: FaultProfile) {
        self.state.set_faults(protocol, profile);
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
    let state = State::new(config);
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
    let (_stop, stopped) = watch::channel(false);
    accept_loop(listener, State::new(config), stopped).await;
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

type Reply = Response<Full<Bytes>>;

fn reply(status: StatusCode, body: String, headers: &[(&'static str, String)]) -> Reply {
    let mut builder = Response::builder()
        .status(status)
        .header("content-type", "application/json");
    for (name, value) in headers {
        builder = builder.header(*name, value);
    }
    builder
        .body(Full::new(Bytes::from(body)))
        .expect("valid response parts")
}

fn json_reply(status: StatusCode, body: &Value) -> Reply {
    reply(status, body.to_string(), &[])
}

async fn handle(req: Request<Incoming>, state: Arc<State>) -> Result<Reply, Infallible> {
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or("").to_owned();
    let method = req.method().clone();
    if method == Method::GET && path == "/health" {
        return Ok(json_reply(StatusCode::OK, &json!({"status": "ok"})));
    }
    if path.starts_with("/admin/") {
        return Ok(admin(req, &state).await);
    }
    let Some(protocol) = Protocol::route(&path).filter(|_| method == Method::POST) else {
        let (status, body, _) =
            Protocol::OpenAi.refuse(&Refusal::BadRequest(format!("no route {path}")));
        let status = if status == StatusCode::BAD_REQUEST {
            StatusCode::NOT_FOUND
        } else {
            status
        };
        return Ok(json_reply(status, &body));
    };
    let refuse = |r: Refusal| {
        let (status, body, headers) = protocol.refuse(&r);
        reply(status, body.to_string(), &headers)
    };
    if let Some(key) = &state.config.api_key
        && !protocol.authorised(req.headers(), &query, key)
    {
        return Ok(refuse(Refusal::Unauthorized));
    }
    let body = match Limited::new(req.into_body(), MAX_REQUEST_BYTES)
        .collect()
        .await
    {
        Ok(body) => body.to_bytes(),
        Err(_) => return Ok(refuse(Refusal::BadRequest("request too large".into()))),
    };
    let parsed = match protocol.parse(&path, &body) {
        Ok(p) => p,
        Err(m) => return Ok(refuse(Refusal::BadRequest(m))),
    };
    let decision = state
        .chaos
        .lock()
        .expect("chaos lock")
        .entry(protocol)
        .or_default()
        .decide();
    let latency = state.config.latency + decision.latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    state.count(protocol, decision.fault.is_none());
    let behaviour = Behaviour {
        violation: state.config.violation,
        once: state.config.violate_once,
    };
    let created = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let ok = || {
        let answer = protocol::answer(&parsed, state.config.words, behaviour);
        protocol.ok(&parsed, &answer, created).to_string()
    };
    if let Some(recorded) = state
        .chaos
        .lock()
        .expect("chaos lock")
        .entry(protocol)
        .or_default()
        .profile()
        .replay
        .clone()
    {
        let answer = protocol::answer(&parsed, state.config.words, behaviour);
        return Ok(replay(&recorded, &answer.content, &parsed.model));
    }
    Ok(match decision.fault {
        None => reply(StatusCode::OK, ok(), &[]),
        Some(Fault::Content(kind)) => {
            let answer = protocol::answer(&parsed, state.config.words, behaviour);
            let body = protocol.ok(&parsed, &answer, created);
            let body = protocol::content::apply(protocol, body, kind);
            reply(StatusCode::OK, body.to_string(), &[])
        }
        Some(Fault::Hang) => {
            // Until the client gives up.
            tokio::time::sleep(Duration::from_secs(3600)).await;
            reply(StatusCode::GATEWAY_TIMEOUT, String::new(), &[])
        }
        Some(Fault::Malformed) => reply(
            StatusCode::OK,
            "<html>upstream said something odd</html>".into(),
            &[],
        ),
        Some(Fault::Truncated) => {
            let full = ok();
            reply(StatusCode::OK, full[..full.len() / 2].to_owned(), &[])
        }
        Some(fault) => refuse(Refusal::Fault(fault)),
    })
}

/// A recorded answer: its status, headers and body (or raw `body_text`), placeholders filled.
fn replay(recorded: &Value, article: &str, model: &str) -> Reply {
    let status = recorded["status"]
        .as_u64()
        .and_then(|s| StatusCode::from_u16(s as u16).ok())
        .unwrap_or(StatusCode::OK);
    let body = match recorded["body_text"].as_str() {
        Some(text) => text.to_owned(),
        None => protocol::content::fill(&recorded["body"], article, model).to_string(),
    };
    let mut builder = Response::builder().status(status);
    let headers = recorded["headers"].as_object().cloned().unwrap_or_default();
    if !headers
        .keys()
        .any(|k| k.eq_ignore_ascii_case("content-type"))
    {
        builder = builder.header("content-type", "application/json");
    }
    for (name, value) in headers {
        if let Some(v) = value.as_str() {
            builder = builder.header(name.as_str(), v);
        }
    }
    builder
        .body(Full::new(Bytes::from(body)))
        .expect("valid response parts")
}

async fn admin(req: Request<Incoming>, state: &State) -> Reply {
    let path = req.uri().path().to_owned();
    match (req.method().clone(), path.as_str()) {
        (Method::GET, "/admin/stats") => {
            let stats: HashMap<&str, Served> = PROTOCOLS
                .iter()
                .map(|p| (p.name(), state.served(*p)))
                .collect();
            json_reply(StatusCode::OK, &json!(stats))
        }
        (Method::POST, "/admin/faults") => {
            let Ok(body) = Limited::new(req.into_body(), 1 << 20).collect().await else {
                return json_reply(
                    StatusCode::BAD_REQUEST,
                    &json!({"error": "unreadable body"}),
                );
            };
            #[derive(serde::Deserialize)]
            struct SetFaults {
                route: String,
                profile: FaultProfile,
            }
            let set: SetFaults = match serde_json::from_slice(&body.to_bytes()) {
                Ok(s) => s,
                Err(e) => {
                    return json_reply(StatusCode::BAD_REQUEST, &json!({"error": e.to_string()}));
                }
            };
            let targets: Vec<Protocol> = match set.route.as_str() {
                "all" => PROTOCOLS.to_vec(),
                name => match PROTOCOLS.iter().find(|p| p.name() == name) {
                    Some(p) => vec![*p],
                    None => {
                        return json_reply(
                            StatusCode::BAD_REQUEST,
                            &json!({"error": "route is openai, anthropic, gemini or all"}),
                        );
                    }
                },
            };
            for p in targets {
                state.set_faults(p, set.profile.clone());
            }
            json_reply(StatusCode::OK, &json!({"status": "set"}))
        }
        _ => json_reply(
            StatusCode::NOT_FOUND,
            &json!({"error": "admin routes: GET /admin/stats, POST /admin/faults"}),
        ),
    }
}

//! A closed-loop HTTP/1.1 load generator: `connections` keep-alive connections, each sending
//! the next request as soon as the last answer is read. Lean (hyper's connection API, no
//! pool), because it shares the machine's two cores with the server it measures.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::Request;
use hyper_util::rt::TokioIo;

use crate::env::BoxError;

pub struct Load {
    pub port: u16,
    pub path: String,
    pub bearer: Option<String>,
    pub connections: usize,
    pub warmup: Duration,
    pub duration: Duration,
}

pub struct LoadResult {
    /// Answers within the measured window (after warm-up).
    pub ok: u64,
    pub errors: u64,
    pub window: Duration,
    pub latencies: Vec<Duration>,
}

impl LoadResult {
    pub fn rate(&self) -> f64 {
        self.ok as f64 / self.window.as_secs_f64()
    }
}

pub async fn run(load: &Load) -> Result<LoadResult, BoxError> {
    let start = Instant::now();
    let measure_from = start + load.warmup;
    let end = measure_from + load.duration;
    let mut tasks = Vec::new();
    for _ in 0..load.connections {
        let path = load.path.clone();
        let bearer = load.bearer.clone();
        let port = load.port;
        tasks.push(tokio::spawn(async move {
            connection(port, &path, bearer.as_deref(), measure_from, end).await
        }));
    }
    let mut result = LoadResult {
        ok: 0,
        errors: 0,
        window: load.duration,
        latencies: Vec::new(),
    };
    for task in tasks {
        let (ok, errors, latencies) = task.await??;
        result.ok += ok;
        result.errors += errors;
        result.latencies.extend(latencies);
    }
    Ok(result)
}

async fn connection(
    port: u16,
    path: &str,
    bearer: Option<&str>,
    measure_from: Instant,
    end: Instant,
) -> Result<(u64, u64, Vec<Duration>), BoxError> {
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    stream.set_nodelay(true)?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let (mut ok, mut errors, mut latencies) = (0u64, 0u64, Vec::with_capacity(1 << 14));
    loop {
        let sent = Instant::now();
        if sent >= end {
            break;
        }
        let mut req = Request::get(path).header("host", format!("127.0.0.1:{port}"));
        if let Some(token) = bearer {
            req = req.header("authorization", format!("Bearer {token}"));
        }
        let resp = sender
            .send_request(req.body(Empty::<Bytes>::new())?)
            .await?;
        let status = resp.status();
        resp.into_body().collect().await?;
        let done = Instant::now();
        if sent >= measure_from && done <= end {
            if status.is_success() {
                ok += 1;
                latencies.push(done - sent);
            } else {
                errors += 1;
            }
        }
    }
    Ok((ok, errors, latencies))
}

/// The peer of P2: actix-web answering a constant, in a process of its own like the API.
pub fn serve_constant(port: u16) -> std::io::Result<()> {
    actix_web::rt::System::new().block_on(async move {
        actix_web::HttpServer::new(|| {
            actix_web::App::new().default_service(actix_web::web::to(|| async {
                actix_web::HttpResponse::Ok()
                    .content_type("application/json")
                    .body(r#"{"status":"ok"}"#)
            }))
        })
        .bind(("127.0.0.1", port))?
        .run()
        .await
    })
}

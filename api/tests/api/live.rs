//! Live progress: SSE and WebSocket clients follow a batch while the real worker runs it,
//! resume with `Last-Event-ID`, are scoped to their tenant, and are served by any replica.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::Value;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::{self, client::IntoClientRequest, protocol::Message};

use bacowr_api::Application;

use crate::helpers::{TestApp, assert_error, spawn_sim};

pub const WITHIN: Duration = Duration::from_secs(60);

/// One SSE frame with data (comments and the `retry:` hint are skipped).
#[derive(Debug, Clone)]
pub struct Frame {
    pub id: Option<String>,
    pub event: String,
    pub data: Value,
}

pub struct Sse {
    resp: reqwest::Response,
    buf: String,
}

impl Sse {
    pub async fn open(base: &str, key: &str, batch: &str, last_event_id: Option<&str>) -> Self {
        let mut req = reqwest::Client::new()
            .get(format!("{base}/api/v1/batches/{batch}/events"))
            .bearer_auth(key);
        if let Some(id) = last_event_id {
            req = req.header("last-event-id", id);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(
            resp.headers()["content-type"].to_str().unwrap(),
            "text/event-stream"
        );
        Self {
            resp,
            buf: String::new(),
        }
    }

    async fn next(&mut self, deadline: Instant) -> Frame {
        loop {
            while let Some(end) = self.buf.find("\n\n") {
                let raw: String = self.buf.drain(..end + 2).collect();
                let (mut id, mut event, mut data) = (None, String::new(), String::new());
                for line in raw.lines() {
                    if let Some(v) = line.strip_prefix("id: ") {
                        id = Some(v.to_owned());
                    } else if let Some(v) = line.strip_prefix("event: ") {
                        event = v.to_owned();
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data.push_str(v);
                    }
                }
                if !data.is_empty() {
                    let data = serde_json::from_str(&data).unwrap();
                    return Frame { id, event, data };
                }
            }
            let chunk = tokio::time::timeout_at(deadline, self.resp.chunk())
                .await
                .expect("an SSE frame before the deadline")
                .unwrap()
                .expect("the stream stays open");
            self.buf.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }

    /// Frames up to and including the first that `last` accepts.
    pub async fn until(&mut self, last: impl Fn(&Frame) -> bool) -> Vec<Frame> {
        let deadline = Instant::now() + WITHIN;
        let mut frames = Vec::new();
        loop {
            let frame = self.next(deadline).await;
            let done = last(&frame);
            frames.push(frame);
            if done {
                return frames;
            }
        }
    }
}

pub fn batch_is(status: &'static str) -> impl Fn(&Frame) -> bool {
    move |f| f.event == "batch.status" && f.data["status"] == status
}

fn kinds(frames: &[Frame]) -> Vec<&str> {
    frames.iter().map(|f| f.event.as_str()).collect()
}

/// Stream ids (`<ms>-<seq>`) as comparable pairs.
fn order(id: &str) -> (u64, u64) {
    let (ms, seq) = id.split_once('-').unwrap();
    (ms.parse().unwrap(), seq.parse().unwrap())
}

fn assert_increasing(frames: &[Frame]) {
    let ids: Vec<_> = frames
        .iter()
        .map(|f| order(f.id.as_deref().expect("every event has an id")))
        .collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "ids in order, once each"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sse_follows_a_batch_from_queued_to_ready_for_review() {
    sse_follows_a_batch(TestApp::spawn().await).await;
}

/// The embedded build's events come from the in-process backplane: same frames, same order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sse_follows_a_batch_on_the_embedded_build() {
    sse_follows_a_batch(TestApp::spawn_embedded().await).await;
}

async fn sse_follows_a_batch(app: TestApp) {
    let sim = spawn_sim().await;
    let batch = app.submit_batch(2).await;
    let id = batch["id"].as_str().unwrap();
    let mut sse = Sse::open(&app.address, &app.api_key, id, None).await;
    let worker = app.start_worker(&sim, |_| {}).await;
    let frames = sse.until(batch_is("ready_for_review")).await;
    worker.stop().await;

    assert_increasing(&frames);
    let k = kinds(&frames);
    assert_eq!(
        &k[..3],
        ["batch.status", "job.queued", "job.queued"],
        "{k:?}"
    );
    assert_eq!(frames[0].data["status"], "queued");
    assert!(frames.iter().any(batch_is("running")), "{k:?}");
    for f in &frames {
        assert_eq!(f.data["kind"], f.event.as_str());
        assert_eq!(f.data["id"], f.id.as_deref().unwrap());
        assert_eq!(f.data["batch_id"], id);
        assert!(f.data["org_id"].as_str().unwrap().starts_with("org_"));
    }
    let jobs = app.get_json(&format!("/api/v1/batches/{id}/jobs")).await;
    for job in jobs["items"].as_array().unwrap() {
        let job_id = job["id"].as_str().unwrap();
        let mine: Vec<&Frame> = frames
            .iter()
            .filter(|f| f.data["job_id"] == job_id)
            .collect();
        let k: Vec<&str> = mine.iter().map(|f| f.event.as_str()).collect();
        assert_eq!(k.first(), Some(&"job.queued"), "{k:?}");
        assert_eq!(k.get(1), Some(&"job.started"), "{k:?}");
        assert_eq!(k.last(), Some(&"job.succeeded"), "{k:?}");
        let stages: Vec<&str> = mine
            .iter()
            .filter(|f| f.event == "job.stage")
            .map(|f| f.data["data"]["stage"].as_str().unwrap())
            .collect();
        assert_eq!(&stages[..3], ["context", "writing", "qc"], "{stages:?}");
        assert_eq!(mine.last().unwrap().data["status"], "succeeded");
        assert_eq!(mine.last().unwrap().data["data"]["qc_passed"], true);
    }
    sim.shutdown().await;
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sse_resumes_after_last_event_id_and_reports_lost_history() {
    let app = TestApp::spawn().await;
    let sim = spawn_sim().await;
    let batch = app.submit_batch(2).await;
    let id = batch["id"].as_str().unwrap();
    app.drain_batch(id, &sim).await;
    sim.shutdown().await;

    // Without an id: everything retained, then (nothing more) live.
    let all = Sse::open(&app.address, &app.api_key, id, None)
        .await
        .until(batch_is("ready_for_review"))
        .await;
    assert_increasing(&all);
    assert!(all.len() > 8, "{:?}", kinds(&all));

    // Resuming replays exactly what followed the id, by header and by query parameter.
    let k = all.len() / 2;
    let after = all[k].id.clone().unwrap();
    let expected: Vec<_> = all[k + 1..].iter().map(|f| f.id.clone()).collect();
    let resumed = Sse::open(&app.address, &app.api_key, id, Some(&after))
        .await
        .until(batch_is("ready_for_review"))
        .await;
    assert_eq!(
        resumed.iter().map(|f| f.id.clone()).collect::<Vec<_>>(),
        expected
    );
    let by_query = app
        .get(&format!(
            "/api/v1/batches/{id}/events?last_event_id={after}"
        ))
        .await;
    let mut sse = Sse {
        resp: by_query,
        buf: String::new(),
    };
    let first = sse.next(Instant::now() + WITHIN).await;
    assert_eq!(first.id, expected[0]);

    // An id the stream no longer holds: a reset, then what is retained, never a silent hole.
    let mut gone = Sse::open(&app.address, &app.api_key, id, Some("1-0")).await;
    let reset = gone.next(Instant::now() + WITHIN).await;
    assert_eq!(reset.event, "reset");
    assert_eq!(reset.data["kind"], "reset");
    assert_eq!(reset.data["after"], "1-0");
    assert!(
        reset.id.is_none(),
        "a reset doesn't move the client's position"
    );
    let next = gone.next(Instant::now() + WITHIN).await;
    assert_eq!(next.id, all[0].id);

    let bad = app
        .client
        .get(app.url(&format!("/api/v1/batches/{id}/events")))
        .bearer_auth(&app.api_key)
        .header("last-event-id", "yesterday")
        .send()
        .await
        .unwrap();
    assert_error(
        bad,
        StatusCode::BAD_REQUEST,
        "bad_request",
        Some("Last-Event-ID"),
    )
    .await;
    app.cleanup().await;
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn ws_connect(app: &TestApp, key: &str, path: &str) -> Result<Socket, tungstenite::Error> {
    let url = format!("{}{path}", app.address.replacen("http", "ws", 1));
    let mut req = url.into_client_request().unwrap();
    req.headers_mut()
        .insert("authorization", format!("Bearer {key}").parse().unwrap());
    tokio_tungstenite::connect_async(req).await.map(|(s, _)| s)
}

/// Events from the socket up to and including the first `last` accepts.
async fn ws_until(socket: &mut Socket, last: impl Fn(&Value) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + WITHIN;
    let mut events = Vec::new();
    loop {
        let msg = tokio::time::timeout_at(deadline, socket.next())
            .await
            .expect("a message before the deadline")
            .expect("the socket stays open")
            .unwrap();
        let Message::Text(text) = msg else { continue };
        let event: Value = serde_json::from_str(&text).unwrap();
        let done = last(&event);
        events.push(event);
        if done {
            return events;
        }
    }
}

async fn ws_close(mut socket: Socket) {
    socket.send(Message::Close(None)).await.unwrap();
    // The server answers the close: the connection ends cleanly, not by a reset.
    let deadline = Instant::now() + Duration::from_secs(10);
    while let Ok(Some(msg)) = tokio::time::timeout_at(deadline, socket.next()).await {
        match msg {
            Ok(Message::Close(_)) | Err(tungstenite::Error::ConnectionClosed) => return,
            Ok(_) => {}
            Err(e) => panic!("unclean close: {e}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websockets_follow_a_batch_and_a_job() {
    let app = TestApp::spawn().await;
    let sim = spawn_sim().await;
    let batch = app.submit_batch(2).await;
    let id = batch["id"].as_str().unwrap();
    let jobs = app.get_json(&format!("/api/v1/batches/{id}/jobs")).await;
    let job_id = jobs["items"][1]["id"].as_str().unwrap().to_owned();

    let mut batch_ws = ws_connect(&app, &app.api_key, &format!("/api/v1/ws/batches/{id}"))
        .await
        .unwrap();
    let mut job_ws = ws_connect(&app, &app.api_key, &format!("/api/v1/ws/jobs/{job_id}"))
        .await
        .unwrap();
    let worker = app.start_worker(&sim, |_| {}).await;
    let batch_events = ws_until(&mut batch_ws, |e| {
        e["kind"] == "batch.status" && e["status"] == "ready_for_review"
    })
    .await;
    let job_events = ws_until(&mut job_ws, |e| e["kind"] == "job.succeeded").await;
    worker.stop().await;

    assert_eq!(batch_events[0]["kind"], "batch.status");
    assert_eq!(batch_events[0]["status"], "queued");
    assert_eq!(
        batch_events
            .iter()
            .filter(|e| e["kind"] == "job.succeeded")
            .count(),
        2
    );
    assert!(job_events.iter().all(|e| e["job_id"] == job_id.as_str()));
    let k: Vec<&str> = job_events
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(k.first(), Some(&"job.queued"), "{k:?}");
    assert!(
        k.contains(&"job.started") && k.contains(&"job.stage"),
        "{k:?}"
    );
    // The job socket's events are the batch socket's, in the same order.
    let from_batch: Vec<&Value> = batch_events
        .iter()
        .filter(|e| e["job_id"] == job_id.as_str())
        .collect();
    assert_eq!(from_batch.len(), job_events.len());
    for (a, b) in from_batch.iter().zip(&job_events) {
        assert_eq!(a["id"], b["id"]);
    }
    ws_close(batch_ws).await;
    ws_close(job_ws).await;
    sim.shutdown().await;
    app.cleanup().await;
}

#[tokio::test]
async fn live_routes_are_authenticated_and_tenant_scoped() {
    let app = TestApp::spawn().await;
    let batch = app.submit_batch(1).await;
    let id = batch["id"].as_str().unwrap();
    let jobs = app.get_json(&format!("/api/v1/batches/{id}/jobs")).await;
    let job_id = jobs["items"][0]["id"].as_str().unwrap();
    let other = app.other_org_key().await;

    let sse = format!("/api/v1/batches/{id}/events");
    let anonymous = app.client.get(app.url(&sse)).send().await.unwrap();
    assert_error(anonymous, StatusCode::UNAUTHORIZED, "unauthorized", None).await;
    let foreign = app
        .client
        .get(app.url(&sse))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    assert_error(foreign, StatusCode::NOT_FOUND, "not_found", None).await;

    for path in [
        format!("/api/v1/ws/batches/{id}"),
        format!("/api/v1/ws/jobs/{job_id}"),
    ] {
        match ws_connect(&app, &other, &path).await {
            Err(tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), 404, "{path}"),
            other => panic!("{path}: expected a 404 before the upgrade, got {other:?}"),
        }
        match ws_connect(&app, "bcw_nope", &path).await {
            Err(tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), 401, "{path}"),
            other => panic!("{path}: expected a 401, got {other:?}"),
        }
        // The owner gets through.
        ws_close(ws_connect(&app, &app.api_key, &path).await.unwrap()).await;
    }
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_replica_serves_any_subscriber() {
    let app = TestApp::spawn().await;
    // A second API process on the same Postgres and Redis.
    let replica = Application::build(app.settings.clone()).await.unwrap();
    let replica_address = format!("http://127.0.0.1:{}", replica.port());
    tokio::spawn(replica.run_until_stopped());

    let batch = app.submit_batch(3).await;
    let id = batch["id"].as_str().unwrap();
    // Watch on the replica; the first replica writes.
    let mut sse = Sse::open(&replica_address, &app.api_key, id, None).await;
    let replayed = sse
        .until(|f| f.event == "job.queued" && f.data["data"]["row_index"] == 2)
        .await;
    assert_eq!(replayed.len(), 4, "{:?}", kinds(&replayed));
    let resp = app
        .post_json(
            &format!("/api/v1/batches/{id}/cancel"),
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let live = sse.until(batch_is("cancelled")).await;
    assert_eq!(
        kinds(&live),
        [
            "job.cancelled",
            "job.cancelled",
            "job.cancelled",
            "batch.status"
        ]
    );
    assert!(live.iter().all(|f| f.data["batch_id"] == id));
    let all: Vec<Frame> = replayed.into_iter().chain(live).collect();
    assert_increasing(&all);
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hub_reconnects_and_bursts_beyond_the_buffer_lose_nothing() {
    use bacowr_shared::{
        events::{LiveEvent, Publisher},
        ids::{BatchId, JobId, OrgId},
        testing::{RedisServer, eventually},
    };
    // A Redis of the test's own, so dropping its pub/sub clients disturbs no other test.
    let server = RedisServer::start().await;
    let app = TestApp::spawn_with(|s| {
        s.redis.url = server.url.clone();
        s.events.subscriber_buffer = 16;
    })
    .await;
    let batch = app.submit_batch(1).await;
    let id = batch["id"].as_str().unwrap();
    let mut sse = Sse::open(&app.address, &app.api_key, id, None).await;
    let first = sse.until(|f| f.event == "job.queued").await;
    let org = OrgId::parse(first[0].data["org_id"].as_str().unwrap()).unwrap();
    let job = JobId::parse(first[1].data["job_id"].as_str().unwrap()).unwrap();

    let client = redis::Client::open(server.url.as_str()).unwrap();
    let mut admin = client.get_multiplexed_async_connection().await.unwrap();
    let subscribers = |admin: redis::aio::MultiplexedConnection| async move {
        let mut admin = admin;
        let list: String = redis::cmd("CLIENT")
            .arg("LIST")
            .arg("TYPE")
            .arg("pubsub")
            .query_async(&mut admin)
            .await
            .unwrap();
        list.lines()
            .filter_map(|l| l.split(' ').find_map(|kv| kv.strip_prefix("id=")))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let before = subscribers(admin.clone()).await;
    assert_eq!(before.len(), 1, "one pub/sub connection per API process");
    let _: i64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("pubsub")
        .query_async(&mut admin)
        .await
        .unwrap();

    let publisher = Publisher::new(
        bacowr_shared::backplane::Backplane::Redis(
            bacowr_shared::db::connect_redis(&app.settings.redis)
                .await
                .unwrap(),
        ),
        &app.settings,
    );
    let stage = |n: usize| {
        LiveEvent::stage(
            org,
            Some(BatchId::parse(id).unwrap()),
            job,
            "qc",
            serde_json::json!({ "n": n }),
        )
    };
    // Published while the hub may still be reconnecting: found in the stream afterwards.
    publisher.publish(&stage(0)).await.expect("published");
    eventually("the hub resubscribes", WITHIN, || {
        let admin = admin.clone();
        let before = before.clone();
        async move {
            let now = subscribers(admin).await;
            (now.len() == 1 && now != before).then_some(())
        }
    })
    .await;
    // A burst far beyond the subscriber's 16 wake-ups.
    let burst: Vec<LiveEvent> = (1..=300).map(stage).collect();
    assert_eq!(publisher.publish_many(&burst).await.len(), 300);

    let got = sse.until(|f| f.data["data"]["n"] == 300).await;
    let n: Vec<u64> = got
        .iter()
        .map(|f| f.data["data"]["n"].as_u64().unwrap())
        .collect();
    assert_eq!(n, (0..=300).collect::<Vec<_>>(), "each once, in order");
    assert_increasing(&got);
    app.cleanup().await;
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_and_retries_are_announced() {
    let app = TestApp::spawn().await;
    let sim = spawn_sim().await;
    let batch = app.submit_batch(2).await;
    let id = batch["id"].as_str().unwrap();
    let mut sse = Sse::open(&app.address, &app.api_key, id, None).await;
    let worker = app
        .start_worker(&sim, |s| s.provider.api_key = "sk-wrong".into())
        .await;
    let frames = sse.until(batch_is("ready_for_review")).await;
    worker.stop().await;
    let failed: Vec<&Frame> = frames.iter().filter(|f| f.event == "job.failed").collect();
    assert_eq!(failed.len(), 2, "{:?}", kinds(&frames));
    for f in failed {
        assert_eq!(f.data["status"], "failed");
        assert_eq!(
            f.data["data"]["error_code"], "provider_failed",
            "{:?}",
            f.data
        );
    }

    let resp = app
        .post_json(
            &format!("/api/v1/batches/{id}/retry-failed"),
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let retried = sse
        .until(|f| f.event == "job.queued" && f.data["data"]["retry"] == true)
        .await;
    assert_eq!(kinds(&retried), ["batch.status", "job.queued"]);
    assert_eq!(retried[0].data["status"], "running");
    let second = sse.next(Instant::now() + WITHIN).await;
    assert_eq!(second.event, "job.queued");
    assert_eq!(second.data["data"]["retry"], true);
    sim.shutdown().await;
    app.cleanup().await;
}

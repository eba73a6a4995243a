//! `GET /api/v1/ws/batches/{id}` and `GET /api/v1/ws/jobs/{id}`: the same live events over a
//! WebSocket, one JSON `LiveEvent` per text message. The server only talks; it answers pings,
//! pings the client every heartbeat and closes a connection whose pongs stop.

use std::time::{Duration, Instant};

use actix_web::{HttpRequest, HttpResponse, get, web};
use actix_ws::{CloseCode, CloseReason, Message, MessageStream, Session};

use bacowr_shared::ids::{BatchId, JobId};

use super::{
    ResetMessage, ResumeParams, batch_topic, cursor,
    feed::{Feed, Item},
    job_topic,
};
use crate::{
    auth::{Authorized, ReadBatches},
    error::{ApiError, ErrorBody},
    routes::params,
    state::AppState,
};

/// Follow a batch over a WebSocket: each text message is one `LiveEvent` JSON (the same as
/// the SSE `data:`), or a `ResetMessage` (`"kind": "reset"`) when events were lost. Replays
/// after `last_event_id` (or everything retained), then live. Authenticate with
/// `Authorization: Bearer`; another organization's batch answers 404 before the upgrade.
#[utoipa::path(
    get,
    path = "/api/v1/ws/batches/{id}",
    operation_id = "open_batch_socket",
    tag = "live",
    params(("id" = BatchId, Path, description = "The batch's id (`batch_…`)"), ResumeParams),
    responses(
        (status = 101, description = "Switching Protocols: the WebSocket is open. The server sends one text message per event, a `LiveEvent` JSON (the same as the SSE `data:`), or a `ResetMessage` (`\"kind\": \"reset\"`) when events after the resume id are no longer retained; it pings every heartbeat and closes a connection whose pongs stop. Clients send nothing but pings, pongs and close frames",
            headers(
                ("Upgrade" = String, description = "`websocket`"),
                ("Connection" = String, description = "`Upgrade`"),
                ("Sec-WebSocket-Accept" = String, description = "The handshake answer to `Sec-WebSocket-Key`"),
            )),
        (status = 400, description = "bad id or event id, or not a WebSocket handshake (`Upgrade: websocket`, `Sec-WebSocket-Key`, `Sec-WebSocket-Version: 13`)", body = ErrorBody),
        (status = 404, description = "no such batch in this organization", body = ErrorBody),
    )
)]
#[get("/ws/batches/{id}")]
pub async fn batch_socket(
    tenant: Authorized<ReadBatches>,
    req: HttpRequest,
    body: web::Payload,
    path: web::Path<String>,
    query: web::Query<ResumeParams>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = params::parse_id(&path, "batch_id", BatchId::parse)?;
    let from = cursor(&req, &query)?;
    let topic = batch_topic(&state, &tenant, id).await?;
    let feed = Feed::open(&state.live, state.backplane.clone(), topic, None, from);
    upgrade(&req, body, feed, &state)
}

/// Follow one job over a WebSocket: its `job.*` and `review.changed` events (event ids are
/// those of its batch's stream). Same format and resume rules as the batch socket.
#[utoipa::path(
    get,
    path = "/api/v1/ws/jobs/{id}",
    operation_id = "open_job_socket",
    tag = "live",
    params(("id" = JobId, Path, description = "The job's id (`job_…`)"), ResumeParams),
    responses(
        (status = 101, description = "Switching Protocols: the WebSocket is open. The server sends one text message per event, a `LiveEvent` JSON (the same as the SSE `data:`), or a `ResetMessage` (`\"kind\": \"reset\"`) when events after the resume id are no longer retained; it pings every heartbeat and closes a connection whose pongs stop. Clients send nothing but pings, pongs and close frames",
            headers(
                ("Upgrade" = String, description = "`websocket`"),
                ("Connection" = String, description = "`Upgrade`"),
                ("Sec-WebSocket-Accept" = String, description = "The handshake answer to `Sec-WebSocket-Key`"),
            )),
        (status = 400, description = "bad id or event id, or not a WebSocket handshake (`Upgrade: websocket`, `Sec-WebSocket-Key`, `Sec-WebSocket-Version: 13`)", body = ErrorBody),
        (status = 404, description = "no such job in this organization", body = ErrorBody),
    )
)]
#[get("/ws/jobs/{id}")]
pub async fn job_socket(
    tenant: Authorized<ReadBatches>,
    req: HttpRequest,
    body: web::Payload,
    path: web::Path<String>,
    query: web::Query<ResumeParams>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = params::parse_id(&path, "job_id", JobId::parse)?;
    let from = cursor(&req, &query)?;
    let topic = job_topic(&state, &tenant, id).await?;
    let feed = Feed::open(&state.live, state.backplane.clone(), topic, Some(id), from);
    upgrade(&req, body, feed, &state)
}

fn upgrade(
    req: &HttpRequest,
    body: web::Payload,
    feed: Feed,
    state: &AppState,
) -> Result<HttpResponse, ApiError> {
    let (response, session, messages) = actix_ws::handle(req, body)
        .map_err(|e| ApiError::bad_request("upgrade", format!("not a WebSocket handshake: {e}")))?;
    let heartbeat = Duration::from_secs(state.settings.events.heartbeat_secs);
    actix_web::rt::spawn(pump(session, messages, feed, heartbeat));
    Ok(response)
}

/// Sends events until the client closes, errs, or stops answering pings.
async fn pump(
    mut session: Session,
    mut messages: MessageStream,
    mut feed: Feed,
    heartbeat: Duration,
) {
    let mut ping = tokio::time::interval(heartbeat);
    ping.tick().await;
    let mut last_heard = Instant::now();
    let reason = loop {
        tokio::select! {
            item = feed.next() => {
                let text = match item {
                    Item::Event(event) => serde_json::to_string(&event),
                    Item::Reset { after } => serde_json::to_string(&ResetMessage::new(after)),
                };
                let Ok(text) = text else { continue };
                if session.text(text).await.is_err() {
                    return; // the connection is gone; nothing to close
                }
            }
            message = messages.recv() => {
                match message {
                    Some(Ok(Message::Ping(bytes))) => {
                        last_heard = Instant::now();
                        if session.pong(&bytes).await.is_err() {
                            return;
                        }
                    }
                    Some(Ok(Message::Close(reason))) => break reason,
                    // Clients have nothing to say; any frame shows they are alive.
                    Some(Ok(_)) => last_heard = Instant::now(),
                    Some(Err(e)) => {
                        tracing::debug!(error = %e, "WebSocket protocol error");
                        break Some(CloseReason::from(CloseCode::Protocol));
                    }
                    None => return,
                }
            }
            _ = ping.tick() => {
                if last_heard.elapsed() > heartbeat * 2 {
                    break Some(CloseReason {
                        code: CloseCode::Away,
                        description: Some("no pong".into()),
                    });
                }
                if session.ping(b"").await.is_err() {
                    return;
                }
            }
        }
    };
    let _ = session.close(reason).await;
}

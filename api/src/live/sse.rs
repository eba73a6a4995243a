//! `GET /api/v1/batches/{id}/events`: a batch's live events as Server-Sent Events.

use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, get, http::header, web};
use futures::stream;

use bacowr_shared::{events::LiveEvent, ids::BatchId};

use super::{
    ResetMessage, ResumeParams, batch_topic, cursor,
    feed::{Feed, Item},
};
use crate::{
    auth::{Authorized, ReadBatches},
    error::{ApiError, ErrorBody},
    routes::params,
    state::AppState,
};

/// Follow a batch live. A `text/event-stream` whose events are `id: <stream id>`,
/// `event: <kind>` and `data: <LiveEvent JSON>`: `job.queued`, `job.started`, `job.stage`
/// (`data.stage`: context, writing, qc, autofix, regenerating), `job.succeeded`,
/// `job.needs_review`, `job.failed`, `job.cancelled`, `batch.status` and `review.changed`.
///
/// The stream first replays what the batch's bounded event log still holds after
/// `Last-Event-ID` (or `last_event_id`; without either, all of it), then goes on live, each
/// event exactly once and in order. Browsers' `EventSource` resumes by itself after a drop. If
/// the resume id is older than what is retained, an `event: reset` (data: a `ResetMessage`)
/// says to re-read the batch before the events that follow. Comment lines (`: heartbeat`) are
/// sent every `events.heartbeat_secs` (15 s) to keep proxies from closing an idle stream.
#[utoipa::path(
    get,
    path = "/api/v1/batches/{id}/events",
    operation_id = "stream_batch_events",
    tag = "live",
    params(
        ("id" = BatchId, Path, description = "The batch's id (`batch_…`)"),
        ("Last-Event-ID" = Option<String>, Header, description = "Resume after this event id (sent by EventSource on reconnect)"),
        ResumeParams,
    ),
    responses(
        (status = 200, description = "A `text/event-stream` that stays open. It starts with `retry: <ms>`; then one frame per event: `id:` the stream id, `event:` the kind (`job.queued`, `job.started`, `job.stage`, `job.succeeded`, `job.needs_review`, `job.failed`, `job.cancelled`, `batch.status`, `review.changed`), `data:` the `LiveEvent` JSON on one line; `event: reset` with a `ResetMessage` as `data:` when events after the resume id are no longer retained; `: heartbeat` comments when idle",
            headers(("Cache-Control" = String, description = "`no-cache`")),
            content_type = "text/event-stream", body = String,
            example = json!("retry: 3000\n: connected\n\nid: 1730539800000-0\nevent: job.started\ndata: {\"id\":\"1730539800000-0\",\"kind\":\"job.started\",\"org_id\":\"org_0192f0c4e5a27b6c8d9e0f1a2b3c4d5e\",\"batch_id\":\"batch_0192f0c4e5a27b6c8d9e0f1a2b3c4d5e\",\"job_id\":\"job_0192f0c4e5a27b6c8d9e0f1a2b3c4d60\",\"status\":\"running\",\"data\":{},\"at\":\"2026-11-02T09:30:02Z\"}\n\n: heartbeat\n\n")),
        (status = 400, description = "bad batch id or event id", body = ErrorBody),
        (status = 404, description = "no such batch in this organization", body = ErrorBody),
    )
)]
#[get("/batches/{id}/events")]
pub async fn batch_events(
    tenant: Authorized<ReadBatches>,
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<ResumeParams>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = params::parse_id(&path, "batch_id", BatchId::parse)?;
    let from = cursor(&req, &query)?;
    let topic = batch_topic(&state, &tenant, id).await?;
    let feed = Feed::open(&state.live, state.backplane.clone(), topic, None, from);
    let config = &state.settings.events;
    let body = events(
        feed,
        Duration::from_secs(config.heartbeat_secs),
        config.retry_ms,
    );
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        // nginx and similar proxies buffer responses unless told not to.
        .insert_header(("x-accel-buffering", "no"))
        .streaming(body))
}

/// The event stream: a `retry:` hint, then events, with a heartbeat comment when idle. Ends
/// when the client goes (actix drops the stream, and with it the feed's subscription).
fn events(
    feed: Feed,
    heartbeat: Duration,
    retry_ms: u64,
) -> impl futures::Stream<Item = Result<web::Bytes, std::convert::Infallible>> {
    let hello = format!("retry: {retry_ms}\n: connected\n\n");
    let first = stream::once(async move { Ok(web::Bytes::from(hello)) });
    let rest = stream::unfold(feed, move |mut feed| async move {
        let chunk = match tokio::time::timeout(heartbeat, feed.next()).await {
            Ok(Item::Event(event)) => frame(&event),
            Ok(Item::Reset { after }) => {
                let data = serde_json::to_string(&ResetMessage::new(after)).unwrap_or_default();
                format!("event: reset\ndata: {data}\n\n")
            }
            Err(_) => ": heartbeat\n\n".to_owned(),
        };
        Some((Ok(web::Bytes::from(chunk)), feed))
    });
    futures::StreamExt::chain(first, rest)
}

/// One SSE frame. The JSON is one line (serde_json escapes newlines), as `data:` requires.
fn frame(event: &LiveEvent) -> String {
    let data = serde_json::to_string(event).unwrap_or_default();
    let id = event.id.map(|i| format!("id: {i}\n")).unwrap_or_default();
    format!("{id}event: {}\ndata: {data}\n\n", event.kind.as_str())
}

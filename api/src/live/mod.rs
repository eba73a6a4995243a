//! Live progress: Server-Sent Events and WebSockets over the per-batch Redis event streams.
//! Any replica serves any client: the events are in Redis, never in a replica's memory.
//!
//! Authentication is the usual `Authorization: Bearer` key, checked (with the tenant scope:
//! another organization's batch or job is a 404) before a stream starts or a socket is
//! upgraded. API keys are deliberately NOT accepted in the query string: they are long-lived
//! organization-wide secrets, and URLs end up in access logs, proxies and browser history.
//! Browsers use a fetch-based SSE reader (which can send the header) or a same-origin backend
//! that adds it; see the README's "Live progress".

pub mod feed;
pub mod hub;
pub mod sse;
pub mod ws;

use actix_web::HttpRequest;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

use bacowr_shared::{
    entities::{batch, job},
    events::{StreamId, Topic, read::Cursor},
    ids::{BatchId, JobId},
};

use crate::{auth::Caller, error::ApiError, state::AppState};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ResumeParams {
    /// Resume after this event id, for clients that can't send the `Last-Event-ID` header
    /// (the header wins when both are sent). Without either, every event the batch's stream
    /// still holds is replayed first.
    pub last_event_id: Option<String>,
}

/// The control message sent instead of a silent hole when the resume id is no longer in the
/// stream (trimmed or expired): re-read the batch (`GET /api/v1/batches/{id}`, its jobs),
/// then carry on with the events that follow.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ResetMessage {
    /// Always `reset`.
    pub kind: &'static str,
    /// The id the client asked to resume after (or last received).
    pub after: String,
    pub reason: &'static str,
}

impl ResetMessage {
    pub fn new(after: StreamId) -> Self {
        Self {
            kind: "reset",
            after: after.to_string(),
            reason: "events after this id are no longer retained; re-read the batch",
        }
    }
}

/// Where to start: `Last-Event-ID`, else `last_event_id`, else the start of the stream.
pub fn cursor(req: &HttpRequest, params: &ResumeParams) -> Result<Cursor, ApiError> {
    let header = req
        .headers()
        .get("last-event-id")
        .map(|v| v.to_str().unwrap_or("\u{0}").trim().to_owned())
        .filter(|v| !v.is_empty());
    let (raw, field) = match (header, params.last_event_id.as_deref()) {
        (Some(h), _) => (h, "Last-Event-ID"),
        (None, Some(q)) if !q.trim().is_empty() => (q.trim().to_owned(), "last_event_id"),
        _ => return Ok(Cursor::Start),
    };
    StreamId::parse(&raw)
        .map(Cursor::After)
        .map_err(|e| ApiError::bad_request(field, e.to_string()))
}

/// The batch's topic, if the tenant owns it (404 otherwise).
pub async fn batch_topic(
    state: &AppState,
    tenant: &Caller,
    id: BatchId,
) -> Result<Topic, ApiError> {
    batch::Entity::find_by_id(id.uuid())
        .filter(batch::Column::OrgId.eq(tenant.org_id.uuid()))
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::not_found("batch", &id.to_string()))?;
    Ok(Topic::Batch(id))
}

/// The topic carrying the job's events (its batch's, or its own), if the tenant owns it.
pub async fn job_topic(state: &AppState, tenant: &Caller, id: JobId) -> Result<Topic, ApiError> {
    let found = job::Entity::find_by_id(id.uuid())
        .filter(job::Column::OrgId.eq(tenant.org_id.uuid()))
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::not_found("job", &id.to_string()))?;
    Ok(found
        .batch_id
        .map_or(Topic::Job(id), |b| Topic::Batch(BatchId::from_uuid(b))))
}

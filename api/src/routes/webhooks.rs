//! `/api/v1/webhooks`: an organization's webhook endpoints (with an event filter and a
//! signing secret shown once), their deliveries with every attempt, and manual retries.

use actix_web::{HttpResponse, delete, get, patch, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use bacowr_shared::{
    entities::{webhook_attempt, webhook_delivery, webhook_endpoint},
    ids::{WebhookDeliveryId, WebhookEndpointId},
    webhooks::{DeliveryStatus, WebhookEvent},
};

use super::params;
use crate::{
    auth::Tenant,
    error::{ApiError, ErrorBody},
    services::webhooks::{self as service, EndpointChanges, NewEndpoint},
    state::AppState,
};

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateWebhook {
    /// Where deliveries are POSTed: an http(s) URL, at most 2048 characters.
    #[schema(example = "https://hooks.example.com/bacowr")]
    pub url: String,
    /// At most 500 characters.
    pub description: Option<String>,
    /// The events to receive; empty or absent: all of them.
    #[serde(default)]
    #[schema(value_type = Vec<WebhookEvent>)]
    pub event_types: Vec<String>,
    /// Default true.
    pub enabled: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateWebhook {
    pub url: Option<String>,
    /// An empty string clears it.
    pub description: Option<String>,
    /// Replaces the filter; an empty list means all events.
    #[schema(value_type = Option<Vec<WebhookEvent>>)]
    pub event_types: Option<Vec<String>>,
    /// Enabling an endpoint clears `disabled_reason`.
    pub enabled: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookEndpointView {
    pub id: WebhookEndpointId,
    pub url: String,
    pub description: Option<String>,
    /// Empty: every event.
    pub event_types: Vec<String>,
    pub enabled: bool,
    /// Why the system disabled it (e.g. the receiver answered 410 Gone).
    pub disabled_reason: Option<String>,
    /// The signing secret (`whsec_…`): only in the answers to create and rotate-secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl WebhookEndpointView {
    fn new(e: webhook_endpoint::Model, show_secret: bool) -> Self {
        Self {
            id: WebhookEndpointId::from_uuid(e.id),
            event_types: e.event_filter(),
            url: e.url,
            description: e.description,
            enabled: e.enabled,
            disabled_reason: e.disabled_reason,
            secret: show_secret.then_some(e.secret),
            created_at: e.created_at,
            updated_at: e.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookEndpointPage {
    pub items: Vec<WebhookEndpointView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookDeliveryView {
    /// The message id receivers see as `webhook-id`, the same on every attempt.
    pub id: WebhookDeliveryId,
    pub endpoint_id: WebhookEndpointId,
    pub event_type: String,
    pub status: DeliveryStatus,
    /// HTTP attempts so far.
    pub attempts: i32,
    /// When the next attempt is due (pending only).
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

impl From<webhook_delivery::Model> for WebhookDeliveryView {
    fn from(d: webhook_delivery::Model) -> Self {
        Self {
            id: WebhookDeliveryId::from_uuid(d.id),
            endpoint_id: WebhookEndpointId::from_uuid(d.endpoint_id),
            event_type: d.event_type,
            next_attempt_at: (d.status == DeliveryStatus::Pending).then_some(d.next_attempt_at),
            status: d.status,
            attempts: d.attempts,
            last_status_code: d.last_status_code,
            last_error: d.last_error,
            created_at: d.created_at,
            delivered_at: d.delivered_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookDeliveryPage {
    pub items: Vec<WebhookDeliveryView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookAttemptView {
    /// 1 for the first attempt.
    pub attempt: i32,
    pub started_at: DateTime<Utc>,
    pub duration_ms: i32,
    /// `None` when no answer came (refused, timed out, blocked by the SSRF guard).
    pub status_code: Option<i32>,
    pub error: Option<String>,
    /// The start of the receiver's answer, at most 1 KB.
    pub response_body: Option<String>,
}

impl From<webhook_attempt::Model> for WebhookAttemptView {
    fn from(a: webhook_attempt::Model) -> Self {
        Self {
            attempt: a.attempt,
            started_at: a.started_at,
            duration_ms: a.duration_ms,
            status_code: a.status_code,
            error: a.error,
            response_body: a.response_body,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookDeliveryDetail {
    #[serde(flatten)]
    pub delivery: WebhookDeliveryView,
    /// The body sent: `{"type", "timestamp", "data"}`.
    pub payload: serde_json::Value,
    pub attempt_log: Vec<WebhookAttemptView>,
}

impl WebhookDeliveryDetail {
    fn new(d: webhook_delivery::Model, attempts: Vec<webhook_attempt::Model>) -> Self {
        Self {
            payload: d.payload.clone(),
            delivery: d.into(),
            attempt_log: attempts.into_iter().map(Into::into).collect(),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryListParams {
    /// Items per page, 1-200 (default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    pub limit: Option<String>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
    /// Only deliveries in this status.
    #[param(value_type = Option<DeliveryStatus>)]
    pub status: Option<String>,
}

fn endpoint_id(raw: &str) -> Result<WebhookEndpointId, ApiError> {
    params::parse_id(raw, "webhook_id", WebhookEndpointId::parse)
}

fn delivery_id(raw: &str) -> Result<WebhookDeliveryId, ApiError> {
    params::parse_id(raw, "msg_id", WebhookDeliveryId::parse)
}

/// Register an endpoint. The answer carries its signing secret, shown only here (and on
/// rotate-secret): verify each delivery's `webhook-signature` with it.
#[utoipa::path(
    post,
    path = "/api/v1/webhooks",
    tag = "webhooks",
    request_body = CreateWebhook,
    responses(
        (status = 201, description = "created; `secret` is shown this once", body = WebhookEndpointView),
        (status = 400, description = "malformed JSON", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 409, description = "the organization has the most endpoints allowed", body = ErrorBody),
        (status = 422, description = "bad url, description or event type; each is named", body = ErrorBody),
    )
)]
#[post("/webhooks")]
pub async fn create_webhook(
    body: web::Json<CreateWebhook>,
    tenant: Tenant,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let created = service::create(
        &state,
        tenant.org_id,
        NewEndpoint {
            url: body.url,
            description: body.description,
            event_types: body.event_types,
            enabled: body.enabled,
        },
    )
    .await?;
    Ok(HttpResponse::Created().json(WebhookEndpointView::new(created, true)))
}

/// The organization's endpoints, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/webhooks",
    tag = "webhooks",
    params(params::ListParams),
    responses(
        (status = 200, body = WebhookEndpointPage),
        (status = 400, description = "bad limit or cursor", body = ErrorBody),
        (status = 401, body = ErrorBody),
    )
)]
#[get("/webhooks")]
pub async fn list_webhooks(
    query: web::Query<params::ListParams>,
    tenant: Tenant,
    state: web::Data<AppState>,
) -> Result<web::Json<WebhookEndpointPage>, ApiError> {
    let limit = params::limit(query.limit.as_deref())?;
    let after = query
        .cursor
        .as_deref()
        .map(|c| params::parse_id(c, "cursor", WebhookEndpointId::parse))
        .transpose()?;
    let (rows, next_cursor) = service::list(&state, tenant.org_id, limit, after).await?;
    Ok(web::Json(WebhookEndpointPage {
        items: rows
            .into_iter()
            .map(|e| WebhookEndpointView::new(e, false))
            .collect(),
        next_cursor,
    }))
}

/// One endpoint (without its secret).
#[utoipa::path(
    get,
    path = "/api/v1/webhooks/{webhook_id}",
    tag = "webhooks",
    params(("webhook_id" = WebhookEndpointId, Path)),
    responses(
        (status = 200, body = WebhookEndpointView),
        (status = 400, description = "malformed id", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "no such endpoint in this organization", body = ErrorBody),
    )
)]
#[get("/webhooks/{webhook_id}")]
pub async fn get_webhook(
    path: web::Path<String>,
    tenant: Tenant,
    state: web::Data<AppState>,
) -> Result<web::Json<WebhookEndpointView>, ApiError> {
    let id = endpoint_id(&path)?;
    let found = service::find(&state, tenant.org_id, id).await?;
    Ok(web::Json(WebhookEndpointView::new(found, false)))
}

/// Change an endpoint's URL, description, event filter, or enable/disable it.
#[utoipa::path(
    patch,
    path = "/api/v1/webhooks/{webhook_id}",
    tag = "webhooks",
    params(("webhook_id" = WebhookEndpointId, Path)),
    request_body = UpdateWebhook,
    responses(
        (status = 200, body = WebhookEndpointView),
        (status = 400, description = "malformed id or JSON", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "no such endpoint in this organization", body = ErrorBody),
        (status = 422, description = "bad url, description or event type; each is named", body = ErrorBody),
    )
)]
#[patch("/webhooks/{webhook_id}")]
pub async fn update_webhook(
    path: web::Path<String>,
    body: web::Json<UpdateWebhook>,
    tenant: Tenant,
    state: web::Data<AppState>,
) -> Result<web::Json<WebhookEndpointView>, ApiError> {
    let id = endpoint_id(&path)?;
    let body = body.into_inner();
    let updated = service::update(
        &state,
        tenant.org_id,
        id,
        EndpointChanges {
            url: body.url,
            description: body.description,
            event_types: body.event_types,
            enabled: body.enabled,
        },
    )
    .await?;
    Ok(web::Json(WebhookEndpointView::new(updated, false)))
}

/// Delete an endpoint with its deliveries; pending ones are never sent.
#[utoipa::path(
    delete,
    path = "/api/v1/webhooks/{webhook_id}",
    tag = "webhooks",
    params(("webhook_id" = WebhookEndpointId, Path)),
    responses(
        (status = 204, description = "deleted"),
        (status = 400, description = "malformed id", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "no such endpoint in this organization", body = ErrorBody),
    )
)]
#[delete("/webhooks/{webhook_id}")]
pub async fn delete_webhook(
    path: web::Path<String>,
    tenant: Tenant,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = endpoint_id(&path)?;
    service::delete(&state, tenant.org_id, id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Replace the signing secret; the answer shows the new one, once. Attempts from now on
/// are signed with it.
#[utoipa::path(
    post,
    path = "/api/v1/webhooks/{webhook_id}/rotate-secret",
    tag = "webhooks",
    params(("webhook_id" = WebhookEndpointId, Path)),
    responses(
        (status = 200, description = "the endpoint with its new `secret`", body = WebhookEndpointView),
        (status = 400, description = "malformed id", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "no such endpoint in this organization", body = ErrorBody),
    )
)]
#[post("/webhooks/{webhook_id}/rotate-secret")]
pub async fn rotate_secret(
    path: web::Path<String>,
    tenant: Tenant,
    state: web::Data<AppState>,
) -> Result<web::Json<WebhookEndpointView>, ApiError> {
    let id = endpoint_id(&path)?;
    let rotated = service::rotate_secret(&state, tenant.org_id, id).await?;
    Ok(web::Json(WebhookEndpointView::new(rotated, true)))
}

/// An endpoint's deliveries, newest first, with their status and attempt count.
#[utoipa::path(
    get,
    path = "/api/v1/webhooks/{webhook_id}/deliveries",
    tag = "webhooks",
    params(("webhook_id" = WebhookEndpointId, Path), DeliveryListParams),
    responses(
        (status = 200, body = WebhookDeliveryPage),
        (status = 400, description = "bad id, status, limit or cursor", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "no such endpoint in this organization", body = ErrorBody),
    )
)]
#[get("/webhooks/{webhook_id}/deliveries")]
pub async fn list_deliveries(
    path: web::Path<String>,
    query: web::Query<DeliveryListParams>,
    tenant: Tenant,
    state: web::Data<AppState>,
) -> Result<web::Json<WebhookDeliveryPage>, ApiError> {
    let id = endpoint_id(&path)?;
    let limit = params::limit(query.limit.as_deref())?;
    let status = query
        .status
        .as_deref()
        .map(|s| {
            DeliveryStatus::parse(s).ok_or_else(|| {
                ApiError::bad_request("status", "must be one of pending, delivered, failed")
            })
        })
        .transpose()?;
    let after = query
        .cursor
        .as_deref()
        .map(|c| params::parse_id(c, "cursor", WebhookDeliveryId::parse))
        .transpose()?;
    let (rows, next_cursor) =
        service::deliveries(&state, tenant.org_id, id, status, limit, after).await?;
    Ok(web::Json(WebhookDeliveryPage {
        items: rows.into_iter().map(Into::into).collect(),
        next_cursor,
    }))
}

/// One delivery: what was sent and every attempt.
#[utoipa::path(
    get,
    path = "/api/v1/webhooks/{webhook_id}/deliveries/{msg_id}",
    tag = "webhooks",
    params(("webhook_id" = WebhookEndpointId, Path), ("msg_id" = WebhookDeliveryId, Path)),
    responses(
        (status = 200, body = WebhookDeliveryDetail),
        (status = 400, description = "malformed id", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "no such delivery of this endpoint in this organization", body = ErrorBody),
    )
)]
#[get("/webhooks/{webhook_id}/deliveries/{msg_id}")]
pub async fn get_delivery(
    path: web::Path<(String, String)>,
    tenant: Tenant,
    state: web::Data<AppState>,
) -> Result<web::Json<WebhookDeliveryDetail>, ApiError> {
    let (endpoint, msg) = path.into_inner();
    let (endpoint, msg) = (endpoint_id(&endpoint)?, delivery_id(&msg)?);
    let (d, attempts) = service::delivery(&state, tenant.org_id, endpoint, msg).await?;
    Ok(web::Json(WebhookDeliveryDetail::new(d, attempts)))
}

/// Send a failed delivery again: one more attempt, due now (with the same message id).
#[utoipa::path(
    post,
    path = "/api/v1/webhooks/{webhook_id}/deliveries/{msg_id}/retry",
    tag = "webhooks",
    params(("webhook_id" = WebhookEndpointId, Path), ("msg_id" = WebhookDeliveryId, Path)),
    responses(
        (status = 202, description = "queued again", body = WebhookDeliveryDetail),
        (status = 400, description = "malformed id", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "no such delivery of this endpoint in this organization", body = ErrorBody),
        (status = 409, description = "the delivery is not failed, or the endpoint is disabled", body = ErrorBody),
    )
)]
#[post("/webhooks/{webhook_id}/deliveries/{msg_id}/retry")]
pub async fn retry_delivery(
    path: web::Path<(String, String)>,
    tenant: Tenant,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (endpoint, msg) = path.into_inner();
    let (endpoint, msg) = (endpoint_id(&endpoint)?, delivery_id(&msg)?);
    let (d, attempts) = service::retry(&state, tenant.org_id, endpoint, msg).await?;
    Ok(HttpResponse::Accepted().json(WebhookDeliveryDetail::new(d, attempts)))
}

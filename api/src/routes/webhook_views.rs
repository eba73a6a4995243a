//! What the webhook routes take and answer: endpoints (the secret only on create and
//! rotate), deliveries and their attempts.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use bacowr_shared::{
    entities::{webhook_attempt, webhook_delivery, webhook_endpoint},
    ids::{WebhookDeliveryId, WebhookEndpointId},
    webhooks::{DeliveryStatus, WebhookEvent},
};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"url": "https://hooks.example.com/bacowr", "description": "Agency dashboard", "event_types": ["batch.ready_for_review", "job.failed"]}))]
pub struct CreateWebhook {
    /// Where deliveries are POSTed: an http(s) URL, at most 2048 characters.
    #[schema(example = "https://hooks.example.com/bacowr", max_length = 2048)]
    pub url: String,
    /// At most 500 characters.
    #[schema(max_length = 500)]
    pub description: Option<String>,
    /// The events to receive; empty or absent: all of them.
    #[serde(default)]
    #[schema(value_type = Vec<WebhookEvent>)]
    pub event_types: Vec<String>,
    /// Default true.
    pub enabled: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"enabled": false}))]
pub struct UpdateWebhook {
    /// An http(s) URL, at most 2048 characters.
    #[schema(max_length = 2048)]
    pub url: Option<String>,
    /// At most 500 characters; an empty string clears it.
    #[schema(max_length = 500)]
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
    #[schema(value_type = Vec<WebhookEvent>)]
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
    pub fn new(e: webhook_endpoint::Model, show_secret: bool) -> Self {
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
    pub fn new(d: webhook_delivery::Model, attempts: Vec<webhook_attempt::Model>) -> Self {
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
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200, default = 50)]
    pub limit: Option<String>,
    /// `next_cursor` from the previous page (a `msg_…` id).
    #[param(value_type = Option<WebhookDeliveryId>)]
    pub cursor: Option<String>,
    /// Only deliveries in this status.
    #[param(value_type = Option<DeliveryStatus>)]
    pub status: Option<String>,
}

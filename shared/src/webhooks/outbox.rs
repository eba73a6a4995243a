//! The transactional outbox: an event source records its webhook deliveries in the same
//! transaction as the change they announce, so a committed change always has its deliveries
//! and a rolled-back one never does. The dispatcher takes them from there (see
//! `bacowr_worker::webhooks`).

use chrono::{DateTime, SecondsFormat, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{DeliveryStatus, WebhookEvent};
use crate::{
    entities::{webhook_delivery, webhook_endpoint},
    ids::WebhookDeliveryId,
};

/// The body every receiver gets: `{"type", "timestamp", "data"}`.
pub fn envelope(event: WebhookEvent, data: Value, now: DateTime<Utc>) -> Value {
    json!({
        "type": event.as_str(),
        "timestamp": now.to_rfc3339_opts(SecondsFormat::Millis, true),
        "data": data,
    })
}

/// Inserts one pending delivery of `event` per enabled endpoint of `org_id` whose filter
/// takes it, due at once, on `conn` (the caller's transaction). Returns how many.
pub async fn record(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    event: WebhookEvent,
    payload: Value,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let endpoints = webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::OrgId.eq(org_id))
        .filter(webhook_endpoint::Column::Enabled.eq(true))
        .all(conn)
        .await?;
    let body = envelope(event, payload, now);
    let rows: Vec<webhook_delivery::ActiveModel> = endpoints
        .iter()
        .filter(|e| e.wants(event.as_str()))
        .map(|e| webhook_delivery::ActiveModel {
            id: Set(WebhookDeliveryId::new().uuid()),
            endpoint_id: Set(e.id),
            org_id: Set(org_id),
            event_type: Set(event.as_str().to_owned()),
            payload: Set(body.clone()),
            status: Set(DeliveryStatus::Pending),
            attempts: Set(0),
            next_attempt_at: Set(now),
            dispatched_at: Set(None),
            lease_expires_at: Set(None),
            last_status_code: Set(None),
            last_error: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            delivered_at: Set(None),
        })
        .collect();
    let n = rows.len() as u64;
    if n > 0 {
        webhook_delivery::Entity::insert_many(rows)
            .exec_without_returning(conn)
            .await?;
    }
    Ok(n)
}

//! The dispatcher's webhook step: due deliveries go from Postgres to the webhook queue,
//! within a fleet-wide window. A delivery dispatched long ago and still pending (Redis lost
//! it, or its worker died mid-send and its lease lapsed) is due again.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, FromQueryResult, Statement};
use uuid::Uuid;

use bacowr_shared::{
    config::WebhookSettings,
    ids::WebhookDeliveryId,
    webhooks::queue::{self, DeliverWebhook, WebhookQueue},
};

#[derive(FromQueryResult)]
struct Count {
    n: i64,
}

#[derive(FromQueryResult)]
struct Marked {
    id: Uuid,
    attempts: i32,
}

/// Pushes the due deliveries; returns how many.
pub async fn due(
    db: &DatabaseConnection,
    queue: &WebhookQueue,
    settings: &WebhookSettings,
    now: DateTime<Utc>,
) -> Result<usize, DbErr> {
    let backend = db.get_database_backend();
    let lost_before = now - chrono::Duration::seconds(settings.redispatch_after_secs as i64);
    let in_flight = Count::find_by_statement(Statement::from_sql_and_values(
        backend,
        "SELECT COUNT(*) AS n FROM webhook_deliveries \
         WHERE status = 'pending' AND dispatched_at >= $1",
        [lost_before.into()],
    ))
    .one(db)
    .await?
    .map_or(0, |c| c.n);
    let free = settings.window as i64 - in_flight;
    if free <= 0 {
        return Ok(0);
    }
    // Marking first: a crash before the push leaves deliveries that look dispatched, found
    // again once `redispatch_after_secs` has passed; never one pushed and unmarked.
    let marked = Marked::find_by_statement(Statement::from_sql_and_values(
        backend,
        "UPDATE webhook_deliveries SET dispatched_at = $1, updated_at = $1 WHERE id IN ( \
           SELECT id FROM webhook_deliveries \
           WHERE status = 'pending' AND next_attempt_at <= $1 \
             AND (dispatched_at IS NULL OR dispatched_at < $2) \
             AND (lease_expires_at IS NULL OR lease_expires_at < $1) \
           ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED) \
         RETURNING id, attempts",
        [now.into(), lost_before.into(), free.into()],
    ))
    .all(db)
    .await?;
    if marked.is_empty() {
        return Ok(0);
    }
    let pushed_ms = now.timestamp_millis();
    let tasks = marked
        .iter()
        .map(|m| {
            let delivery_id = WebhookDeliveryId::from_uuid(m.id);
            (
                queue::task_id(delivery_id, m.attempts, pushed_ms),
                DeliverWebhook::V1 { delivery_id },
            )
        })
        .collect();
    let mut queue = queue.clone();
    if let Err(e) = queue::push_all(&mut queue, tasks).await {
        tracing::warn!(error = %e, deliveries = marked.len(), "webhook push to Redis failed; un-marking");
        let list = marked
            .iter()
            .map(|m| format!("'{}'", m.id))
            .collect::<Vec<_>>()
            .join(",");
        // The ids come from our own query as UUIDs, so inlining them is safe.
        db.execute_raw(Statement::from_sql_and_values(
            backend,
            format!(
                "UPDATE webhook_deliveries SET dispatched_at = NULL \
                 WHERE id IN ({list}) AND dispatched_at = $1"
            ),
            [now.into()],
        ))
        .await?;
        return Ok(0);
    }
    Ok(marked.len())
}

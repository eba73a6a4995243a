//! The dispatcher's webhook step: due deliveries go from Postgres to the webhook queue,
//! within a fleet-wide window. A delivery dispatched long ago and still pending (Redis lost
//! it, or its worker died mid-send and its lease lapsed) is due again.

use chrono::{DateTime, Utc};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, DbErr, FromQueryResult, Statement, Value,
};
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
    let marked = mark(db, now, lost_before, free).await?;
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
    if let Err(e) = queue.push(tasks).await {
        tracing::warn!(error = %e, deliveries = marked.len(), "webhook push to the queue failed; un-marking");
        let ids: Vec<Uuid> = marked.iter().map(|m| m.id).collect();
        unmark(db, &ids, now).await?;
        return Ok(0);
    }
    Ok(marked.len())
}

/// Marks up to `limit` due deliveries dispatched at `now`, oldest due first; returns them.
async fn mark(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    lost_before: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Marked>, DbErr> {
    let backend = db.get_database_backend();
    let sql = match backend {
        // Writers take turns on SQLite: no other dispatcher can be marking meanwhile, so
        // there are no rows to lock or skip.
        DbBackend::Sqlite => {
            "UPDATE webhook_deliveries SET dispatched_at = ?1, updated_at = ?1 WHERE id IN ( \
               SELECT id FROM webhook_deliveries \
               WHERE status = 'pending' AND next_attempt_at <= ?1 \
                 AND (dispatched_at IS NULL OR dispatched_at < ?2) \
                 AND (lease_expires_at IS NULL OR lease_expires_at < ?1) \
               ORDER BY next_attempt_at LIMIT ?3) \
             RETURNING id, attempts"
        }
        _ => {
            "UPDATE webhook_deliveries SET dispatched_at = $1, updated_at = $1 WHERE id IN ( \
               SELECT id FROM webhook_deliveries \
               WHERE status = 'pending' AND next_attempt_at <= $1 \
                 AND (dispatched_at IS NULL OR dispatched_at < $2) \
                 AND (lease_expires_at IS NULL OR lease_expires_at < $1) \
               ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED) \
             RETURNING id, attempts"
        }
    };
    Marked::find_by_statement(Statement::from_sql_and_values(
        backend,
        sql,
        [now.into(), lost_before.into(), limit.into()],
    ))
    .all(db)
    .await
}

/// Undoes [`mark`] for deliveries nothing has touched since (a failed push).
async fn unmark(db: &DatabaseConnection, ids: &[Uuid], now: DateTime<Utc>) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    let statement = match backend {
        // A UUID is stored as its 16 bytes on SQLite, which no quoted text equals: bound
        // instead (at most `webhooks.window`, 2,000, of SQLite's 32,766 parameters).
        DbBackend::Sqlite => {
            let list = (2..ids.len() + 2)
                .map(|i| format!("?{i}"))
                .collect::<Vec<_>>()
                .join(",");
            let values: Vec<Value> = std::iter::once(now.into())
                .chain(ids.iter().map(|id| (*id).into()))
                .collect();
            Statement::from_sql_and_values(
                backend,
                format!(
                    "UPDATE webhook_deliveries SET dispatched_at = NULL \
                     WHERE id IN ({list}) AND dispatched_at = ?1"
                ),
                values,
            )
        }
        _ => {
            let list = ids
                .iter()
                .map(|id| format!("'{id}'"))
                .collect::<Vec<_>>()
                .join(",");
            // The ids come from our own query as UUIDs, so inlining them is safe.
            Statement::from_sql_and_values(
                backend,
                format!(
                    "UPDATE webhook_deliveries SET dispatched_at = NULL \
                     WHERE id IN ({list}) AND dispatched_at = $1"
                ),
                [now.into()],
            )
        }
    };
    db.execute_raw(statement).await?;
    Ok(())
}

#[cfg(test)]
#[path = "dispatch_tests.rs"]
mod tests;

//! The webhook queue: a Redis queue of its own beside the article queue, so deliveries to a
//! slow or dead receiver never hold up article work. Like the article queue it carries only
//! ids (versioned, see `crate::queue`); Postgres holds the deliveries.

use std::time::Duration;

use apalis_redis::{Config as QueueConfig, RedisStorage};
use serde::{Deserialize, Serialize};

use crate::{config::Settings, ids::WebhookDeliveryId};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "v")]
pub enum DeliverWebhook {
    #[serde(rename = "1")]
    V1 { delivery_id: WebhookDeliveryId },
}

impl DeliverWebhook {
    pub fn delivery_id(&self) -> WebhookDeliveryId {
        match self {
            Self::V1 { delivery_id } => *delivery_id,
        }
    }
}

pub fn webhook_queue_name(namespace: &str) -> String {
    format!("{namespace}:deliver-webhook")
}

/// The apalis task id of one push: the delivery, its attempt, and the push time, so a push
/// that replaces a lost one is never dropped as a duplicate by apalis-redis (`HSETNX`).
pub fn task_id(delivery_id: WebhookDeliveryId, attempt: i32, pushed_ms: i64) -> String {
    format!("{delivery_id}.{attempt}.{pushed_ms}")
}

/// Set up around apalis-redis 1.0's measured defects like the article queue
/// (`crate::queue::queue_config`): short heartbeats, batch size no larger than concurrency,
/// results persisted (that is what acknowledges a task; the dispatcher trims them).
pub fn webhook_queue_config(settings: &Settings) -> QueueConfig {
    QueueConfig::default()
        .queue(webhook_queue_name(&settings.redis.namespace))
        .batch_size(settings.webhooks.concurrency)
        .heartbeat_interval(Duration::from_secs(settings.worker.heartbeat_secs))
        .missed_heartbeats(settings.worker.missed_heartbeats)
        .persist_results(true)
}

pub type RedisWebhookQueue = RedisStorage<DeliverWebhook>;

pub fn webhook_queue(
    conn: redis::aio::ConnectionManager,
    settings: &Settings,
) -> RedisWebhookQueue {
    RedisStorage::new(conn).with_config(webhook_queue_config(settings))
}

/// Its own queue, on the same backend as the article queue.
pub type WebhookQueue = crate::queue::Queue<DeliverWebhook>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_format_is_stable() {
        let delivery_id = WebhookDeliveryId::new();
        let task = DeliverWebhook::V1 { delivery_id };
        let json = serde_json::to_value(&task).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"v": "1", "delivery_id": delivery_id.to_string()})
        );
        assert_eq!(
            serde_json::from_value::<DeliverWebhook>(json).unwrap(),
            task
        );
    }
}

//! The queue contract between the API and the workers. Redis carries only ids; Postgres holds
//! the work. Versioned so old and new workers can run side by side in a rolling deploy: add a
//! variant, never change one.

use std::time::Duration;

use apalis_core::{
    backend::{TaskSink, TaskSinkError},
    task::builder::TaskBuilder,
};
use apalis_redis::{Config as QueueConfig, RedisStorage};
use serde::{Deserialize, Serialize};

use crate::{
    config::Settings,
    ids::{JobId, OrgId},
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "v")]
pub enum GenerateArticle {
    #[serde(rename = "1")]
    V1 {
        job_id: JobId,
        org_id: OrgId,
        /// W3C trace context of the request that created the job.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        traceparent: Option<String>,
    },
}

impl GenerateArticle {
    pub fn job_id(&self) -> JobId {
        match self {
            Self::V1 { job_id, .. } => *job_id,
        }
    }

    pub fn org_id(&self) -> OrgId {
        match self {
            Self::V1 { org_id, .. } => *org_id,
        }
    }
}

/// Names of the Redis queues under a deployment's namespace, so tests and several deployments
/// can share one Redis without collisions.
pub fn generate_article_queue(namespace: &str) -> String {
    format!("{namespace}:generate-article")
}

/// The queue configuration shared by producers (the API) and consumers (workers), set up
/// around apalis-redis 1.0's measured defects (DESIGN §3a): short heartbeats so a killed
/// worker's tasks come back within seconds, batch size no larger than concurrency, and an
/// idempotency TTL so a duplicate push of a job id is dropped.
pub fn queue_config(settings: &Settings) -> QueueConfig {
    let worker = &settings.worker;
    QueueConfig::default()
        .queue(generate_article_queue(&settings.redis.namespace))
        .batch_size(worker.concurrency)
        .heartbeat_interval(Duration::from_secs(worker.heartbeat_secs))
        .missed_heartbeats(worker.missed_heartbeats)
        .idempotency_ttl(Some(Duration::from_secs(worker.enqueue_dedup_secs)))
        // Outcomes live in Postgres; apalis' own copies of results would only grow Redis.
        .persist_results(false)
}

pub type ArticleQueue = RedisStorage<GenerateArticle>;

pub fn article_queue(conn: redis::aio::ConnectionManager, settings: &Settings) -> ArticleQueue {
    RedisStorage::new(conn).with_config(queue_config(settings))
}

/// Pushes many tasks in one pipelined round trip; each carries its job id as idempotency key.
pub async fn push_all(
    queue: &mut ArticleQueue,
    tasks: Vec<GenerateArticle>,
) -> Result<(), TaskSinkError<apalis_redis::Error>> {
    if tasks.is_empty() {
        return Ok(());
    }
    let tasks = tasks.into_iter().map(|task| {
        let key = task.job_id().to_string();
        TaskBuilder::new(task).idempotency_key(key).build()
    });
    queue.push_all(futures::stream::iter(tasks)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_format_is_stable() {
        let job_id = JobId::new();
        let org_id = OrgId::new();
        let task = GenerateArticle::V1 {
            job_id,
            org_id,
            traceparent: None,
        };
        let json = serde_json::to_value(&task).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"v": "1", "job_id": job_id.to_string(), "org_id": org_id.to_string()})
        );
        assert_eq!(
            serde_json::from_value::<GenerateArticle>(json).unwrap(),
            task
        );
    }
}

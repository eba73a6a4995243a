//! The queue contract between the API and the workers. Redis carries only ids; Postgres holds
//! the work. Versioned so old and new workers can run side by side in a rolling deploy: add a
//! variant, never change one.

use std::time::Duration;

use apalis_core::{
    backend::{TaskSink, TaskSinkError},
    task::{builder::TaskBuilder, task_id::TaskId},
};
use apalis_redis::{Config as QueueConfig, RedisStorage};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::{
    config::Settings,
    ids::{JobId, OrgId},
};

pub mod sqlite;

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

/// The list the API pushes to when it has new work, so the dispatcher starts it at once
/// instead of at its next tick.
pub fn dispatch_wake_list(namespace: &str) -> String {
    format!("{namespace}:dispatch:wake")
}

/// Asks the active dispatcher to look for work now through Redis (see
/// `crate::backplane::Backplane::wake_dispatcher`, which covers both backplanes).
pub async fn wake_dispatcher(redis: &redis::aio::ConnectionManager, namespace: &str) {
    let list = dispatch_wake_list(namespace);
    let mut conn = redis.clone();
    // One pending wake-up is enough: the list never grows past one entry.
    let pushed: redis::RedisResult<()> = redis::pipe()
        .cmd("LPUSH")
        .arg(&list)
        .arg(1)
        .ignore()
        .cmd("LTRIM")
        .arg(&list)
        .arg(0)
        .arg(0)
        .ignore()
        .query_async(&mut conn)
        .await;
    if let Err(e) = pushed {
        tracing::debug!(error = %e, "dispatcher wake-up failed");
    }
}

/// The apalis task id of a job's `dispatch`-th push. apalis-redis drops a push whose task id
/// it already holds (`HSETNX`), so a repeated push of one dispatch is harmless, and a
/// re-dispatch (a new number) is never mistaken for the lost one.
pub fn task_id(job_id: JobId, dispatch: i32) -> String {
    format!("{job_id}.{dispatch}")
}

/// The queue configuration shared by producers (the dispatcher) and consumers (workers), set
/// up around apalis-redis 1.0's measured defects: short heartbeats so a killed
/// worker's tasks come back within seconds, and batch size no larger than concurrency.
pub fn queue_config(settings: &Settings) -> QueueConfig {
    let worker = &settings.worker;
    QueueConfig::default()
        .queue(generate_article_queue(&settings.redis.namespace))
        .batch_size(worker.concurrency)
        .heartbeat_interval(Duration::from_secs(worker.heartbeat_secs))
        .missed_heartbeats(worker.missed_heartbeats)
        // Must stay on: in apalis-redis 1.0 it is also what acknowledges a finished task.
        // Without it every task stays in its worker's in-flight set forever, and all of them
        // are re-queued when that worker's heartbeat lapses. The dispatcher trims the
        // done/dead sets (and the results with them).
        .persist_results(true)
}

pub type RedisArticleQueue = RedisStorage<GenerateArticle>;

pub fn article_queue(
    conn: redis::aio::ConnectionManager,
    settings: &Settings,
) -> RedisArticleQueue {
    RedisStorage::new(conn).with_config(queue_config(settings))
}

/// A delivery queue: Redis for a fleet, a SQLite file in the embedded build (see [`sqlite`]).
/// Holds ids only; the database holds the work.
#[derive(Clone)]
pub enum Queue<T> {
    Redis(RedisStorage<T>),
    Sqlite(sqlite::SqliteQueue<T>),
}

/// Where the dispatcher pushes article tasks.
pub type ArticleQueue = Queue<GenerateArticle>;

impl<T> From<RedisStorage<T>> for Queue<T> {
    fn from(queue: RedisStorage<T>) -> Self {
        Self::Redis(queue)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error("Redis queue: {0}")]
    Redis(#[from] TaskSinkError<apalis_redis::Error>),
    #[error("SQLite queue: {0}")]
    Sqlite(#[from] TaskSinkError<apalis_sqlite::Error>),
}

impl<T> Queue<T>
where
    T: Serialize + DeserializeOwned + Clone + Send + Sync + Unpin + 'static,
{
    /// Pushes many tasks at once, each under its task id (see [`task_id`]): a repeated push
    /// of one id is dropped by either queue.
    pub async fn push(&self, tasks: Vec<(String, T)>) -> Result<(), PushError> {
        match self {
            Self::Redis(queue) => Ok(push_all(&mut queue.clone(), tasks).await?),
            Self::Sqlite(queue) => Ok(sqlite::push_all(&mut queue.clone(), tasks).await?),
        }
    }
}

/// Pushes many tasks to a Redis queue in one round trip, each under its task id.
pub async fn push_all<T>(
    queue: &mut RedisStorage<T>,
    tasks: Vec<(String, T)>,
) -> Result<(), TaskSinkError<apalis_redis::Error>>
where
    T: Serialize + DeserializeOwned + Send + Sync + Unpin + 'static,
{
    if tasks.is_empty() {
        return Ok(());
    }
    let tasks = tasks.into_iter().map(|(id, task)| {
        TaskBuilder::new(task)
            .task_id(TaskId::from_string(id))
            .build()
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

//! The embedded build's queues (#8): apalis-sqlite in a SQLite file of its own beside the
//! database. Its own file because apalis-sqlite sets `synchronous = OFF` on its connections:
//! right for a delivery queue (the database holds the work of record and the dispatcher
//! re-delivers whatever the queue loses), wrong for the articles themselves.
//!
//! apalis-sqlite ids are ULIDs, so the dispatcher's task id (`job.dispatch`) goes in the
//! idempotency key instead: a repeated push of one dispatch is dropped there (`ON CONFLICT
//! DO NOTHING`), as apalis-redis drops a repeated task id.

use std::{str::FromStr, time::Duration};

use apalis_core::{
    backend::{TaskSink, TaskSinkError},
    task::builder::TaskBuilder,
};
use apalis_sqlite::{Config, SqliteConnectOptions, SqlitePool, SqlitePoolOptions, SqliteStorage};
use serde::{Serialize, de::DeserializeOwned};

use crate::config::Settings;

pub type SqliteQueue<T> = SqliteStorage<T>;

/// Opens (creating if needed) the queue file and its tables.
pub async fn connect(path: &str) -> Result<SqlitePool, apalis_sqlite::Error> {
    // On every connection, not only the one apalis' setup happens to run its PRAGMAs on.
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))?
        .create_if_missing(true)
        .journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
        .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Off)
        .busy_timeout(Duration::from_secs(30));
    let pool = SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await?;
    SqliteStorage::setup(&pool).await?;
    // The dispatcher's marker (see `fresh`): a queue file that lost its tasks is a new file.
    sea_orm::sqlx::query("CREATE TABLE IF NOT EXISTS bacowr_epoch (at TEXT NOT NULL)")
        .execute(&pool)
        .await?;
    Ok(pool)
}

/// Same shape as the Redis queues' config: batch no larger than the concurrency, heartbeats
/// as configured (a dead worker's tasks come back after the missed ones).
fn config(queue: &str, batch_size: usize, settings: &Settings) -> Config {
    Config::default()
        .queue(queue)
        .batch_size(batch_size.max(1))
        .heartbeat_interval(Duration::from_secs(settings.worker.heartbeat_secs))
        .missed_heartbeats(settings.worker.missed_heartbeats)
}

pub fn article_queue(
    pool: &SqlitePool,
    settings: &Settings,
) -> SqliteQueue<super::GenerateArticle> {
    SqliteStorage::new(pool).with_config(config(
        &super::generate_article_queue(&settings.redis.namespace),
        settings.worker.concurrency,
        settings,
    ))
}

pub fn webhook_queue(
    pool: &SqlitePool,
    settings: &Settings,
) -> SqliteQueue<crate::webhooks::queue::DeliverWebhook> {
    SqliteStorage::new(pool).with_config(config(
        &crate::webhooks::queue::webhook_queue_name(&settings.redis.namespace),
        settings.webhooks.concurrency,
        settings,
    ))
}

/// Pushes tasks, each under its task id as idempotency key.
pub async fn push_all<T>(
    queue: &mut SqliteQueue<T>,
    tasks: Vec<(String, T)>,
) -> Result<(), TaskSinkError<apalis_sqlite::Error>>
where
    T: Serialize + DeserializeOwned + Send + Sync + Unpin + 'static,
{
    if tasks.is_empty() {
        return Ok(());
    }
    let tasks = tasks
        .into_iter()
        .map(|(id, task)| TaskBuilder::new(task).idempotency_key(id).build());
    queue.push_all(futures::stream::iter(tasks)).await
}

/// The queue's status of each task id (`Pending`, `Queued`, `Running`, `Done`, `Failed`,
/// `Killed`), `None` for one it doesn't hold: the same words apalis-redis keeps.
pub async fn statuses(
    pool: &SqlitePool,
    queue: &str,
    task_ids: &[String],
) -> Result<Vec<Option<String>>, apalis_sqlite::SqlxError> {
    let keys = serde_json::to_string(task_ids).unwrap_or_else(|_| "[]".to_owned());
    let found: Vec<(String, String)> = sea_orm::sqlx::query_as(
        "SELECT idempotency_key, status FROM Jobs WHERE job_type = ?1 \
         AND idempotency_key IN (SELECT value FROM json_each(?2))",
    )
    .bind(queue)
    .bind(keys)
    .fetch_all(pool)
    .await?;
    let found: std::collections::HashMap<String, String> = found.into_iter().collect();
    Ok(task_ids.iter().map(|id| found.get(id).cloned()).collect())
}

/// Tasks waiting to be fetched.
pub async fn depth(pool: &SqlitePool, queue: &str) -> Result<i64, apalis_sqlite::SqlxError> {
    sea_orm::sqlx::query_scalar(
        "SELECT COUNT(*) FROM Jobs WHERE job_type = ?1 \
         AND (status = 'Pending' OR (status = 'Failed' AND attempts < max_attempts))",
    )
    .bind(queue)
    .fetch_one(pool)
    .await
}

/// Deletes up to `limit` finished tasks: apalis keeps every one, with its result, forever.
pub async fn trim(
    pool: &SqlitePool,
    queue: &str,
    limit: usize,
) -> Result<u64, apalis_sqlite::SqlxError> {
    Ok(sea_orm::sqlx::query(
        "DELETE FROM Jobs WHERE rowid IN (SELECT rowid FROM Jobs WHERE job_type = ?1 \
         AND (status IN ('Done', 'Killed') OR (status = 'Failed' AND attempts >= max_attempts)) \
         LIMIT ?2)",
    )
    .bind(queue)
    .bind(limit as i64)
    .execute(pool)
    .await?
    .rows_affected())
}

/// Whether this is the first look at this queue file (Redis: the epoch marker's `SET NX`).
/// A new file has lost whatever an old one held.
pub async fn fresh(pool: &SqlitePool) -> Result<bool, apalis_sqlite::SqlxError> {
    Ok(sea_orm::sqlx::query(
        "INSERT INTO bacowr_epoch (at) SELECT datetime('now') \
         WHERE NOT EXISTS (SELECT 1 FROM bacowr_epoch)",
    )
    .execute(pool)
    .await?
    .rows_affected()
        == 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        ids::{JobId, OrgId},
        queue::{GenerateArticle, task_id},
    };

    #[tokio::test]
    async fn pushes_once_per_task_id_and_answers_like_the_redis_queue() {
        let dir = std::env::temp_dir().join(format!(
            "bacowr-queue-test-{}-{:08x}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let pool = connect(&dir.join("q.queue").to_string_lossy())
            .await
            .unwrap();
        let settings = Settings::from_figment(Settings::figment(None)).unwrap();
        let mut queue = article_queue(&pool, &settings);
        let name = crate::queue::generate_article_queue(&settings.redis.namespace);
        let task = |job_id| GenerateArticle::V1 {
            job_id,
            org_id: OrgId::new(),
            traceparent: None,
        };
        let (a, b) = (JobId::new(), JobId::new());
        let ids = vec![task_id(a, 1), task_id(b, 1), task_id(a, 2)];
        push_all(
            &mut queue,
            vec![(ids[0].clone(), task(a)), (ids[1].clone(), task(b))],
        )
        .await
        .unwrap();
        // The same dispatch again is dropped, as apalis-redis drops a repeated task id.
        push_all(&mut queue, vec![(ids[0].clone(), task(a))])
            .await
            .unwrap();
        assert_eq!(depth(&pool, &name).await.unwrap(), 2);
        assert_eq!(
            statuses(&pool, &name, &ids).await.unwrap(),
            [Some("Pending".to_owned()), Some("Pending".to_owned()), None]
        );
        assert!(fresh(&pool).await.unwrap());
        assert!(!fresh(&pool).await.unwrap(), "marked on the first look");
        assert_eq!(trim(&pool, &name, 10).await.unwrap(), 0, "nothing finished");
        sea_orm::sqlx::query("UPDATE Jobs SET status = 'Done'")
            .execute(&pool)
            .await
            .unwrap();
        assert_eq!(trim(&pool, &name, 1).await.unwrap(), 1);
        assert_eq!(trim(&pool, &name, 10).await.unwrap(), 1);
        pool.close().await;
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

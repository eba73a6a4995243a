//! What the dispatcher reads and tidies in the delivery queues, on either backend: Redis
//! (apalis-redis' lists, sets and hashes) or the embedded build's SQLite file (apalis-sqlite's
//! `Jobs` table). Both answer the same questions in the same words.

use redis::aio::ConnectionManager;

use bacowr_shared::{
    config::Settings, infra::Queues, queue, webhooks::queue::webhook_queue_config,
};

use super::{recover::StepError, trim};

/// Whether the queue is new to this deployment: one that lost every task (a flushed or
/// restarted Redis, a new queue file) shows as new. The first look marks it.
pub async fn fresh(queues: &Queues, namespace: &str) -> Result<bool, StepError> {
    match queues {
        Queues::Redis(conn) => {
            let marker = format!("{namespace}:dispatch:epoch");
            Ok(redis::cmd("SET")
                .arg(&marker)
                .arg(chrono::Utc::now().to_rfc3339())
                .arg("NX")
                .query_async::<Option<String>>(&mut conn.clone())
                .await?
                .is_some())
        }
        Queues::Sqlite(pool) => Ok(queue::sqlite::fresh(pool).await?),
    }
}

/// The article queue's status of each task id (`Pending`, `Queued`, `Running`, `Done`,
/// `Failed`, `Killed`), `None` for a task it doesn't hold.
pub async fn statuses(
    queues: &Queues,
    settings: &Settings,
    task_ids: &[String],
) -> Result<Vec<Option<String>>, StepError> {
    match queues {
        Queues::Redis(conn) => {
            let meta = queue::queue_config(settings).job_meta_hash();
            let mut pipe = redis::pipe();
            for task in task_ids {
                pipe.cmd("HGET").arg(format!("{meta}:{task}")).arg("status");
            }
            Ok(pipe.query_async(&mut conn.clone()).await?)
        }
        Queues::Sqlite(pool) => {
            let name = queue::generate_article_queue(&settings.redis.namespace);
            Ok(queue::sqlite::statuses(pool, &name, task_ids).await?)
        }
    }
}

/// Article tasks waiting to be fetched, for metrics.
pub async fn depth(queues: &Queues, settings: &Settings) -> Result<i64, StepError> {
    match queues {
        Queues::Redis(conn) => Ok(redis_depth(&mut conn.clone(), settings).await?),
        Queues::Sqlite(pool) => {
            let name = queue::generate_article_queue(&settings.redis.namespace);
            Ok(queue::sqlite::depth(pool, &name).await?)
        }
    }
}

async fn redis_depth(conn: &mut ConnectionManager, settings: &Settings) -> redis::RedisResult<i64> {
    let config = queue::queue_config(settings);
    let (active, scheduled): (i64, i64) = redis::pipe()
        .cmd("LLEN")
        .arg(config.active_jobs_list())
        .cmd("ZCARD")
        .arg(config.scheduled_jobs_set())
        .query_async(conn)
        .await?;
    Ok(active + scheduled)
}

/// Deletes up to `per_tick` finished tasks of each queue: neither apalis backend ever does.
pub async fn trim(queues: &Queues, settings: &Settings, per_tick: usize) -> Result<(), StepError> {
    let namespace = &settings.redis.namespace;
    match queues {
        Queues::Redis(conn) => {
            let mut conn = conn.clone();
            trim::finished_tasks(&mut conn, &queue::queue_config(settings), per_tick).await?;
            trim::finished_tasks(&mut conn, &webhook_queue_config(settings), per_tick).await?;
        }
        Queues::Sqlite(pool) => {
            for name in [
                queue::generate_article_queue(namespace),
                bacowr_shared::webhooks::queue::webhook_queue_name(namespace),
            ] {
                queue::sqlite::trim(pool, &name, per_tick).await?;
            }
        }
    }
    Ok(())
}

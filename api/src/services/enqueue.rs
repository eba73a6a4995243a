//! Handing job ids to the workers through Redis, after the jobs are committed in Postgres.

use redis::aio::ConnectionManager;

use bacowr_shared::{
    ids::{JobId, OrgId},
    queue::{self, ArticleQueue, GenerateArticle},
    telemetry,
};

use crate::error::ApiError;

/// Fails fast (503) before any work is written when Redis can't take it.
pub async fn check_redis(redis: &ConnectionManager) -> Result<(), ApiError> {
    let mut conn = redis.clone();
    let pong: Result<String, _> = redis::cmd("PING").query_async(&mut conn).await;
    pong.map(|_| ()).map_err(|e| {
        tracing::error!(error = %e, "Redis unavailable");
        ApiError::unavailable("the queue (Redis)")
    })
}

/// One pipelined push of all the jobs. A failure here leaves the jobs `queued` in Postgres,
/// the source of truth, where re-dispatch finds them; the client's answer is unaffected.
pub async fn push_jobs(queue: &ArticleQueue, org_id: OrgId, job_ids: &[JobId]) {
    let traceparent = telemetry::current_traceparent();
    let tasks = job_ids
        .iter()
        .map(|&job_id| GenerateArticle::V1 {
            job_id,
            org_id,
            traceparent: traceparent.clone(),
        })
        .collect();
    let mut queue = queue.clone();
    if let Err(e) = queue::push_all(&mut queue, tasks).await {
        tracing::error!(error = %e, jobs = job_ids.len(), "enqueue failed; jobs stay queued in Postgres");
    }
}

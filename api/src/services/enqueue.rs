//! Handing new work to the fleet. Postgres holds the queue of record; the dispatcher (in the
//! worker processes) moves jobs into Redis fairly and within its window. The API only wakes it,
//! so a new batch starts at once and the per-organization cap has a single owner.

use redis::aio::ConnectionManager;

use bacowr_shared::queue;

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

/// After commit: asks the dispatcher to look now. A lost wake-up costs at most one dispatcher
/// tick; the jobs are already safe in Postgres.
pub async fn wake_dispatcher(redis: &ConnectionManager, namespace: &str) {
    queue::wake_dispatcher(redis, namespace).await;
}

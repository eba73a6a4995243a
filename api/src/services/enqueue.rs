//! Handing new work to the fleet. Postgres holds the queue of record; the dispatcher (in the
//! worker processes) moves jobs into Redis fairly and within its window. The API only wakes it,
//! so a new batch starts at once and the per-organization cap has a single owner.

use bacowr_shared::backplane::Backplane;

use crate::error::ApiError;

/// Fails fast (503) before any work is written when Redis can't take it.
pub async fn check_redis(backplane: &Backplane) -> Result<(), ApiError> {
    backplane.ping().await.map_err(|e| {
        tracing::error!(error = %e, "Redis unavailable");
        ApiError::unavailable("the queue (Redis)")
    })
}

/// After commit: asks the dispatcher to look now. A lost wake-up costs at most one dispatcher
/// tick; the jobs are already safe in Postgres.
pub async fn wake_dispatcher(backplane: &Backplane, namespace: &str) {
    backplane.wake_dispatcher(namespace).await;
}

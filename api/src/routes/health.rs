//! Liveness and readiness.

use std::time::Duration;

use actix_web::{HttpResponse, get, web};
use serde::Serialize;

use crate::{error::ApiError, state::AppState};

#[derive(Serialize, utoipa::ToSchema)]
pub struct HealthView {
    pub status: &'static str,
}

/// The process is up.
#[utoipa::path(
    get,
    path = "/health",
    operation_id = "get_health",
    tag = "operations",
    security(()),
    responses((status = 200, description = "alive", body = HealthView, example = json!({"status": "ok"})))
)]
#[get("/health")]
pub async fn health() -> HttpResponse {
    HttpResponse::Ok().json(HealthView { status: "ok" })
}

/// The database and Redis (in a fleet) both answer; otherwise 503 naming the one that
/// doesn't.
#[utoipa::path(
    get,
    path = "/ready",
    operation_id = "get_readiness",
    tag = "operations",
    security(()),
    responses(
        (status = 200, description = "ready to take work", body = HealthView, example = json!({"status": "ready"})),
        (status = 503, description = "the database or Redis doesn't answer; `detail` names which", body = crate::error::ErrorBody),
    )
)]
#[get("/ready")]
pub async fn ready(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    // The embedded build's one connection may be busy with a large write: waiting for it
    // as long as any query would is not a failure.
    let timeout = if state.backplane.is_local() {
        Duration::from_secs(10)
    } else {
        Duration::from_secs(2)
    };
    let db_ok = matches!(
        tokio::time::timeout(timeout, state.db.ping()).await,
        Ok(Ok(()))
    );
    if !db_ok {
        let db = if state.backplane.is_local() {
            "the database (SQLite)"
        } else {
            "Postgres"
        };
        return Err(ApiError::unavailable(db));
    }
    let ping = state.backplane.ping();
    if !matches!(tokio::time::timeout(timeout, ping).await, Ok(Ok(_))) {
        return Err(ApiError::unavailable("Redis"));
    }
    Ok(HttpResponse::Ok().json(HealthView { status: "ready" }))
}

//! Steering accepted work: `POST /batches/{id}/cancel`, `POST /batches/{id}/retry-failed`,
//! `POST /jobs/{id}/retry`.

use actix_web::{HttpRequest, HttpResponse, post, web};
use serde::Serialize;

use bacowr_shared::ids::{BatchId, JobId};

use super::{
    params,
    views::{BatchView, JobView},
};
use crate::{
    auth::{self, Authorized, WriteBatches},
    error::{ApiError, ErrorBody},
    services::control,
    state::AppState,
};

/// Cancel a batch. Queued jobs are cancelled at once and never start; running jobs stop
/// before their next provider call (or finish, if they are past it), and nothing is spent
/// on the batch afterwards. Repeating the call answers the cancelled batch.
#[utoipa::path(
    post,
    path = "/api/v1/batches/{batch_id}/cancel",
    operation_id = "cancel_batch",
    tag = "batches",
    params(("batch_id" = BatchId, Path, description = "The batch's id (`batch_…`)")),
    responses(
        (status = 200, description = "cancelled (or already cancelled): the batch as it is now", body = BatchView),
        (status = 400, description = "malformed id", body = ErrorBody),
        (status = 404, description = "no such batch in this organization", body = ErrorBody),
        (status = 409, description = "the batch is neither queued nor running, or reviewers' regenerations are in progress; `detail` names the state", body = ErrorBody),
    )
)]
#[post("/batches/{batch_id}/cancel")]
pub async fn cancel_batch(
    tenant: Authorized<WriteBatches>,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<web::Json<BatchView>, ApiError> {
    let id = params::parse_id(&path, "batch_id", BatchId::parse)?;
    let batch = control::cancel_batch(&state, tenant.org_id, id).await?;
    Ok(web::Json(batch.into()))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RetryFailed {
    /// Failed jobs put back in the queue.
    pub retried: u64,
    pub batch: BatchView,
}

/// Retry every failed job of a batch (the dead letter): each goes back to the queue with a
/// fresh set of attempts.
#[utoipa::path(
    post,
    path = "/api/v1/batches/{batch_id}/retry-failed",
    operation_id = "retry_failed_jobs",
    tag = "batches",
    params(("batch_id" = BatchId, Path, description = "The batch's id (`batch_…`)")),
    responses(
        (status = 202, description = "the failed jobs are queued again", body = RetryFailed),
        (status = 400, description = "malformed id", body = ErrorBody),
        (status = 404, description = "no such batch in this organization", body = ErrorBody),
        (status = 409, description = "the batch is cancelled", body = ErrorBody),
        (status = 429, description = "a rate limit is reached: requests per minute, or the stricter budget for submissions, retries and regenerations; retry after `Retry-After` seconds", body = ErrorBody),

    )
)]
#[post("/batches/{batch_id}/retry-failed")]
pub async fn retry_failed(
    tenant: Authorized<WriteBatches>,
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    auth::expensive(&state, &req, &tenant).await?;
    let id = params::parse_id(&path, "batch_id", BatchId::parse)?;
    let (batch, retried) = control::retry_failed(&state, tenant.org_id, id).await?;
    Ok(HttpResponse::Accepted().json(RetryFailed {
        retried,
        batch: batch.into(),
    }))
}

/// Retry one failed job: it goes back to the queue with a fresh set of attempts.
#[utoipa::path(
    post,
    path = "/api/v1/jobs/{job_id}/retry",
    operation_id = "retry_job",
    tag = "jobs",
    params(("job_id" = JobId, Path, description = "The job's id (`job_…`)")),
    responses(
        (status = 202, description = "queued again", body = JobView),
        (status = 400, description = "malformed id", body = ErrorBody),
        (status = 404, description = "no such job in this organization", body = ErrorBody),
        (status = 409, description = "the job is not failed (`detail` names its state), or its batch is cancelled", body = ErrorBody),
        (status = 429, description = "a rate limit is reached: requests per minute, or the stricter budget for submissions, retries and regenerations; retry after `Retry-After` seconds", body = ErrorBody),

    )
)]
#[post("/jobs/{job_id}/retry")]
pub async fn retry_job(
    tenant: Authorized<WriteBatches>,
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    auth::expensive(&state, &req, &tenant).await?;
    let id = params::parse_id(&path, "job_id", JobId::parse)?;
    let job = control::retry_job(&state, tenant.org_id, id).await?;
    Ok(HttpResponse::Accepted().json(JobView::new(job, None)))
}

//! `/api/v1/jobs`: submit one link, read one job with its article.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use bacowr_shared::{
    entities::{article, job},
    ids::JobId,
};

use super::{body, params, views::JobView};
use crate::{
    auth::{self, Authorized, ReadBatches, WriteBatches},
    error::{ApiError, ErrorBody},
    intake,
    services::{idempotency::IdempotencyKey, submission},
    state::AppState,
};

/// Submit a single link assignment (a job outside any batch).
#[utoipa::path(
    post,
    path = "/api/v1/jobs",
    operation_id = "submit_job",
    tag = "jobs",
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer for retries of the same request: 1-255 printable ASCII characters", min_length = 1, max_length = 255)),
    request_body(content((intake::LinkInput = "application/json", example = crate::openapi::examples::submit_job))),
    responses(
        (status = 202, description = "accepted; the job is queued", body = JobView, example = crate::openapi::examples::queued_job),
        (status = 400, description = "malformed JSON or `Idempotency-Key`; `field` names it", body = ErrorBody),
        (status = 402, description = "the job's expected cost exceeds what is left of a quota or budget; `field` names it, `quota` has the numbers; nothing created", body = ErrorBody),
        (status = 409, description = "the `Idempotency-Key` was used with a different request (`error_code`: `idempotency_conflict`)", body = ErrorBody),
        (status = 422, description = "invalid fields; every one is named in `errors`", body = ErrorBody),
        (status = 429, description = "a rate limit is reached: requests per minute, or the stricter budget for submissions, retries and regenerations; retry after `Retry-After` seconds", body = ErrorBody),
        (status = 503, description = "the database or the queue (Redis) is unreachable; nothing was created; retry after `Retry-After` seconds", body = ErrorBody),
    )
)]
#[post("/jobs")]
pub async fn submit(
    tenant: Authorized<WriteBatches>,
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    auth::expensive(&state, &req, &tenant).await?;
    let bytes = body::read_limited(&req, payload, state.settings.api.max_body_bytes).await?;
    let mime = body::media_type(&req);
    if !body::is_json(&mime) {
        return Err(ApiError::unsupported_media_type(&mime));
    }
    let link = intake::parse_single(&bytes)?;
    let idempotency = IdempotencyKey::from_request(&req, &bytes)?;
    let accepted = submission::submit_job(&state, tenant.org_id, link, idempotency).await?;
    Ok(super::accepted_response(accepted))
}

/// One job: status, attempts, error, usage, its latest article with the QC report, and the
/// list of article versions.
#[utoipa::path(
    get,
    path = "/api/v1/jobs/{job_id}",
    operation_id = "get_job",
    tag = "jobs",
    params(("job_id" = JobId, Path, description = "The job's id (`job_…`)")),
    responses(
        (status = 200, description = "the job with its latest article and every version", body = JobView, example = crate::openapi::examples::job),
        (status = 400, description = "malformed id", body = ErrorBody),
        (status = 404, description = "no such job in this organization", body = ErrorBody),
    )
)]
#[get("/jobs/{job_id}")]
pub async fn get_job(
    tenant: Authorized<ReadBatches>,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<web::Json<JobView>, ApiError> {
    let id = params::parse_id(&path, "job_id", JobId::parse)?;
    let found = job::Entity::find_by_id(id.uuid())
        .filter(job::Column::OrgId.eq(tenant.org_id.uuid()))
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::not_found("job", &id.to_string()))?;
    let articles = article::Entity::find()
        .filter(article::Column::JobId.eq(found.id))
        .filter(article::Column::OrgId.eq(tenant.org_id.uuid()))
        .order_by_asc(article::Column::Version)
        .all(&state.db)
        .await?;
    Ok(web::Json(JobView::with_articles(found, articles)))
}

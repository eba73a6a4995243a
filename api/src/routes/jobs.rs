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
    tag = "jobs",
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer for retries of the same request")),
    request_body(content((intake::LinkInput = "application/json"))),
    responses(
        (status = 202, description = "accepted; the job is queued", body = JobView),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 402, description = "the job's expected cost exceeds what is left of a quota or budget; nothing created", body = ErrorBody),
        (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody),
        (status = 422, description = "invalid fields; every one is named", body = ErrorBody),
        (status = 503, body = ErrorBody),
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
    let content_type = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if !(mime.is_empty() || mime == "application/json" || mime.ends_with("+json")) {
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
    tag = "jobs",
    params(("job_id" = JobId, Path)),
    responses(
        (status = 200, body = JobView),
        (status = 400, description = "malformed id", body = ErrorBody),
        (status = 401, body = ErrorBody),
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

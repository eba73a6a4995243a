//! `/api/v1/batches`: submit a batch (JSON or CSV), read one, list them, list its jobs.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use bacowr_shared::{
    domain::JobStatus,
    entities::{batch, job},
    ids::BatchId,
};

use super::{
    body,
    params::{self, JobListParams, ListParams, SubmitParams},
    views::{BatchPage, BatchView, JobPage, JobView},
};
use crate::{
    auth::{self, Authorized, Caller, ReadBatches, WriteBatches},
    error::{ApiError, ErrorBody},
    intake,
    services::{estimate, idempotency::IdempotencyKey, quota, submission},
    state::AppState,
};

/// A CSV sheet of links, uploaded as the body: bytes in UTF-8 (a byte-order mark is skipped).
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct CsvSheet(pub Vec<u8>);

const CSV_EXAMPLE: &str =
    "publisher,target,anchor,language\nbloggen.se,https://client.se/cyklar,bästa cyklarna,sv\n";

/// Submit a batch of link assignments, as JSON or as CSV. All-or-nothing: a 422 names every
/// bad row and field. Send `Idempotency-Key` to make retries safe. With `dry_run=true`
/// nothing is created and the answer is the estimated tokens and cost, with the
/// organization's quotas and budgets against them. A batch whose expected figures exceed
/// what is left of a quota or budget is refused with 402.
#[utoipa::path(
    post,
    path = "/api/v1/batches",
    operation_id = "submit_batch",
    tag = "batches",
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "Replays the first answer for retries of the same request: 1-255 printable ASCII characters", min_length = 1, max_length = 255),
        SubmitParams,
    ),
    request_body(
        description = "The links, as a JSON `SubmitBatch` or as CSV with a header row `publisher,target,anchor[,language]` (or the JSON field names); CSV takes the batch options from the query string",
        content(
            (intake::SubmitBatch = "application/json", example = crate::openapi::examples::submit_batch),
            (CsvSheet = "text/csv", example = json!(CSV_EXAMPLE)),
        ),
    ),
    responses(
        (status = 202, description = "accepted; the jobs are queued", body = BatchView, example = crate::openapi::examples::batch),
        (status = 200, description = "`dry_run=true`: validated, nothing created; the estimate", body = crate::services::estimate::Estimate, example = crate::openapi::examples::estimate),
        (status = 400, description = "malformed JSON or CSV header, a bad `dry_run` or `Idempotency-Key`; `field` names it", body = ErrorBody),
        (status = 402, description = "the expected figures exceed what is left of a quota or budget; `field` names it, `quota` has the numbers; nothing created", body = ErrorBody),
        (status = 409, description = "the `Idempotency-Key` was used with a different request (`error_code`: `idempotency_conflict`)", body = ErrorBody),
        (status = 415, description = "neither JSON (`application/json`, `…+json`) nor CSV (`text/csv`, `application/csv`)", body = ErrorBody),
        (status = 422, description = "invalid links or options; every bad row and field is named in `errors`", body = ErrorBody),
        (status = 429, description = "a rate limit is reached: requests per minute, or (unless `dry_run`) the stricter budget for submissions, retries and regenerations; retry after `Retry-After` seconds", body = ErrorBody),
        (status = 503, description = "the database or the queue (Redis) is unreachable; nothing was created; retry after `Retry-After` seconds", body = ErrorBody),
    )
)]
#[post("/batches")]
pub async fn submit(
    tenant: Authorized<WriteBatches>,
    req: HttpRequest,
    query: web::Query<SubmitParams>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let api = &state.settings.api;
    let bytes = body::read_limited(&req, payload, api.max_body_bytes).await?;
    let mime = body::media_type(&req);
    let deployments: Vec<String> = state.settings.chain().into_iter().map(|(n, _)| n).collect();
    let limits = intake::Limits {
        max_links: api.max_links_per_batch,
        deployments: &deployments,
    };
    let submission = match mime.as_str() {
        m if body::is_json(m) => intake::parse_json(&bytes, &limits)?,
        "text/csv" | "application/csv" => {
            let options = intake::RawOptions {
                profile: query.qc_profile.clone(),
                overrides: None,
                default_language: query.default_language.clone(),
                providers: intake::RawOptions::providers_from_query(query.providers.as_deref()),
            };
            intake::parse_csv(&bytes, options, &limits)?
        }
        other => return Err(ApiError::unsupported_media_type(other)),
    };
    let dry_run = match query.dry_run.as_deref() {
        None | Some("false" | "0") => false,
        Some("true" | "1" | "") => true,
        Some(_) => return Err(ApiError::bad_request("dry_run", "must be true or false")),
    };
    if !dry_run {
        auth::expensive(&state, &req, &tenant).await?;
    }
    if dry_run {
        let options = &submission.options;
        let mut estimate = estimate::estimate(
            submission.links.len(),
            &options.qc_profile,
            &options.qc_thresholds,
            &state.settings,
            options.providers.as_deref(),
            &state.prices,
        );
        estimate.quota = quota::report(&state.db, tenant.org_id, &estimate.demand()).await?;
        return Ok(HttpResponse::Ok().json(estimate));
    }
    let idempotency = IdempotencyKey::from_request(&req, &bytes)?;
    let accepted = submission::submit_batch(&state, tenant.org_id, submission, idempotency).await?;
    Ok(super::accepted_response(accepted))
}

/// One batch: status, counts per job status, progress, tokens and cost so far.
#[utoipa::path(
    get,
    path = "/api/v1/batches/{batch_id}",
    operation_id = "get_batch",
    tag = "batches",
    params(("batch_id" = BatchId, Path, description = "The batch's id (`batch_…`)")),
    responses(
        (status = 200, description = "the batch", body = BatchView, example = crate::openapi::examples::batch),
        (status = 400, description = "malformed id", body = ErrorBody),
        (status = 404, description = "no such batch in this organization", body = ErrorBody),
    )
)]
#[get("/batches/{batch_id}")]
pub async fn get_batch(
    tenant: Authorized<ReadBatches>,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<web::Json<BatchView>, ApiError> {
    let id = params::parse_id(&path, "batch_id", BatchId::parse)?;
    let found = find_batch(&state, &tenant, id).await?;
    Ok(web::Json(
        BatchView::from(found).with_notices(&state.settings),
    ))
}

pub(crate) async fn find_batch(
    state: &AppState,
    tenant: &Caller,
    id: BatchId,
) -> Result<batch::Model, ApiError> {
    batch::Entity::find_by_id(id.uuid())
        .filter(batch::Column::OrgId.eq(tenant.org_id.uuid()))
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::not_found("batch", &id.to_string()))
}

/// The organization's batches, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/batches",
    operation_id = "list_batches",
    tag = "batches",
    params(ListParams),
    responses(
        (status = 200, description = "a page of batches, newest first", body = BatchPage),
        (status = 400, description = "bad limit or cursor (a `batch_…` id)", body = ErrorBody),
    )
)]
#[get("/batches")]
pub async fn list_batches(
    tenant: Authorized<ReadBatches>,
    query: web::Query<ListParams>,
    state: web::Data<AppState>,
) -> Result<web::Json<BatchPage>, ApiError> {
    let limit = params::limit(query.limit.as_deref())?;
    let mut select = batch::Entity::find()
        .filter(batch::Column::OrgId.eq(tenant.org_id.uuid()))
        .order_by_desc(batch::Column::Id)
        .limit(limit + 1);
    if let Some(cursor) = &query.cursor {
        let after = params::parse_id(cursor, "cursor", BatchId::parse)?;
        select = select.filter(batch::Column::Id.lt(after.uuid()));
    }
    let mut rows = select.all(&state.db).await?;
    let next_cursor = (rows.len() as u64 > limit).then(|| {
        rows.truncate(limit as usize);
        rows.last().map(|b| BatchId::from_uuid(b.id).to_string())
    });
    Ok(web::Json(BatchPage {
        items: rows.into_iter().map(BatchView::from).collect(),
        next_cursor: next_cursor.flatten(),
    }))
}

/// A batch's jobs in submission order, optionally only those in one status.
#[utoipa::path(
    get,
    path = "/api/v1/batches/{batch_id}/jobs",
    operation_id = "list_batch_jobs",
    tag = "batches",
    params(("batch_id" = BatchId, Path, description = "The batch's id (`batch_…`)"), JobListParams),
    responses(
        (status = 200, description = "a page of the batch's jobs, in submission order", body = JobPage),
        (status = 400, description = "bad id, status, limit or cursor", body = ErrorBody),
        (status = 404, description = "no such batch in this organization", body = ErrorBody),
    )
)]
#[get("/batches/{batch_id}/jobs")]
pub async fn list_jobs(
    tenant: Authorized<ReadBatches>,
    path: web::Path<String>,
    query: web::Query<JobListParams>,
    state: web::Data<AppState>,
) -> Result<web::Json<JobPage>, ApiError> {
    let id = params::parse_id(&path, "batch_id", BatchId::parse)?;
    let limit = params::limit(query.limit.as_deref())?;
    let status = query
        .status
        .as_deref()
        .map(|s| {
            JobStatus::parse(s).ok_or_else(|| {
                ApiError::bad_request(
                    "status",
                    "must be one of queued, running, succeeded, needs_review, failed, cancelled",
                )
            })
        })
        .transpose()?;
    let after: Option<i32> = query
        .cursor
        .as_deref()
        .map(|c| {
            c.strip_prefix("row_")
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| ApiError::bad_request("cursor", "not a cursor this list returned"))
        })
        .transpose()?;
    find_batch(&state, &tenant, id).await?;

    let mut select = job::Entity::find()
        .filter(job::Column::BatchId.eq(id.uuid()))
        .filter(job::Column::OrgId.eq(tenant.org_id.uuid()))
        .order_by_asc(job::Column::RowIndex)
        .limit(limit + 1);
    if let Some(status) = status {
        select = select.filter(job::Column::Status.eq(status));
    }
    if let Some(after) = after {
        select = select.filter(job::Column::RowIndex.gt(after));
    }
    let mut rows = select.all(&state.db).await?;
    let next_cursor = (rows.len() as u64 > limit).then(|| {
        rows.truncate(limit as usize);
        rows.last().map(|j| format!("row_{}", j.row_index))
    });
    Ok(web::Json(JobPage {
        items: rows.into_iter().map(|j| JobView::new(j, None)).collect(),
        next_cursor: next_cursor.flatten(),
    }))
}

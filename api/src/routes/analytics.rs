//! `/api/v1/analytics/*`: the organization's jobs, backlinks and costs over a date range.
//! The figures and their definitions live in `crate::analytics`.

use actix_web::{get, web};
use chrono::Utc;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::{
    analytics::{
        Range, RangeParams,
        backlinks::{self as backlink_report, BacklinkAnalytics},
        costs::{self as cost_report, CostAnalytics},
        jobs::{self as job_report, JobAnalytics},
    },
    auth::{Authorized, ReadBatches},
    error::{ApiError, ErrorBody},
    state::AppState,
};

/// Jobs created in the range: counts by status per day, success and first-try QC pass
/// rates (over finished jobs: succeeded + needs_review + failed), run durations p50/p95.
#[utoipa::path(
    get,
    path = "/api/v1/analytics/jobs",
    operation_id = "get_job_analytics",
    tag = "analytics",
    params(RangeParams),
    responses(
        (status = 200, description = "the job report for the range", body = JobAnalytics),
        (status = 400, description = "bad `from` or `to`, `from` not before `to`, or a range over 366 days", body = ErrorBody),
    )
)]
#[get("/analytics/jobs")]
pub async fn jobs(
    tenant: Authorized<ReadBatches>,
    query: web::Query<RangeParams>,
    state: web::Data<AppState>,
) -> Result<web::Json<JobAnalytics>, ApiError> {
    let range = Range::parse(&query, Utc::now())?;
    Ok(web::Json(
        job_report::report(&state.db, tenant.org_id.uuid(), range).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BacklinkParams {
    /// Start, inclusive: an RFC 3339 date or date-time. Default: 30 days before `to`.
    #[param(example = "2026-11-01")]
    pub from: Option<String>,
    /// End: a date includes that whole day (UTC); a date-time is exclusive. Default: now.
    #[param(example = "2026-11-30")]
    pub to: Option<String>,
    /// Domains listed per dimension, 1-1000 (default 100), most links first.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000, default = 100)]
    pub limit: Option<String>,
}

/// Links created in the range by publisher domain and by target domain (host of the target
/// URL): links, articles, and total and average words of the current articles.
#[utoipa::path(
    get,
    path = "/api/v1/analytics/backlinks",
    operation_id = "get_backlink_analytics",
    tag = "analytics",
    params(BacklinkParams),
    responses(
        (status = 200, description = "the backlink report for the range", body = BacklinkAnalytics),
        (status = 400, description = "bad `from`, `to` or `limit`, `from` not before `to`, or a range over 366 days", body = ErrorBody),
    )
)]
#[get("/analytics/backlinks")]
pub async fn backlinks(
    tenant: Authorized<ReadBatches>,
    query: web::Query<BacklinkParams>,
    state: web::Data<AppState>,
) -> Result<web::Json<BacklinkAnalytics>, ApiError> {
    let range = Range::parse(
        &RangeParams {
            from: query.from.clone(),
            to: query.to.clone(),
        },
        Utc::now(),
    )?;
    let limit = match query.limit.as_deref() {
        None => backlink_report::DEFAULT_LIMIT,
        Some(raw) => raw
            .parse::<u64>()
            .ok()
            .filter(|n| (1..=backlink_report::MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                ApiError::bad_request(
                    "limit",
                    format!(
                        "must be an integer from 1 to {}",
                        backlink_report::MAX_LIMIT
                    ),
                )
            })?,
    };
    Ok(web::Json(
        backlink_report::report(&state.db, tenant.org_id.uuid(), range, limit).await?,
    ))
}

/// Provider calls made in the range: calls, tokens and cost in total and by day, batch,
/// provider and model, in exact micro-dollars and in US dollars.
#[utoipa::path(
    get,
    path = "/api/v1/analytics/costs",
    operation_id = "get_cost_analytics",
    tag = "analytics",
    params(RangeParams),
    responses(
        (status = 200, description = "the cost report for the range", body = CostAnalytics),
        (status = 400, description = "bad `from` or `to`, `from` not before `to`, or a range over 366 days", body = ErrorBody),
    )
)]
#[get("/analytics/costs")]
pub async fn costs(
    tenant: Authorized<ReadBatches>,
    query: web::Query<RangeParams>,
    state: web::Data<AppState>,
) -> Result<web::Json<CostAnalytics>, ApiError> {
    let range = Range::parse(&query, Utc::now())?;
    Ok(web::Json(
        cost_report::report(&state.db, tenant.org_id.uuid(), range).await?,
    ))
}

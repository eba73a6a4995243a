//! Quotas and budgets at submission (#7). A batch or single job is admitted only if its
//! expected figures fit what is left of every limit; otherwise it is refused with 402, nothing
//! is written, and a `budget.exceeded` audit event records the numbers. Usage counts calls in
//! flight at the most they can cost, like the worker's own check.

use chrono::Utc;
use sea_orm::{DatabaseConnection, DatabaseTransaction};
use serde::Serialize;

use bacowr_shared::{
    ids::OrgId,
    quota::{
        Exceeded, Metric, alerts,
        check::{self, Demand, QuotaLine},
        reserve, usage,
    },
};

use crate::error::ApiError;

/// The quota situation a dry run reports.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct QuotaReport {
    /// The submission would be accepted: no limit below is `exceeded`.
    pub within_limits: bool,
    /// Every quota and budget the organization has, with the submission's share of it.
    pub limits: Vec<QuotaLine>,
}

/// For a dry run: `None` when the organization has no limits.
pub async fn report(
    db: &DatabaseConnection,
    org_id: OrgId,
    demand: &Demand,
) -> Result<Option<QuotaReport>, ApiError> {
    let limits = usage::limits(db, org_id.uuid()).await?.unwrap_or_default();
    if limits.is_empty() {
        return Ok(None);
    }
    let now = Utc::now();
    let with_jobs = limits.quota_jobs_per_month.is_some();
    let used = usage::usage(db, org_id.uuid(), None, with_jobs, now).await?;
    let limits = check::submission_report(&limits, &used, demand, now);
    Ok(Some(QuotaReport {
        within_limits: limits.iter().all(|l| !l.exceeded),
        limits,
    }))
}

/// In the submission's transaction, before anything is written: `Ok(Err(_))` if the
/// submission must be refused. When admitted and the jobs quota reaches 80%, the alert is
/// written in the same transaction. Submissions of one organization with a jobs quota are
/// taken one at a time, so two of them can't both take the last of it.
pub async fn admit(
    txn: &DatabaseTransaction,
    org_id: OrgId,
    demand: &Demand,
) -> Result<Result<(), Exceeded>, ApiError> {
    let org = org_id.uuid();
    let limits = usage::limits(txn, org).await?.unwrap_or_default();
    if limits.is_empty() {
        return Ok(Ok(()));
    }
    let with_jobs = limits.quota_jobs_per_month.is_some();
    if with_jobs {
        reserve::lock_submissions(txn, org).await?;
    }
    let now = Utc::now();
    let used = usage::usage(txn, org, None, with_jobs, now).await?;
    if let Err(e) = check::submission(&limits, &used, demand, now) {
        return Ok(Err(e));
    }
    if let Some(limit) = limits.quota_jobs_per_month {
        let after = used.jobs_month + demand.jobs;
        alerts::record_crossings(txn, org, &[(Metric::JobsPerMonth, limit, after)], now).await?;
    }
    Ok(Ok(()))
}

/// The 402 for a refused submission, after its `budget.exceeded` audit event.
pub async fn refused(db: &DatabaseConnection, org_id: OrgId, what: &str, e: Exceeded) -> ApiError {
    if let Err(err) = alerts::record_exceeded(db, org_id.uuid(), what, None, &e).await {
        tracing::warn!(error = %err, "could not record the budget.exceeded audit event");
    }
    ApiError::quota_exceeded(e)
}

//! `/api/v1/batches/{batch_id}/calls`: what a batch's provider calls were for and how they
//! ended: first drafts against regenerations (and the failed checks each regeneration was
//! for), failed calls by class and by deployment. The call log is the source.

use std::collections::BTreeMap;

use actix_web::{get, web};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use serde::Serialize;

use bacowr_shared::{entities::llm_call, ids::BatchId};

use super::{batches::find_batch, params};
use crate::{
    auth::{Authorized, ReadBatches},
    error::{ApiError, ErrorBody},
    state::AppState,
};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CheckCount {
    pub check: String,
    pub calls: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OutcomeCount {
    /// `ok` or the error class (`truncated`, `unparseable`, `rate_limited`, …).
    pub outcome: String,
    pub calls: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeploymentCalls {
    pub deployment: String,
    pub calls: i64,
    pub failed: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BatchCallsView {
    pub calls: i64,
    pub failed_calls: i64,
    /// Calls for an attempt's first draft (retries and fallbacks of it included).
    pub draft_calls: i64,
    /// Calls for a regeneration with QC feedback.
    pub regeneration_calls: i64,
    /// Regeneration calls by the failed check they were to fix (a call for two checks counts
    /// under both), most first.
    pub regenerations_for: Vec<CheckCount>,
    pub by_outcome: Vec<OutcomeCount>,
    pub by_deployment: Vec<DeploymentCalls>,
}

/// A batch's provider calls: drafts, regenerations and why, failures.
#[utoipa::path(
    get,
    path = "/api/v1/batches/{batch_id}/calls",
    operation_id = "get_batch_calls",
    tag = "batches",
    params(("batch_id" = BatchId, Path, description = "The batch's id (`batch_…`)")),
    responses(
        (status = 200, description = "the batch's provider calls, summed up", body = BatchCallsView),
        (status = 400, description = "malformed id", body = ErrorBody),
        (status = 404, description = "no such batch in this organization", body = ErrorBody),
    )
)]
#[get("/batches/{batch_id}/calls")]
pub async fn batch_calls(
    tenant: Authorized<ReadBatches>,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<web::Json<BatchCallsView>, ApiError> {
    let id = params::parse_id(&path, "batch_id", BatchId::parse)?;
    let batch = find_batch(&state, &tenant, id).await?;
    let rows: Vec<CallGroup> = llm_call::Entity::find()
        .select_only()
        .column(llm_call::Column::Provider)
        .column(llm_call::Column::Outcome)
        .column(llm_call::Column::Purpose)
        .column(llm_call::Column::RegeneratedFor)
        .column_as(llm_call::Column::Id.count(), "n")
        .filter(llm_call::Column::BatchId.eq(batch.id))
        .filter(llm_call::Column::OrgId.eq(batch.org_id))
        .group_by(llm_call::Column::Provider)
        .group_by(llm_call::Column::Outcome)
        .group_by(llm_call::Column::Purpose)
        .group_by(llm_call::Column::RegeneratedFor)
        .into_tuple()
        .all(&state.db)
        .await?;
    Ok(web::Json(summarise(&rows)))
}

/// Deployment, outcome, purpose, the checks a regeneration was for, and how many calls.
type CallGroup = (String, String, Option<String>, Option<String>, i64);

fn summarise(rows: &[CallGroup]) -> BatchCallsView {
    let mut view = BatchCallsView {
        calls: 0,
        failed_calls: 0,
        draft_calls: 0,
        regeneration_calls: 0,
        regenerations_for: Vec::new(),
        by_outcome: Vec::new(),
        by_deployment: Vec::new(),
    };
    let (mut checks, mut outcomes, mut deployments) = (
        BTreeMap::new(),
        BTreeMap::new(),
        BTreeMap::<&str, (i64, i64)>::new(),
    );
    for (deployment, outcome, purpose, regenerated_for, n) in rows {
        let failed = if outcome == "ok" { 0 } else { *n };
        view.calls += n;
        view.failed_calls += failed;
        if purpose.as_deref() == Some("regeneration") {
            view.regeneration_calls += n;
            for check in regenerated_for.iter().flat_map(|r| r.split(',')) {
                *checks.entry(check.to_owned()).or_insert(0) += n;
            }
        } else {
            view.draft_calls += n;
        }
        *outcomes.entry(outcome.clone()).or_insert(0) += n;
        let d = deployments.entry(deployment.as_str()).or_default();
        d.0 += n;
        d.1 += failed;
    }
    view.regenerations_for = checks
        .into_iter()
        .map(|(check, calls)| CheckCount { check, calls })
        .collect();
    view.regenerations_for
        .sort_by_key(|c| std::cmp::Reverse(c.calls));
    view.by_outcome = outcomes
        .into_iter()
        .map(|(outcome, calls)| OutcomeCount { outcome, calls })
        .collect();
    view.by_deployment = deployments
        .into_iter()
        .map(|(d, (calls, failed))| DeploymentCalls {
            deployment: d.to_owned(),
            calls,
            failed,
        })
        .collect();
    view
}

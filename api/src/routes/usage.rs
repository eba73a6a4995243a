//! `/api/v1/usage`: the organization's provider usage and cost, per provider and model.

use actix_web::{get, web};
use sea_orm::{
    ColumnTrait, EntityTrait, FromQueryResult, QueryFilter, QuerySelect,
    sea_query::{Alias, Expr, Func},
};
use serde::Serialize;

use bacowr_shared::entities::llm_call;

use crate::{
    auth::{Authorized, ReadBatches},
    error::ApiError,
    state::AppState,
};

#[derive(Debug, FromQueryResult)]
struct Row {
    provider: String,
    model: String,
    calls: i64,
    tokens_in: i64,
    tokens_cached: i64,
    tokens_out: i64,
    cost_micros: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UsageLine {
    pub provider: String,
    pub model: String,
    pub calls: i64,
    pub tokens_in: i64,
    pub tokens_cached: i64,
    pub tokens_out: i64,
    pub cost_usd: f64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UsageView {
    pub calls: i64,
    pub tokens_in: i64,
    pub tokens_out: i64,
    /// Exactly the sum of every call's cost (integer micro-dollars underneath).
    pub cost_usd: f64,
    pub by_model: Vec<UsageLine>,
}

/// SUM as a BIGINT on every backend (Postgres sums BIGINT into NUMERIC), 0 when empty.
fn sum(col: llm_call::Column) -> Expr {
    Func::cast_as(
        Func::coalesce([Expr::from(Func::sum(Expr::col(col))), Expr::val(0)]),
        Alias::new("BIGINT"),
    )
    .into()
}

/// Provider calls, tokens and cost of the organization, in all and per provider and model.
#[utoipa::path(
    get,
    path = "/api/v1/usage",
    operation_id = "get_usage",
    tag = "usage",
    responses((status = 200, description = "the organization's provider usage and cost", body = UsageView))
)]
#[get("/usage")]
pub async fn usage(
    tenant: Authorized<ReadBatches>,
    state: web::Data<AppState>,
) -> Result<web::Json<UsageView>, ApiError> {
    let rows = llm_call::Entity::find()
        .select_only()
        .column(llm_call::Column::Provider)
        .column(llm_call::Column::Model)
        .column_as(
            Expr::from(Func::cast_as(
                Func::count(Expr::col(llm_call::Column::Id)),
                Alias::new("BIGINT"),
            )),
            "calls",
        )
        .column_as(sum(llm_call::Column::TokensIn), "tokens_in")
        .column_as(sum(llm_call::Column::TokensCached), "tokens_cached")
        .column_as(sum(llm_call::Column::TokensOut), "tokens_out")
        .column_as(sum(llm_call::Column::CostMicros), "cost_micros")
        .filter(llm_call::Column::OrgId.eq(tenant.org_id.uuid()))
        .group_by(llm_call::Column::Provider)
        .group_by(llm_call::Column::Model)
        .into_model::<Row>()
        .all(&state.db)
        .await?;
    let total_micros: i64 = rows.iter().map(|r| r.cost_micros).sum();
    Ok(web::Json(UsageView {
        calls: rows.iter().map(|r| r.calls).sum(),
        tokens_in: rows.iter().map(|r| r.tokens_in).sum(),
        tokens_out: rows.iter().map(|r| r.tokens_out).sum(),
        cost_usd: total_micros as f64 / 1_000_000.0,
        by_model: rows
            .into_iter()
            .map(|r| UsageLine {
                provider: r.provider,
                model: r.model,
                calls: r.calls,
                tokens_in: r.tokens_in,
                tokens_cached: r.tokens_cached,
                tokens_out: r.tokens_out,
                cost_usd: r.cost_micros as f64 / 1_000_000.0,
            })
            .collect(),
    }))
}

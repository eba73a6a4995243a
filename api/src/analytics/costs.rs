//! `/analytics/costs`: provider calls, tokens and cost by day, batch, provider and model.
//!
//! From `llm_calls` made in the range (every call, failed ones included: a provider bills
//! what it answered). One scan with `GROUPING SETS`; `GROUPING()` says which set a row is
//! (SQLite: one `SELECT` per set, `UNION ALL`, each tagged with that same value).
//! Costs are summed as integer micro-dollars, so totals are exact; `cost_usd` is derived.

use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};
use serde::Serialize;
use uuid::Uuid;

use bacowr_shared::ids::BatchId;

use super::{Dialect, Range, usd};

const COSTS: &str = r#"
SELECT GROUPING(day, batch_id, provider, model)::int AS grp,
       day, batch_id, provider, model,
       COUNT(*)::bigint AS calls,
       COUNT(*) FILTER (WHERE outcome <> 'ok')::bigint AS failed_calls,
       COALESCE(SUM(tokens_in), 0)::bigint AS tokens_in,
       COALESCE(SUM(tokens_out), 0)::bigint AS tokens_out,
       COALESCE(SUM(cost_micros), 0)::bigint AS cost_micros
FROM (
    SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day,
           batch_id, provider, model, outcome, tokens_in, tokens_out, cost_micros
    FROM llm_calls
    WHERE org_id = $1 AND created_at >= $2 AND created_at < $3
) calls
GROUP BY GROUPING SETS ((day), (batch_id), (provider), (provider, model), ())
"#;

/// `COSTS` for SQLite, which has no `GROUPING SETS`: one `SELECT` per set, each tagged with
/// the `GROUPING()` value Postgres gives it (the constants below).
const SQLITE_COSTS: &str = r#"
WITH calls AS (
    SELECT strftime('%Y-%m-%d', created_at) AS day,
           batch_id, provider, model, outcome, tokens_in, tokens_out, cost_micros
    FROM llm_calls
    WHERE org_id = ?1 AND created_at >= ?2 AND created_at < ?3
)
SELECT 7 AS grp, day, NULL AS batch_id, NULL AS provider, NULL AS model, {AGGREGATES}
FROM calls GROUP BY day
UNION ALL
SELECT 11, NULL, batch_id, NULL, NULL, {AGGREGATES} FROM calls GROUP BY batch_id
UNION ALL
SELECT 13, NULL, NULL, provider, NULL, {AGGREGATES} FROM calls GROUP BY provider
UNION ALL
SELECT 12, NULL, NULL, provider, model, {AGGREGATES} FROM calls GROUP BY provider, model
UNION ALL
SELECT 15, NULL, NULL, NULL, NULL, {AGGREGATES} FROM calls
"#;

const SQLITE_AGGREGATES: &str = "COUNT(*) AS calls, \
     COUNT(*) FILTER (WHERE outcome <> 'ok') AS failed_calls, \
     COALESCE(SUM(tokens_in), 0) AS tokens_in, \
     COALESCE(SUM(tokens_out), 0) AS tokens_out, \
     COALESCE(SUM(cost_micros), 0) AS cost_micros";

// GROUPING(day, batch_id, provider, model): a bit per argument, set when it is NOT grouped
// on, the first argument the most significant.
const BY_DAY: i32 = 0b0111;
const BY_BATCH: i32 = 0b1011;
const BY_PROVIDER: i32 = 0b1101;
const BY_MODEL: i32 = 0b1100;
const TOTAL: i32 = 0b1111;

#[derive(Debug, FromQueryResult)]
struct Row {
    grp: i32,
    day: Option<String>,
    batch_id: Option<Uuid>,
    provider: Option<String>,
    model: Option<String>,
    calls: i64,
    failed_calls: i64,
    tokens_in: i64,
    tokens_out: i64,
    cost_micros: i64,
}

#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct CostFigures {
    pub calls: i64,
    /// Calls whose outcome was not `ok`.
    pub failed_calls: i64,
    pub tokens_in: i64,
    pub tokens_out: i64,
    /// Exact, in millionths of a US dollar.
    pub cost_micros: i64,
    pub cost_usd: f64,
}

impl From<&Row> for CostFigures {
    fn from(r: &Row) -> Self {
        Self {
            calls: r.calls,
            failed_calls: r.failed_calls,
            tokens_in: r.tokens_in,
            tokens_out: r.tokens_out,
            cost_micros: r.cost_micros,
            cost_usd: usd(r.cost_micros),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DayCost {
    /// `YYYY-MM-DD`, UTC.
    pub day: String,
    #[serde(flatten)]
    pub cost: CostFigures,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BatchCost {
    /// Null for single jobs submitted outside a batch.
    pub batch_id: Option<BatchId>,
    #[serde(flatten)]
    pub cost: CostFigures,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProviderCost {
    pub provider: String,
    #[serde(flatten)]
    pub cost: CostFigures,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ModelCost {
    pub provider: String,
    pub model: String,
    #[serde(flatten)]
    pub cost: CostFigures,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CostAnalytics {
    pub range: Range,
    pub totals: CostFigures,
    /// Oldest first; days without calls are absent.
    pub by_day: Vec<DayCost>,
    /// Most expensive first.
    pub by_batch: Vec<BatchCost>,
    pub by_provider: Vec<ProviderCost>,
    pub by_model: Vec<ModelCost>,
}

pub async fn report(
    db: &impl ConnectionTrait,
    org_id: Uuid,
    range: Range,
) -> Result<CostAnalytics, DbErr> {
    let dialect = Dialect::of(db)?;
    let sql = match dialect {
        Dialect::Postgres => COSTS.to_owned(),
        Dialect::Sqlite => SQLITE_COSTS.replace("{AGGREGATES}", SQLITE_AGGREGATES),
    };
    let rows = Row::find_by_statement(range.statement(dialect, &sql, org_id, []))
        .all(db)
        .await?;
    let mut report = CostAnalytics {
        range,
        totals: CostFigures::default(),
        by_day: Vec::new(),
        by_batch: Vec::new(),
        by_provider: Vec::new(),
        by_model: Vec::new(),
    };
    for row in &rows {
        let cost = CostFigures::from(row);
        match row.grp {
            TOTAL => report.totals = cost,
            BY_DAY => report.by_day.push(DayCost {
                day: row.day.clone().unwrap_or_default(),
                cost,
            }),
            BY_BATCH => report.by_batch.push(BatchCost {
                batch_id: row.batch_id.map(BatchId::from_uuid),
                cost,
            }),
            BY_PROVIDER => report.by_provider.push(ProviderCost {
                provider: row.provider.clone().unwrap_or_default(),
                cost,
            }),
            BY_MODEL => report.by_model.push(ModelCost {
                provider: row.provider.clone().unwrap_or_default(),
                model: row.model.clone().unwrap_or_default(),
                cost,
            }),
            other => tracing::warn!(grouping = other, "unexpected grouping set"),
        }
    }
    report.by_day.sort_by(|a, b| a.day.cmp(&b.day));
    let by_cost = |a: &CostFigures, b: &CostFigures| b.cost_micros.cmp(&a.cost_micros);
    // Ties by batch id (single jobs first), so the order does not depend on the database's.
    report
        .by_batch
        .sort_by(|a, b| by_cost(&a.cost, &b.cost).then_with(|| a.batch_id.cmp(&b.batch_id)));
    report
        .by_provider
        .sort_by(|a, b| by_cost(&a.cost, &b.cost).then_with(|| a.provider.cmp(&b.provider)));
    report.by_model.sort_by(|a, b| {
        by_cost(&a.cost, &b.cost)
            .then_with(|| a.provider.cmp(&b.provider))
            .then_with(|| a.model.cmp(&b.model))
    });
    Ok(report)
}

//! `/api/v1/providers`: each deployment of the router's chain: breaker states as the workers
//! report them, the fleet-wide rate budget, and the caller's recent success rate and latency
//! percentiles from the call log (fleet-wide call statistics wait for ops roles, #7).

use actix_web::{get, web};
use chrono::Utc;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};

use bacowr_shared::entities::llm_call;

use crate::{
    auth::{Authorized, ReadBatches},
    error::ApiError,
    state::AppState,
};

const WINDOW_MINUTES: i64 = 15;
const SAMPLE: u64 = 5000;

#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct BreakerCounts {
    /// Worker processes that report the breaker closed, open or half-open.
    pub closed: u32,
    pub open: u32,
    pub half_open: u32,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LatencyView {
    pub p50_ms: i64,
    pub p95_ms: i64,
    pub p99_ms: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RateBudgetView {
    /// Requests and tokens per minute for the whole fleet; 0 means unlimited.
    pub rpm_limit: u32,
    pub tpm_limit: u32,
    /// How long until the next request or token fits, in milliseconds (0: now).
    pub rpm_wait_ms: i64,
    pub tpm_wait_ms: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeploymentView {
    pub name: String,
    pub kind: String,
    pub model: String,
    pub breakers: BreakerCounts,
    /// The fleet-wide breaker: open in every worker until this time, because one worker's
    /// breaker opened; none when it is closed fleet-wide.
    pub fleet_open_until: Option<chrono::DateTime<Utc>>,
    /// This organization's calls in the last 15 minutes.
    pub recent_calls: u64,
    pub recent_success_rate: Option<f64>,
    pub recent_latency: Option<LatencyView>,
    pub rate_budget: RateBudgetView,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProvidersView {
    pub deployments: Vec<DeploymentView>,
}

#[derive(Deserialize)]
struct Reported {
    breaker: String,
}

fn percentile(sorted: &[i64], p: f64) -> i64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn breakers(state: &AppState, name: &str) -> BreakerCounts {
    let prefix = format!("{}:providers:{name}:", state.settings.redis.namespace);
    let mut counts = BreakerCounts::default();
    let Ok(keys) = state.backplane.keys(&prefix).await else {
        return counts;
    };
    for key in keys {
        let value = state.backplane.get(&key).await.unwrap_or(None);
        match value
            .and_then(|v| serde_json::from_str::<Reported>(&v).ok())
            .map(|r| r.breaker)
        {
            Some(s) if s == "open" => counts.open += 1,
            Some(s) if s == "half_open" => counts.half_open += 1,
            Some(_) => counts.closed += 1,
            None => {}
        }
    }
    counts
}

async fn fleet_open_until(state: &AppState, name: &str) -> Option<chrono::DateTime<Utc>> {
    let key = bacowr_shared::backplane::fleet_breaker_key(&state.settings.redis.namespace, name);
    let value = state.backplane.get(&key).await.ok()??;
    // `<ends in Unix ms>:<configuration digest>`.
    let ends: i64 = value.split(':').next()?.parse().ok()?;
    chrono::DateTime::from_timestamp_millis(ends).filter(|t| *t > Utc::now())
}

async fn wait_ms(state: &AppState, key: &str, per_minute: u32) -> i64 {
    if per_minute == 0 {
        return 0;
    }
    // The worker's limiter keeps due times in microseconds under `…:us`.
    let key = format!("{}:ratelimit:{key}:us", state.settings.redis.namespace);
    let tat = state.backplane.get(&key).await.ok().flatten();
    let tat = tat.and_then(|t| t.parse::<f64>().ok());
    let (Some(tat), Ok(now)) = (tat, state.backplane.now_micros().await) else {
        return 0;
    };
    let now = now as f64;
    // The limiter admits a call once everything booked before it is due.
    ((tat - now).max(0.0) / 1000.0).ceil() as i64
}

/// Each deployment's breaker states, recent success rate and latency, and rate budget.
#[utoipa::path(
    get,
    path = "/api/v1/providers",
    operation_id = "list_providers",
    tag = "operations",
    responses((status = 200, description = "every deployment of the provider chain, in order", body = ProvidersView))
)]
#[get("/providers")]
pub async fn providers(
    tenant: Authorized<ReadBatches>,
    state: web::Data<AppState>,
) -> Result<web::Json<ProvidersView>, ApiError> {
    let since = Utc::now() - chrono::Duration::minutes(WINDOW_MINUTES);
    let mut deployments = Vec::new();
    for (name, d) in state.settings.chain() {
        let rows: Vec<(String, i64)> = llm_call::Entity::find()
            .select_only()
            .column(llm_call::Column::Outcome)
            .column(llm_call::Column::LatencyMs)
            .filter(llm_call::Column::Provider.eq(name.as_str()))
            // Call statistics stay within the tenant until ops roles exist (#7).
            .filter(llm_call::Column::OrgId.eq(tenant.org_id.uuid()))
            .filter(llm_call::Column::CreatedAt.gt(since))
            .order_by_desc(llm_call::Column::CreatedAt)
            .limit(SAMPLE)
            .into_tuple()
            .all(&state.db)
            .await?;
        let ok = rows.iter().filter(|(o, _)| o == "ok").count();
        let mut latencies: Vec<i64> = rows.iter().map(|(_, l)| *l).collect();
        latencies.sort_unstable();
        deployments.push(DeploymentView {
            breakers: breakers(&state, &name).await,
            recent_calls: rows.len() as u64,
            recent_success_rate: (!rows.is_empty()).then(|| ok as f64 / rows.len() as f64),
            recent_latency: (!latencies.is_empty()).then(|| LatencyView {
                p50_ms: percentile(&latencies, 0.50),
                p95_ms: percentile(&latencies, 0.95),
                p99_ms: percentile(&latencies, 0.99),
            }),
            rate_budget: RateBudgetView {
                rpm_limit: d.rpm,
                tpm_limit: d.tpm,
                rpm_wait_ms: wait_ms(&state, &format!("{name}:rpm"), d.rpm).await,
                tpm_wait_ms: wait_ms(&state, &format!("{name}:tpm"), d.tpm).await,
            },
            fleet_open_until: fleet_open_until(&state, &name).await,
            kind: d.kind.as_str().to_owned(),
            model: d.model,
            name,
        });
    }
    Ok(web::Json(ProvidersView { deployments }))
}

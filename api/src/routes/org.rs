//! `/api/v1/org`: the organization's settings: its name, its own rate limits (instead of the
//! deployment's defaults), and its quotas and budgets. Admins only.

use actix_web::{HttpResponse, get, patch, web};
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde::{Deserialize, Deserializer, Serialize};

use bacowr_shared::{entities::organization, ids::OrgId};

use crate::{
    auth::{Admin, Authorized},
    error::{ApiError, ErrorBody},
    state::AppState,
};

/// `null` clears a setting (back to the default, or no limit); an absent field is unchanged.
fn present<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"rate_per_minute": 600, "spend_per_month_usd": 250.0, "jobs_per_month": null}))]
pub struct UpdateOrg {
    /// 1-200 characters.
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    /// Requests per minute per caller, 1-1,000,000; `null`: the deployment default.
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 1_000_000)]
    pub rate_per_minute: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    /// Requests per minute for the whole organization, 1-1,000,000; `null`: the default.
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 1_000_000)]
    pub org_rate_per_minute: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    /// Submissions, retries and regenerations per minute per caller, 1-100,000; `null`: the default.
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 100_000)]
    pub expensive_per_minute: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    /// Jobs per calendar month, 1-1,000,000,000; `null`: no limit.
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 1_000_000_000)]
    pub jobs_per_month: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    /// Provider tokens per calendar month, at least 1; `null`: no limit.
    #[schema(value_type = Option<i64>, minimum = 1)]
    pub tokens_per_month: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    /// US dollars per UTC day, above 0 and at most 10,000,000; `null`: no budget.
    #[schema(value_type = Option<f64>, exclusive_minimum = 0, maximum = 10_000_000)]
    pub spend_per_day_usd: Option<Option<f64>>,
    #[serde(default, deserialize_with = "present")]
    /// US dollars per calendar month, above 0 and at most 10,000,000; `null`: no budget.
    #[schema(value_type = Option<f64>, exclusive_minimum = 0, maximum = 10_000_000)]
    pub spend_per_month_usd: Option<Option<f64>>,
    #[serde(default, deserialize_with = "present")]
    /// US dollars per job, above 0 and at most 10,000,000; `null`: no cap.
    #[schema(value_type = Option<f64>, exclusive_minimum = 0, maximum = 10_000_000)]
    pub spend_per_job_usd: Option<Option<f64>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OrgView {
    pub id: OrgId,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub rate_limits: RateLimitsView,
    pub quotas: QuotasView,
    /// Each quota and budget the organization has, with what is used and left in the current
    /// period; `null` when it has none.
    pub quota_usage: Option<crate::services::quota::QuotaReport>,
}

/// Requests per minute; `own` is the organization's setting (`null`: the default applies).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RateLimitsView {
    pub rate_per_minute: Option<i64>,
    pub org_rate_per_minute: Option<i64>,
    pub expensive_per_minute: Option<i64>,
    pub effective_rate_per_minute: u32,
    pub effective_org_rate_per_minute: u32,
    pub effective_expensive_per_minute: u32,
}

/// `null`: no limit.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct QuotasView {
    pub jobs_per_month: Option<i64>,
    pub tokens_per_month: Option<i64>,
    pub spend_per_day_usd: Option<f64>,
    pub spend_per_month_usd: Option<f64>,
    pub spend_per_job_usd: Option<f64>,
}

fn usd(micros: Option<i64>) -> Option<f64> {
    micros.map(|m| m as f64 / 1_000_000.0)
}

async fn load(state: &AppState, org: OrgId) -> Result<OrgView, ApiError> {
    let o = organization::Entity::find_by_id(org.uuid())
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::internal("caller's organization is gone"))?;
    let eff = state
        .org_limits
        .get(&state.db, &state.settings.rate_limit, org)
        .await?;
    Ok(OrgView {
        id: org,
        name: o.name,
        created_at: o.created_at,
        rate_limits: RateLimitsView {
            rate_per_minute: o.rate_per_minute,
            org_rate_per_minute: o.org_rate_per_minute,
            expensive_per_minute: o.expensive_per_minute,
            effective_rate_per_minute: eff.per_caller,
            effective_org_rate_per_minute: eff.per_org,
            effective_expensive_per_minute: eff.expensive,
        },
        quotas: QuotasView {
            jobs_per_month: o.quota_jobs_per_month,
            tokens_per_month: o.quota_tokens_per_month,
            spend_per_day_usd: usd(o.budget_day_micros),
            spend_per_month_usd: usd(o.budget_month_micros),
            spend_per_job_usd: usd(o.budget_job_micros),
        },
        quota_usage: crate::services::quota::report(
            &state.db,
            org,
            &bacowr_shared::quota::check::Demand {
                jobs: 0,
                tokens: 0,
                cost_micros: 0,
                job_cost_micros: 0,
            },
        )
        .await?,
    })
}

#[utoipa::path(
    get,
    path = "/api/v1/org",
    operation_id = "get_organization",
    summary = "The organization's settings: name, rate limits, quotas and budgets, with their usage",
    tag = "organization",
    responses((status = 200, description = "the organization's settings", body = OrgView))
)]
#[get("/org")]
pub async fn get_org(
    caller: Authorized<Admin>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(load(&state, caller.org_id).await?))
}

fn count(field: &str, v: Option<Option<i64>>, max: i64) -> Result<Option<Option<i64>>, ApiError> {
    match v {
        Some(Some(n)) if !(1..=max).contains(&n) => Err(ApiError::bad_request(
            field,
            format!("must be null or from 1 to {max}"),
        )),
        other => Ok(other),
    }
}

fn money(field: &str, v: Option<Option<f64>>) -> Result<Option<Option<i64>>, ApiError> {
    match v {
        Some(Some(x)) if !(x.is_finite() && x > 0.0 && x <= 10_000_000.0) => {
            Err(ApiError::bad_request(
                field,
                "must be null or a dollar amount above 0 and at most 10,000,000",
            ))
        }
        Some(Some(x)) => Ok(Some(Some((x * 1_000_000.0).round() as i64))),
        Some(None) => Ok(Some(None)),
        None => Ok(None),
    }
}

/// Change the name, rate limits, quotas or budgets. `null` clears a setting.
#[utoipa::path(
    patch,
    path = "/api/v1/org",
    operation_id = "update_organization",
    tag = "organization",
    request_body = UpdateOrg,
    responses(
        (status = 200, description = "the settings as they are now", body = OrgView),
        (status = 400, description = "malformed body, or a value out of range; `field` names it", body = ErrorBody),
    )
)]
#[patch("/org")]
pub async fn update_org(
    caller: Authorized<Admin>,
    state: web::Data<AppState>,
    body: crate::intake::strict::StrictJson<UpdateOrg>,
) -> Result<HttpResponse, ApiError> {
    use organization::Column as C;
    let b = body.into_inner();
    let mut update = organization::Entity::update_many().filter(C::Id.eq(caller.org_id.uuid()));
    let mut changed = false;
    if let Some(name) = b.name {
        let name = name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(ApiError::bad_request("name", "must be 1-200 characters"));
        }
        update = update.col_expr(C::Name, Expr::value(name));
        changed = true;
    }
    let counts = [
        (
            C::RatePerMinute,
            count("rate_per_minute", b.rate_per_minute, 1_000_000)?,
        ),
        (
            C::OrgRatePerMinute,
            count("org_rate_per_minute", b.org_rate_per_minute, 1_000_000)?,
        ),
        (
            C::ExpensivePerMinute,
            count("expensive_per_minute", b.expensive_per_minute, 100_000)?,
        ),
        (
            C::QuotaJobsPerMonth,
            count("jobs_per_month", b.jobs_per_month, 1_000_000_000)?,
        ),
        (
            C::QuotaTokensPerMonth,
            count("tokens_per_month", b.tokens_per_month, i64::MAX)?,
        ),
        (
            C::BudgetDayMicros,
            money("spend_per_day_usd", b.spend_per_day_usd)?,
        ),
        (
            C::BudgetMonthMicros,
            money("spend_per_month_usd", b.spend_per_month_usd)?,
        ),
        (
            C::BudgetJobMicros,
            money("spend_per_job_usd", b.spend_per_job_usd)?,
        ),
    ];
    for (col, value) in counts {
        if let Some(v) = value {
            update = update.col_expr(col, Expr::value(v));
            changed = true;
        }
    }
    if changed {
        update.exec(&state.db).await?;
    }
    state.org_limits.forget(caller.org_id);
    Ok(HttpResponse::Ok().json(load(&state, caller.org_id).await?))
}

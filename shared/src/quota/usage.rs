//! An organization's limits (read and written on its row) and its usage in the current UTC
//! day and month: one indexed aggregate over `llm_calls (org_id, created_at)`, its live
//! reservations, and, when asked, its jobs created this month (`jobs (org_id, created_at)`).

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, FromQueryResult, QueryFilter,
    Statement, sea_query::Expr,
};
use uuid::Uuid;

use super::{Limits, Metric, period_starts};
use crate::entities::organization;

/// The organization's limits; `None` if there is no such organization.
pub async fn limits(db: &impl ConnectionTrait, org_id: Uuid) -> Result<Option<Limits>, DbErr> {
    Ok(organization::Entity::find_by_id(org_id)
        .one(db)
        .await?
        .map(|org| Limits::of(&org)))
}

/// Replaces the organization's limits (`None` fields: no limit). Returns whether the
/// organization exists. Check [`Limits::invalid_field`] first.
pub async fn set_limits(
    db: &impl ConnectionTrait,
    org_id: Uuid,
    limits: &Limits,
) -> Result<bool, DbErr> {
    use organization::Column as C;
    let updated = organization::Entity::update_many()
        .col_expr(
            C::QuotaJobsPerMonth,
            Expr::value(limits.quota_jobs_per_month),
        )
        .col_expr(
            C::QuotaTokensPerMonth,
            Expr::value(limits.quota_tokens_per_month),
        )
        .col_expr(C::BudgetDayMicros, Expr::value(limits.budget_day_micros))
        .col_expr(
            C::BudgetMonthMicros,
            Expr::value(limits.budget_month_micros),
        )
        .col_expr(C::BudgetJobMicros, Expr::value(limits.budget_job_micros))
        .filter(C::Id.eq(org_id))
        .exec(db)
        .await?
        .rows_affected;
    Ok(updated == 1)
}

/// Which figures count as used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counting {
    /// What `llm_calls` records: the figures analytics show. Alerts use these.
    Recorded,
    /// Plus calls that answered but whose job has not finished: their real cost.
    Spent,
    /// Plus calls still in flight, at the most they can cost. Submissions and the worker's
    /// reservations are checked against these.
    Committed,
}

/// Usage of one organization (and optionally one job) at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromQueryResult)]
pub struct Usage {
    /// Jobs created this month (0 unless asked for).
    pub jobs_month: i64,
    /// Recorded in `llm_calls`: tokens in + out this month, spend today and this month.
    pub tokens_month: i64,
    pub spend_day: i64,
    pub spend_month: i64,
    /// The job's recorded cost, all attempts (`jobs.cost_micros`).
    pub job_spend: i64,
    /// Live reservations of answered calls (real cost) and of calls in flight (upper bound),
    /// organization-wide and of the job alone.
    pub settled_cost: i64,
    pub settled_tokens: i64,
    pub pending_cost: i64,
    pub pending_tokens: i64,
    pub job_settled_cost: i64,
    pub job_pending_cost: i64,
}

impl Usage {
    /// Used so far of `metric`. Unrecorded calls count toward today and this month: they will
    /// be recorded no earlier than now.
    pub fn used(&self, metric: Metric, counting: Counting) -> i64 {
        let (cost, tokens, job) = match counting {
            Counting::Recorded => (0, 0, 0),
            Counting::Spent => (
                self.settled_cost,
                self.settled_tokens,
                self.job_settled_cost,
            ),
            Counting::Committed => (
                self.settled_cost + self.pending_cost,
                self.settled_tokens + self.pending_tokens,
                self.job_settled_cost + self.job_pending_cost,
            ),
        };
        match metric {
            Metric::JobsPerMonth => self.jobs_month,
            Metric::TokensPerMonth => self.tokens_month + tokens,
            Metric::SpendPerDay => self.spend_day + cost,
            Metric::SpendPerMonth => self.spend_month + cost,
            Metric::SpendPerJob => self.job_spend + job,
        }
    }
}

/// A reservation counts until its `expires_at`, and an unsettled one only while the attempt
/// that made it is the job's running one: a crashed worker's call in flight stops counting when
/// its job is reclaimed or released, while calls it was billed for keep counting until expiry.
const USAGE: &str = r#"
WITH recorded AS (
    SELECT COALESCE(SUM(cost_micros) FILTER (WHERE created_at >= $3), 0)::bigint AS spend_day,
           COALESCE(SUM(cost_micros), 0)::bigint AS spend_month,
           COALESCE(SUM(tokens_in + tokens_out), 0)::bigint AS tokens_month
    FROM llm_calls
    WHERE org_id = $1 AND created_at >= $2
), held AS (
    SELECT COALESCE(SUM(r.cost_micros) FILTER (WHERE r.settled), 0)::bigint AS settled_cost,
           COALESCE(SUM(r.tokens) FILTER (WHERE r.settled), 0)::bigint AS settled_tokens,
           COALESCE(SUM(r.cost_micros) FILTER (WHERE NOT r.settled), 0)::bigint AS pending_cost,
           COALESCE(SUM(r.tokens) FILTER (WHERE NOT r.settled), 0)::bigint AS pending_tokens,
           COALESCE(SUM(r.cost_micros) FILTER (WHERE r.settled AND r.job_id = $4), 0)::bigint
               AS job_settled_cost,
           COALESCE(SUM(r.cost_micros) FILTER (WHERE NOT r.settled AND r.job_id = $4), 0)::bigint
               AS job_pending_cost
    FROM budget_reservations r
    LEFT JOIN jobs j ON j.id = r.job_id
    WHERE r.org_id = $1 AND r.expires_at > $5
      AND (r.settled OR (j.status = 'running' AND j.attempts = r.attempt))
)
SELECT recorded.*, held.*,
       COALESCE((SELECT cost_micros FROM jobs WHERE id = $4), 0)::bigint AS job_spend,
       {JOBS}::bigint AS jobs_month
FROM recorded, held
"#;

const JOBS_MONTH: &str = "(SELECT COUNT(*) FROM jobs WHERE org_id = $1 AND created_at >= $2)";

/// [`USAGE`] for SQLite (the embedded build, #8): the same aggregates (`FILTER` is SQLite's too),
/// integers without casts, numbered `?` parameters. Timestamps are RFC 3339 text in UTC there,
/// which compares like the instants it names; `settled` is 0 or 1.
const SQLITE_USAGE: &str = r#"
WITH recorded AS (
    SELECT COALESCE(SUM(cost_micros) FILTER (WHERE created_at >= ?3), 0) AS spend_day,
           COALESCE(SUM(cost_micros), 0) AS spend_month,
           COALESCE(SUM(tokens_in + tokens_out), 0) AS tokens_month
    FROM llm_calls
    WHERE org_id = ?1 AND created_at >= ?2
), held AS (
    SELECT COALESCE(SUM(r.cost_micros) FILTER (WHERE r.settled), 0) AS settled_cost,
           COALESCE(SUM(r.tokens) FILTER (WHERE r.settled), 0) AS settled_tokens,
           COALESCE(SUM(r.cost_micros) FILTER (WHERE NOT r.settled), 0) AS pending_cost,
           COALESCE(SUM(r.tokens) FILTER (WHERE NOT r.settled), 0) AS pending_tokens,
           COALESCE(SUM(r.cost_micros) FILTER (WHERE r.settled AND r.job_id = ?4), 0)
               AS job_settled_cost,
           COALESCE(SUM(r.cost_micros) FILTER (WHERE NOT r.settled AND r.job_id = ?4), 0)
               AS job_pending_cost
    FROM budget_reservations r
    LEFT JOIN jobs j ON j.id = r.job_id
    WHERE r.org_id = ?1 AND r.expires_at > ?5
      AND (r.settled OR (j.status = 'running' AND j.attempts = r.attempt))
)
SELECT recorded.*, held.*,
       COALESCE((SELECT cost_micros FROM jobs WHERE id = ?4), 0) AS job_spend,
       {JOBS} AS jobs_month
FROM recorded, held
"#;

const SQLITE_JOBS_MONTH: &str =
    "(SELECT COUNT(*) FROM jobs WHERE org_id = ?1 AND created_at >= ?2)";

/// Usage of `org_id` at `now`, with `job_id`'s own spend if given, and the jobs created this
/// month if `with_jobs` (a count the worker never needs).
pub async fn usage(
    db: &impl ConnectionTrait,
    org_id: Uuid,
    job_id: Option<Uuid>,
    with_jobs: bool,
    now: DateTime<Utc>,
) -> Result<Usage, DbErr> {
    let (day, month) = period_starts(now);
    let backend = db.get_database_backend();
    let (usage, jobs_month) = match backend {
        DbBackend::Sqlite => (SQLITE_USAGE, SQLITE_JOBS_MONTH),
        _ => (USAGE, JOBS_MONTH),
    };
    let sql = usage.replace("{JOBS}", if with_jobs { jobs_month } else { "0" });
    let found = Usage::find_by_statement(Statement::from_sql_and_values(
        backend,
        sql,
        [
            org_id.into(),
            month.into(),
            day.into(),
            job_id.into(),
            now.into(),
        ],
    ))
    .one(db)
    .await?;
    Ok(found.unwrap_or_default())
}

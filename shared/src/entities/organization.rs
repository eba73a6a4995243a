use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "organizations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    pub created_at: DateTimeUtc,
    /// Jobs of this organization running at once across the fleet; `None`: the configured default.
    pub max_running: Option<i32>,
    /// Requests per minute per API key or user; `None`: the configured default.
    pub rate_per_minute: Option<i64>,
    /// Requests per minute for the whole organization; `None`: the configured default.
    pub org_rate_per_minute: Option<i64>,
    /// Batch submissions and regenerations per minute per caller; `None`: the default.
    pub expensive_per_minute: Option<i64>,
    /// Quotas and budgets; `None`: no limit. Money in micro-dollars.
    pub quota_jobs_per_month: Option<i64>,
    pub quota_tokens_per_month: Option<i64>,
    pub budget_day_micros: Option<i64>,
    pub budget_month_micros: Option<i64>,
    pub budget_job_micros: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

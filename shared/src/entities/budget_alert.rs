use sea_orm::entity::prelude::*;

/// An 80% warning already sent for (organization, metric, period).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "budget_alerts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub org_id: Uuid,
    /// `jobs_per_month`, `tokens_per_month`, `spend_per_day`, `spend_per_month`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub metric: String,
    /// `2026-11` for monthly metrics, `2026-11-30` for daily ones (UTC).
    #[sea_orm(primary_key, auto_increment = false)]
    pub period: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

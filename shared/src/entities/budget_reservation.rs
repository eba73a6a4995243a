use sea_orm::entity::prelude::*;

/// What one provider call may cost (before it answers) or did cost (after), held against the
/// organization's budgets until the call is in `llm_calls`. See `quota::reserve`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "budget_reservations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub job_id: Uuid,
    pub attempt: i32,
    pub cost_micros: i64,
    /// Tokens in and out.
    pub tokens: i64,
    /// The call answered and the figures are its real cost (else its upper bound).
    pub settled: bool,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

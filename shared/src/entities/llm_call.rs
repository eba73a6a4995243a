use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "llm_calls")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub job_id: Uuid,
    pub batch_id: Option<Uuid>,
    /// The job attempt this call belongs to, and its order within the attempt.
    pub attempt: i32,
    pub seq: i32,
    pub provider: String,
    pub model: String,
    /// `ok` or the error class: `rate_limited`, `truncated`, `unparseable`, … .
    pub outcome: String,
    pub http_status: Option<i32>,
    pub tokens_in: i64,
    pub tokens_out: i64,
    pub cost_micros: i64,
    pub latency_ms: i64,
    pub error: Option<String>,
    pub created_at: DateTimeUtc,
    /// Of `tokens_in`, those the provider served from its prompt cache (priced lower).
    pub tokens_cached: i64,
    /// The provider's retry hint on a failed call, in milliseconds.
    pub retry_after_ms: Option<i64>,
    /// Of `tokens_out`, the model's reasoning or thinking.
    pub tokens_reasoning: i64,
    /// Of `tokens_in`, those written to the prompt cache.
    pub tokens_cache_write: i64,
    /// `draft` or `regeneration`.
    pub purpose: Option<String>,
    /// For a regeneration: the failed checks it was for, comma-separated.
    pub regenerated_for: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

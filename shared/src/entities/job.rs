use sea_orm::entity::prelude::*;

use crate::domain::JobStatus;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "jobs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub batch_id: Option<Uuid>,
    /// Position in the submitted batch (0-based), so results line up with the agency's sheet.
    pub row_index: i32,
    pub publisher_domain: String,
    pub target_url: String,
    pub anchor_text: String,
    pub language: Option<String>,
    pub status: JobStatus,
    pub attempts: i32,
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<DateTimeUtc>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub tokens_in: i64,
    pub tokens_out: i64,
    pub cost_micros: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub started_at: Option<DateTimeUtc>,
    pub finished_at: Option<DateTimeUtc>,
    /// When the dispatcher last pushed this queued job to Redis; `None`: not in Redis.
    pub dispatched_at: Option<DateTimeUtc>,
    /// Pushes so far; the current task id is `{id}.{dispatches}` (see `queue::task_id`).
    pub dispatches: i32,
    /// A retry waits until then before it is dispatched again.
    pub not_before: Option<DateTimeUtc>,
    /// W3C trace context of the request that created (or retried) the job.
    pub traceparent: Option<String>,
    /// Set while the job runs a regeneration a reviewer asked for: their notes, or empty when
    /// they wrote none. Cleared when the item is back under review.
    #[sea_orm(column_type = "Text", nullable)]
    pub review_feedback: Option<String>,
    /// `attempts` when the current round (first run, retry or regeneration) began: reclaims
    /// are bounded by `attempts - attempt_floor`, and attempts never go back.
    pub attempt_floor: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

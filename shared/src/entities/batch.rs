use sea_orm::entity::prelude::*;

use crate::domain::BatchStatus;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "batches")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub name: Option<String>,
    pub status: BatchStatus,
    pub total_jobs: i32,
    // Counters per job status, kept in step with the jobs in the same transactions that
    // move a job, so progress is one row read.
    pub queued_jobs: i32,
    pub running_jobs: i32,
    pub succeeded_jobs: i32,
    pub needs_review_jobs: i32,
    pub failed_jobs: i32,
    pub cancelled_jobs: i32,
    pub tokens_in: i64,
    pub tokens_out: i64,
    /// Cost in millionths of a US dollar: integers add up exactly and port to SQLite.
    pub cost_micros: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

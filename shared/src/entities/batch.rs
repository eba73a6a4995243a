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
    pub qc_profile: String,
    /// The profile with the batch's overrides applied (`bacowr_shared::qc::QcThresholds`).
    #[sea_orm(column_type = "Json", nullable)]
    pub qc_thresholds: Option<Json>,
    /// Language for links whose own, publisher TLD and target page say nothing.
    pub default_language: Option<String>,
    /// Jobs whose first draft passed QC without autofix or regeneration.
    pub first_try_passed_jobs: i32,
    /// The deployments this batch may use, in order (a chain, or one pinned); `None`: all.
    #[sea_orm(column_type = "Json", nullable)]
    pub provider_chain: Option<Json>,
    pub cancelled_at: Option<DateTimeUtc>,
    // Review counters per item status, moved in the same transactions as the items.
    pub pending_items: i32,
    pub approved_items: i32,
    pub rejected_items: i32,
    pub regenerating_items: i32,
    /// When review finished: nothing pending, nothing regenerating.
    pub completed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// A freshly submitted batch: every job queued, nothing spent.
    pub fn new_queued(
        id: Uuid,
        org_id: Uuid,
        name: Option<String>,
        total_jobs: i32,
        now: DateTimeUtc,
    ) -> Self {
        let (qc_profile, thresholds) =
            crate::qc::resolve(None, None).expect("the default profile resolves");
        Self {
            id,
            org_id,
            name,
            status: BatchStatus::Queued,
            total_jobs,
            queued_jobs: total_jobs,
            running_jobs: 0,
            succeeded_jobs: 0,
            needs_review_jobs: 0,
            failed_jobs: 0,
            cancelled_jobs: 0,
            tokens_in: 0,
            tokens_out: 0,
            cost_micros: 0,
            created_at: now,
            updated_at: now,
            finished_at: None,
            qc_thresholds: serde_json::to_value(thresholds).ok(),
            qc_profile,
            default_language: None,
            first_try_passed_jobs: 0,
            provider_chain: None,
            cancelled_at: None,
            pending_items: 0,
            approved_items: 0,
            rejected_items: 0,
            regenerating_items: 0,
            completed_at: None,
        }
    }
}

/// `n` of the batch's jobs moved from one counted status to another, in the caller's
/// transaction (after it has locked the jobs: the lock order every writer keeps).
pub async fn move_counts(
    conn: &impl ConnectionTrait,
    batch_id: Uuid,
    from: Column,
    to: Column,
    n: i32,
    now: DateTimeUtc,
) -> Result<(), DbErr> {
    use sea_orm::sea_query::{Expr, ExprTrait};
    if n == 0 {
        return Ok(());
    }
    Entity::update_many()
        .col_expr(from, Expr::col(from).sub(n))
        .col_expr(to, Expr::col(to).add(n))
        .col_expr(Column::UpdatedAt, Expr::value(now))
        .filter(Column::Id.eq(batch_id))
        .exec(conn)
        .await?;
    Ok(())
}

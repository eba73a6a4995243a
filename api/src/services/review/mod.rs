//! Review decisions: one transaction per request, whether it decides one item or
//! a whole batch's passing ones. The batch row is locked first, then the items in id order,
//! then their jobs: reviewers of one batch queue behind each other, so counters always equal
//! the items, and two reviewers can't both decide one item.

mod regenerate;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, DatabaseTransaction, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
    sea_query::{Expr, ExprTrait},
};
use uuid::Uuid;

use bacowr_shared::{
    domain::{BatchStatus, ReviewDecision, ReviewStatus},
    entities::{batch, review_decision, review_item},
    events::LiveEvent,
    ids::{BatchId, JobId, OrgId, ReviewDecisionId, ReviewItemId},
};

use crate::{auth::Caller, error::ApiError, state::AppState};

/// Which items a decision applies to.
pub enum Selection {
    /// These items; each must belong to the batch.
    Items(Vec<ReviewItemId>),
    /// Every pending item whose current version passed QC.
    AllPassingQc,
}

pub struct Decided {
    pub decision: ReviewDecision,
    pub applied: Vec<review_item::Model>,
    /// Items the decision could not be taken on, with the state they are in.
    pub refused: Vec<(ReviewItemId, ReviewStatus)>,
    pub batch: batch::Model,
    /// The batch finished its review with this request.
    pub completed: bool,
}

pub struct Request<'a> {
    pub batch_id: BatchId,
    pub selection: Selection,
    pub decision: ReviewDecision,
    pub notes: Option<&'a str>,
}

/// Applies a decision. Unknown item ids answer 404 (nothing is changed); items in a state the
/// decision can't be taken from are listed in `refused`.
pub async fn decide(
    state: &AppState,
    tenant: &Caller,
    req: Request<'_>,
) -> Result<Decided, ApiError> {
    let now = Utc::now();
    let org_id = tenant.org_id;
    let reviewer = tenant.label();
    let txn = state.db.begin().await?;
    let batch = lock_batch(&txn, org_id, req.batch_id).await?;
    if req.decision == ReviewDecision::NeedsRegeneration
        && matches!(
            batch.status,
            BatchStatus::Queued | BatchStatus::Running | BatchStatus::Cancelled
        )
    {
        return Err(ApiError::conflict(
            "status",
            format!(
                "the batch is {}; regenerations are asked for once it has finished generating",
                status_name(batch.status)
            ),
        ));
    }
    let items = lock_items(&txn, org_id, &batch, &req.selection).await?;

    let mut applied = Vec::new();
    let mut refused = Vec::new();
    for item in items {
        match req.decision.apply(item.status) {
            Ok(_) => applied.push(item),
            Err(_) => refused.push((ReviewItemId::from_uuid(item.id), item.status)),
        }
    }
    let target = req.decision.target();
    for from in req.decision.allowed_from() {
        let ids: Vec<Uuid> = applied
            .iter()
            .filter(|i| i.status == *from)
            .map(|i| i.id)
            .collect();
        if ids.is_empty() {
            continue;
        }
        move_items(&txn, &ids, target, &req, &reviewer, now).await?;
        batch::move_counts(
            &txn,
            batch.id,
            counter(*from),
            counter(target),
            i32::try_from(ids.len()).unwrap_or(i32::MAX),
            now,
        )
        .await?;
    }
    record_decisions(&txn, &applied, &req, &reviewer, now).await?;
    if req.decision == ReviewDecision::NeedsRegeneration && !applied.is_empty() {
        regenerate::requeue_jobs(&txn, &batch, &applied, req.notes, now).await?;
    }
    let completed = if applied.is_empty() {
        false
    } else {
        advance_batch(&txn, batch.id, now).await?
    };
    if completed {
        bacowr_shared::webhooks::batch_events::review_completed(&txn, batch.id, now).await?;
    }
    let before = batch.status;
    let changes: Vec<_> = applied
        .iter()
        .map(|i| (i.id, i.job_id, i.status, i.article_version))
        .collect();
    let batch = batch::Entity::find_by_id(batch.id)
        .one(&txn)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("batch just locked".into()))?;
    let applied_ids: Vec<Uuid> = applied.iter().map(|i| i.id).collect();
    let applied = review_item::Entity::find()
        .filter(review_item::Column::Id.is_in(applied_ids))
        .order_by_asc(review_item::Column::RowIndex)
        .all(&txn)
        .await?;
    txn.commit().await?;
    announce(state, org_id, &batch, before, &changes, req.decision).await;
    if req.decision == ReviewDecision::NeedsRegeneration && !applied.is_empty() {
        crate::services::enqueue::wake_dispatcher(
            &state.backplane,
            &state.settings.redis.namespace,
        )
        .await;
    }
    Ok(Decided {
        decision: req.decision,
        applied,
        refused,
        batch,
        completed,
    })
}

/// `review.changed` per decided item, and `batch.status` when the batch moved.
async fn announce(
    state: &AppState,
    org_id: OrgId,
    batch: &batch::Model,
    before: BatchStatus,
    changes: &[(Uuid, Uuid, ReviewStatus, i32)],
    decision: ReviewDecision,
) {
    let batch_id = BatchId::from_uuid(batch.id);
    let mut events: Vec<LiveEvent> = changes
        .iter()
        .map(|(item, job, from, version)| {
            LiveEvent::review_changed(
                org_id,
                Some(batch_id),
                JobId::from_uuid(*job),
                ReviewItemId::from_uuid(*item),
                from.as_str(),
                decision.target().as_str(),
                decision.as_str(),
                *version,
            )
        })
        .collect();
    if batch.status != before {
        events.push(LiveEvent::batch_status(org_id, batch_id, batch.status));
    }
    state.events.publish_many(&events).await;
}

pub use crate::services::control::state_name as status_name;

fn counter(status: ReviewStatus) -> batch::Column {
    match status {
        ReviewStatus::Pending => batch::Column::PendingItems,
        ReviewStatus::Approved => batch::Column::ApprovedItems,
        ReviewStatus::Rejected => batch::Column::RejectedItems,
        ReviewStatus::Regenerating => batch::Column::RegeneratingItems,
    }
}

async fn lock_batch(
    txn: &DatabaseTransaction,
    org_id: OrgId,
    id: BatchId,
) -> Result<batch::Model, ApiError> {
    batch::Entity::find_by_id(id.uuid())
        .filter(batch::Column::OrgId.eq(org_id.uuid()))
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or_else(|| ApiError::not_found("batch", &id.to_string()))
}

async fn lock_items(
    txn: &DatabaseTransaction,
    org_id: OrgId,
    batch: &batch::Model,
    selection: &Selection,
) -> Result<Vec<review_item::Model>, ApiError> {
    let mut select = review_item::Entity::find()
        .filter(review_item::Column::OrgId.eq(org_id.uuid()))
        .filter(review_item::Column::BatchId.eq(batch.id));
    select = match selection {
        Selection::Items(ids) => select.filter(
            review_item::Column::Id.is_in(ids.iter().map(ReviewItemId::uuid).collect::<Vec<_>>()),
        ),
        Selection::AllPassingQc => select
            .filter(review_item::Column::Status.eq(ReviewStatus::Pending))
            .filter(review_item::Column::QcPassed.eq(true)),
    };
    let items = select
        .order_by_asc(review_item::Column::Id)
        .lock_exclusive()
        .all(txn)
        .await?;
    if let Selection::Items(ids) = selection
        && let Some(missing) = ids
            .iter()
            .find(|id| !items.iter().any(|i| i.id == id.uuid()))
    {
        return Err(ApiError::not_found("review item", &missing.to_string()));
    }
    Ok(items)
}

async fn move_items(
    txn: &DatabaseTransaction,
    ids: &[Uuid],
    target: ReviewStatus,
    req: &Request<'_>,
    reviewer: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let mut update = review_item::Entity::update_many()
        .col_expr(review_item::Column::Status, Expr::value(target))
        .col_expr(
            review_item::Column::Notes,
            Expr::value(req.notes.map(str::to_owned)),
        )
        .col_expr(review_item::Column::Reviewer, Expr::value(reviewer))
        .col_expr(review_item::Column::ReviewedAt, Expr::value(now))
        .col_expr(review_item::Column::UpdatedAt, Expr::value(now));
    if target == ReviewStatus::Regenerating {
        update = update.col_expr(
            review_item::Column::Regenerations,
            Expr::col(review_item::Column::Regenerations).add(1),
        );
    }
    update
        .filter(review_item::Column::Id.is_in(ids.to_vec()))
        .exec(txn)
        .await?;
    Ok(())
}

async fn record_decisions(
    txn: &DatabaseTransaction,
    applied: &[review_item::Model],
    req: &Request<'_>,
    reviewer: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    if applied.is_empty() {
        return Ok(());
    }
    let rows = applied.iter().map(|item| review_decision::ActiveModel {
        id: Set(ReviewDecisionId::new().uuid()),
        item_id: Set(item.id),
        org_id: Set(item.org_id),
        decision: Set(req.decision.as_str().to_owned()),
        from_status: Set(item.status),
        to_status: Set(req.decision.target()),
        article_version: Set(item.article_version),
        notes: Set(req.notes.map(str::to_owned)),
        reviewer: Set(Some(reviewer.to_owned())),
        created_at: Set(now),
    });
    review_decision::Entity::insert_many(rows)
        .exec_without_returning(txn)
        .await?;
    Ok(())
}

/// `ready_for_review → in_review` on the first decision; `in_review → completed` once nothing
/// is pending, regenerating, queued or running (and a completed batch reopens when a
/// rejected item is sent back for regeneration). Returns whether the batch completed now.
async fn advance_batch(
    txn: &DatabaseTransaction,
    batch_id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    batch::Entity::update_many()
        .col_expr(batch::Column::Status, Expr::value(BatchStatus::InReview))
        .col_expr(
            batch::Column::CompletedAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(batch::Column::Id.eq(batch_id))
        .filter(batch::Column::Status.is_in([BatchStatus::ReadyForReview, BatchStatus::Completed]))
        .exec(txn)
        .await?;
    let completed = batch::Entity::update_many()
        .col_expr(batch::Column::Status, Expr::value(BatchStatus::Completed))
        .col_expr(batch::Column::CompletedAt, Expr::value(now))
        .col_expr(batch::Column::UpdatedAt, Expr::value(now))
        .filter(batch::Column::Id.eq(batch_id))
        .filter(batch::Column::Status.eq(BatchStatus::InReview))
        .filter(batch::Column::PendingItems.eq(0))
        .filter(batch::Column::RegeneratingItems.eq(0))
        .filter(batch::Column::QueuedJobs.eq(0))
        .filter(batch::Column::RunningJobs.eq(0))
        .exec(txn)
        .await?
        .rows_affected;
    Ok(completed == 1)
}

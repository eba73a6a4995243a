//! The review item a stored article creates or refreshes, in the outcome's transaction: a
//! first article opens a `pending` item; a regeneration a reviewer asked for brings its item
//! back to `pending` with the new version; a regeneration that produced nothing leaves the
//! previous version under review.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, DatabaseTransaction, DbErr, EntityTrait, QueryFilter,
    sea_query::{Expr, ExprTrait},
};
use uuid::Uuid;

use bacowr_shared::{
    domain::ReviewStatus,
    entities::{batch, job, review_decision, review_item},
    ids::{ReviewDecisionId, ReviewItemId},
};

/// An item a regeneration brought back to pending, for the live event announcing it.
#[derive(Debug, Clone, Copy)]
pub struct ReviewBack {
    pub item_id: Uuid,
    pub version: i32,
    /// `regenerated` or `regeneration_failed`.
    pub decision: &'static str,
}

/// The article version just written for a job.
pub struct StoredVersion<'a> {
    pub article_id: Uuid,
    pub version: i32,
    pub qc_passed: bool,
    pub qc_report: &'a serde_json::Value,
}

/// The job's review item, if it has one.
pub async fn find(
    txn: &DatabaseTransaction,
    job_id: Uuid,
) -> Result<Option<review_item::Model>, DbErr> {
    review_item::Entity::find()
        .filter(review_item::Column::JobId.eq(job_id))
        .one(txn)
        .await
}

/// Failed checks in a stored QC report (`{"checks": [{"passed": bool, ..}]}`).
pub fn failed_checks(report: &serde_json::Value) -> i32 {
    report
        .get("checks")
        .and_then(|c| c.as_array())
        .map(|checks| {
            checks
                .iter()
                .filter(|c| c.get("passed").and_then(|p| p.as_bool()) == Some(false))
                .count()
        })
        .map_or(0, |n| i32::try_from(n).unwrap_or(i32::MAX))
}

/// Opens the job's item for its first article, or brings a regenerating item back to
/// pending with the new version.
pub async fn article_stored(
    txn: &DatabaseTransaction,
    job: &job::Model,
    existing: Option<review_item::Model>,
    stored: StoredVersion<'_>,
    now: DateTime<Utc>,
) -> Result<Option<ReviewBack>, DbErr> {
    let failed = failed_checks(stored.qc_report);
    match existing {
        None => {
            let written = review_item::Entity::insert(review_item::ActiveModel {
                id: Set(ReviewItemId::new().uuid()),
                org_id: Set(job.org_id),
                batch_id: Set(job.batch_id),
                job_id: Set(job.id),
                row_index: Set(job.row_index),
                article_id: Set(stored.article_id),
                article_version: Set(stored.version),
                status: Set(ReviewStatus::Pending),
                qc_passed: Set(stored.qc_passed),
                qc_failed_checks: Set(failed),
                qc_report: Set(Some(stored.qc_report.clone())),
                notes: Set(None),
                reviewer: Set(None),
                reviewed_at: Set(None),
                regenerations: Set(0),
                created_at: Set(now),
                updated_at: Set(now),
            })
            .on_conflict_do_nothing_on([review_item::Column::JobId])
            .exec_without_returning(txn)
            .await?;
            let inserted = matches!(written, sea_orm::TryInsertResult::Inserted(n) if n > 0);
            if let (true, Some(batch_id)) = (inserted, job.batch_id) {
                add_pending(txn, batch_id, now).await?;
            }
        }
        Some(item) if item.status == ReviewStatus::Regenerating => {
            let moved = review_item::Entity::update_many()
                .col_expr(
                    review_item::Column::Status,
                    Expr::value(ReviewStatus::Pending),
                )
                .col_expr(
                    review_item::Column::ArticleId,
                    Expr::value(stored.article_id),
                )
                .col_expr(
                    review_item::Column::ArticleVersion,
                    Expr::value(stored.version),
                )
                .col_expr(review_item::Column::QcPassed, Expr::value(stored.qc_passed))
                .col_expr(review_item::Column::QcFailedChecks, Expr::value(failed))
                .col_expr(
                    review_item::Column::QcReport,
                    Expr::value(stored.qc_report.clone()),
                )
                .col_expr(review_item::Column::UpdatedAt, Expr::value(now))
                .filter(review_item::Column::Id.eq(item.id))
                .filter(review_item::Column::Status.eq(ReviewStatus::Regenerating))
                .exec(txn)
                .await?
                .rows_affected;
            if moved == 1 {
                back_to_pending(txn, &item, "regenerated", stored.version, None, now).await?;
                return Ok(Some(ReviewBack {
                    item_id: item.id,
                    version: stored.version,
                    decision: "regenerated",
                }));
            }
        }
        // A retried job whose item was already decided keeps its decision; the new version
        // is readable among the job's articles.
        Some(_) => {}
    }
    Ok(None)
}

/// A regeneration ended without a new article: the item returns to pending with the version
/// it had (the job keeps the status that version earned).
pub async fn regeneration_lost(
    txn: &DatabaseTransaction,
    item: &review_item::Model,
    why: &str,
    now: DateTime<Utc>,
) -> Result<Option<ReviewBack>, DbErr> {
    let moved = review_item::Entity::update_many()
        .col_expr(
            review_item::Column::Status,
            Expr::value(ReviewStatus::Pending),
        )
        .col_expr(review_item::Column::UpdatedAt, Expr::value(now))
        .filter(review_item::Column::Id.eq(item.id))
        .filter(review_item::Column::Status.eq(ReviewStatus::Regenerating))
        .exec(txn)
        .await?
        .rows_affected;
    if moved == 1 {
        back_to_pending(
            txn,
            item,
            "regeneration_failed",
            item.article_version,
            Some(why.to_owned()),
            now,
        )
        .await?;
        return Ok(Some(ReviewBack {
            item_id: item.id,
            version: item.article_version,
            decision: "regeneration_failed",
        }));
    }
    Ok(None)
}

async fn back_to_pending(
    txn: &DatabaseTransaction,
    item: &review_item::Model,
    decision: &str,
    version: i32,
    notes: Option<String>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    review_decision::Entity::insert(review_decision::ActiveModel {
        id: Set(ReviewDecisionId::new().uuid()),
        item_id: Set(item.id),
        org_id: Set(item.org_id),
        decision: Set(decision.to_owned()),
        from_status: Set(ReviewStatus::Regenerating),
        to_status: Set(ReviewStatus::Pending),
        article_version: Set(version),
        notes: Set(notes),
        reviewer: Set(None),
        created_at: Set(now),
    })
    .exec_without_returning(txn)
    .await?;
    job::Entity::update_many()
        .col_expr(
            job::Column::ReviewFeedback,
            Expr::value(Option::<String>::None),
        )
        .filter(job::Column::Id.eq(item.job_id))
        .exec(txn)
        .await?;
    if let Some(batch_id) = item.batch_id {
        batch::move_counts(
            txn,
            batch_id,
            batch::Column::RegeneratingItems,
            batch::Column::PendingItems,
            1,
            now,
        )
        .await?;
    }
    Ok(())
}

async fn add_pending(
    txn: &DatabaseTransaction,
    batch_id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    batch::Entity::update_many()
        .col_expr(
            batch::Column::PendingItems,
            Expr::col(batch::Column::PendingItems).add(1),
        )
        .col_expr(batch::Column::UpdatedAt, Expr::value(now))
        .filter(batch::Column::Id.eq(batch_id))
        .exec(txn)
        .await?;
    Ok(())
}

//! A delivery's writes: the claim (a conditional UPDATE, so a duplicate task never sends
//! twice at once) and the recorded attempt with its consequence, in one transaction.

use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, DatabaseConnection, DbErr, EntityTrait, QueryFilter,
    TransactionTrait, sea_query::Expr, sea_query::ExprTrait,
};

use bacowr_shared::{
    entities::{webhook_attempt, webhook_delivery, webhook_endpoint},
    ids::{WebhookAttemptId, WebhookDeliveryId},
    webhooks::DeliveryStatus,
};

/// Takes a due, pending delivery that no one is sending, for `hold` (longer than one
/// attempt can last). Returns it with `attempts` already counting this attempt.
pub async fn claim(
    db: &DatabaseConnection,
    id: WebhookDeliveryId,
    hold: Duration,
) -> Result<Option<webhook_delivery::Model>, DbErr> {
    // Microseconds, as Postgres stores them: the lease read back must equal ours.
    let now = Utc::now().trunc_subsecs(6);
    let expires = now + chrono::Duration::from_std(hold).unwrap_or(chrono::Duration::minutes(5));
    let taken = webhook_delivery::Entity::update_many()
        .col_expr(
            webhook_delivery::Column::Attempts,
            Expr::col(webhook_delivery::Column::Attempts).add(1),
        )
        .col_expr(
            webhook_delivery::Column::LeaseExpiresAt,
            Expr::value(expires),
        )
        .col_expr(webhook_delivery::Column::UpdatedAt, Expr::value(now))
        .filter(webhook_delivery::Column::Id.eq(id.uuid()))
        .filter(webhook_delivery::Column::Status.eq(DeliveryStatus::Pending))
        .filter(webhook_delivery::Column::NextAttemptAt.lte(now))
        .filter(
            Condition::any()
                .add(webhook_delivery::Column::LeaseExpiresAt.is_null())
                .add(webhook_delivery::Column::LeaseExpiresAt.lt(now)),
        )
        .exec(db)
        .await?
        .rows_affected;
    if taken == 0 {
        return Ok(None);
    }
    let found = webhook_delivery::Entity::find_by_id(id.uuid())
        .one(db)
        .await?;
    // Another claim may have followed ours only after our lease lapsed; the lease tells.
    Ok(found.filter(|d| d.lease_expires_at == Some(expires)))
}

/// What one attempt came to.
pub struct AttemptRecord {
    pub started_at: DateTime<Utc>,
    pub duration_ms: i32,
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub response_body: Option<String>,
}

/// What happens to the delivery after the attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    Delivered,
    Retry(Duration),
    /// Failed for good; `disable` also disables the endpoint, with this reason.
    Failed {
        disable: Option<String>,
    },
}

/// Records the attempt and moves the delivery, if this worker's claim still holds. Returns
/// whether it did.
pub async fn finish(
    db: &DatabaseConnection,
    claimed: &webhook_delivery::Model,
    attempt: AttemptRecord,
    next: Next,
) -> Result<bool, DbErr> {
    let now = Utc::now();
    let txn = db.begin().await?;
    let error = attempt.error.clone();
    let status_code = attempt.status_code.map(i32::from);
    let mut update = webhook_delivery::Entity::update_many()
        .col_expr(
            webhook_delivery::Column::LastStatusCode,
            Expr::value(status_code),
        )
        .col_expr(webhook_delivery::Column::LastError, Expr::value(error))
        .col_expr(
            webhook_delivery::Column::LeaseExpiresAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(
            webhook_delivery::Column::DispatchedAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(webhook_delivery::Column::UpdatedAt, Expr::value(now));
    update = match &next {
        Next::Delivered => update
            .col_expr(
                webhook_delivery::Column::Status,
                Expr::value(DeliveryStatus::Delivered),
            )
            .col_expr(webhook_delivery::Column::DeliveredAt, Expr::value(now)),
        Next::Retry(delay) => update.col_expr(
            webhook_delivery::Column::NextAttemptAt,
            Expr::value(now + chrono::Duration::from_std(*delay).unwrap_or_default()),
        ),
        Next::Failed { .. } => update.col_expr(
            webhook_delivery::Column::Status,
            Expr::value(DeliveryStatus::Failed),
        ),
    };
    let moved = update
        .filter(webhook_delivery::Column::Id.eq(claimed.id))
        .filter(webhook_delivery::Column::Status.eq(DeliveryStatus::Pending))
        .filter(webhook_delivery::Column::Attempts.eq(claimed.attempts))
        .filter(webhook_delivery::Column::LeaseExpiresAt.eq(claimed.lease_expires_at))
        .exec(&txn)
        .await?
        .rows_affected;
    if moved == 0 {
        txn.rollback().await?;
        return Ok(false);
    }
    webhook_attempt::Entity::insert(webhook_attempt::ActiveModel {
        id: Set(WebhookAttemptId::new().uuid()),
        delivery_id: Set(claimed.id),
        attempt: Set(claimed.attempts),
        started_at: Set(attempt.started_at),
        duration_ms: Set(attempt.duration_ms),
        status_code: Set(status_code),
        error: Set(attempt.error),
        response_body: Set(attempt.response_body),
    })
    .on_conflict_do_nothing_on([
        webhook_attempt::Column::DeliveryId,
        webhook_attempt::Column::Attempt,
    ])
    .exec_without_returning(&txn)
    .await?;
    if let Next::Failed {
        disable: Some(reason),
    } = &next
    {
        webhook_endpoint::Entity::update_many()
            .col_expr(webhook_endpoint::Column::Enabled, Expr::value(false))
            .col_expr(
                webhook_endpoint::Column::DisabledReason,
                Expr::value(reason.as_str()),
            )
            .col_expr(webhook_endpoint::Column::UpdatedAt, Expr::value(now))
            .filter(webhook_endpoint::Column::Id.eq(claimed.endpoint_id))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(true)
}

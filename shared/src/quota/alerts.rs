//! The 80% warning, once per organization, metric and period, and the record of refusals.
//!
//! A crossing inserts into `budget_alerts` (its primary key is the three), and only the
//! transaction whose insert took also writes the `budget.alert` webhook (through the outbox)
//! and the audit event: however many workers notice the crossing at once, one alert goes out.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, TransactionTrait,
    TryInsertResult,
};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{
    Exceeded, Limits, Metric, at_alert_level, percent,
    usage::{self, Counting},
};
use crate::{
    audit::{self, Entry, events},
    entities::budget_alert,
    webhooks::{WebhookEvent, outbox},
};

/// The payload of a `budget.alert` webhook and the detail of its audit event.
pub fn alert_payload(metric: Metric, limit: i64, used: i64, period: &str) -> Value {
    json!({
        "metric": metric.as_str(),
        "unit": metric.unit(),
        "period": period,
        "limit": limit,
        "used": used,
        "percent": percent(limit, used),
    })
}

/// For each `(metric, limit, used)` at 80% or more of its limit, the alert of this period
/// unless it was sent already. On `conn`, the caller's transaction. Returns the metrics
/// alerted now.
pub async fn record_crossings(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    levels: &[(Metric, i64, i64)],
    now: DateTime<Utc>,
) -> Result<Vec<Metric>, DbErr> {
    let mut sent = Vec::new();
    for &(metric, limit, used) in levels {
        let Some(period) = metric.period(now) else {
            continue;
        };
        if !at_alert_level(limit, used) {
            continue;
        }
        let inserted = budget_alert::Entity::insert(budget_alert::ActiveModel {
            org_id: Set(org_id),
            metric: Set(metric.as_str().to_owned()),
            period: Set(period.clone()),
            created_at: Set(now),
        })
        .on_conflict_do_nothing_on([
            budget_alert::Column::OrgId,
            budget_alert::Column::Metric,
            budget_alert::Column::Period,
        ])
        .exec_without_returning(conn)
        .await?;
        if !matches!(inserted, TryInsertResult::Inserted(n) if n > 0) {
            continue;
        }
        let payload = alert_payload(metric, limit, used, &period);
        outbox::record(
            conn,
            org_id,
            WebhookEvent::BudgetAlert,
            payload.clone(),
            now,
        )
        .await?;
        let entry = Entry::security(Some(org_id), events::BUDGET_ALERT, payload.to_string());
        audit::record(conn, entry).await?;
        tracing::warn!(%org_id, metric = metric.as_str(), limit, used, %period, "budget alert: 80% reached");
        sent.push(metric);
    }
    Ok(sent)
}

/// After calls are recorded (a job's outcome): alerts for tokens and spend at 80%, if the
/// organization limits them. One primary-key read when it does not. The alert row, its
/// webhook and its audit event are written in one transaction.
pub async fn after_spend(
    db: &DatabaseConnection,
    org_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Vec<Metric>, DbErr> {
    let Some(limits) = usage::limits(db, org_id).await? else {
        return Ok(Vec::new());
    };
    let metrics = [
        Metric::TokensPerMonth,
        Metric::SpendPerDay,
        Metric::SpendPerMonth,
    ];
    if metrics.iter().all(|m| limits.get(*m).is_none()) {
        return Ok(Vec::new());
    }
    let used = usage::usage(db, org_id, None, false, now).await?;
    let levels = levels(&limits, &metrics, |m| used.used(m, Counting::Recorded));
    if levels
        .iter()
        .all(|(_, limit, used)| !at_alert_level(*limit, *used))
    {
        return Ok(Vec::new());
    }
    let txn = db.begin().await?;
    let sent = record_crossings(&txn, org_id, &levels, now).await?;
    txn.commit().await?;
    Ok(sent)
}

/// `(metric, limit, used)` of each of `metrics` the organization limits.
pub fn levels(
    limits: &Limits,
    metrics: &[Metric],
    used: impl Fn(Metric) -> i64,
) -> Vec<(Metric, i64, i64)> {
    metrics
        .iter()
        .filter_map(|m| Some((*m, limits.get(*m)?, used(*m))))
        .collect()
}

/// A `budget.exceeded` security event with the numbers: `what` (`batch`, `job`: a refused
/// submission; `call`: a job stopped before a provider call) and the job it stopped, if any.
pub async fn record_exceeded(
    conn: &impl ConnectionTrait,
    org_id: Uuid,
    what: &str,
    resource: Option<String>,
    exceeded: &Exceeded,
) -> Result<(), DbErr> {
    let mut detail = serde_json::to_value(exceeded).unwrap_or_default();
    detail["refused"] = json!(what);
    let entry = Entry {
        resource,
        ..Entry::security(Some(org_id), events::BUDGET_EXCEEDED, detail.to_string())
    };
    audit::record(conn, entry).await
}

//! The worker's webhook events, recorded in the transaction that moves the job or batch, so
//! an event is sent if and only if its change committed.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, EntityTrait};
use uuid::Uuid;

use bacowr_shared::{
    domain::JobStatus,
    entities::{batch, job},
    webhooks::{WebhookEvent, outbox, payload},
};

/// `job.needs_review` or `job.failed` for a job that just ended in `status`; nothing for
/// other endings.
pub async fn job_ended(
    conn: &impl ConnectionTrait,
    job: &job::Model,
    status: JobStatus,
    error: Option<(&str, &str)>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let event = match status {
        JobStatus::NeedsReview => WebhookEvent::JobNeedsReview,
        JobStatus::Failed => WebhookEvent::JobFailed,
        _ => return Ok(()),
    };
    let data = payload::job(job, status, error);
    outbox::record(conn, job.org_id, event, data, now).await?;
    Ok(())
}

/// `batch.ready_for_review` for a batch whose last job just finished.
pub async fn batch_ready(
    conn: &impl ConnectionTrait,
    batch_id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let Some(b) = batch::Entity::find_by_id(batch_id).one(conn).await? else {
        return Ok(());
    };
    let data = payload::batch(&b);
    outbox::record(conn, b.org_id, WebhookEvent::BatchReadyForReview, data, now).await?;
    Ok(())
}

//! The worker's webhook events, recorded in the transaction that moves the job or batch, so
//! an event is sent if and only if its change committed.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, EntityTrait};
use uuid::Uuid;

use bacowr_shared::{
    domain::{BatchStatus, JobStatus},
    entities::{batch, job},
    webhooks::{WebhookEvent, batch_events, outbox, payload},
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

/// The webhook events of a batch whose last job just moved it to `status`.
pub async fn batch_moved(
    conn: &impl ConnectionTrait,
    batch_id: Uuid,
    status: BatchStatus,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    match status {
        BatchStatus::ReadyForReview => batch_ready(conn, batch_id, now).await,
        // Retried jobs that brought nothing new to review end the review they reopened.
        BatchStatus::Completed => batch_events::review_completed(conn, batch_id, now).await,
        _ => Ok(()),
    }
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

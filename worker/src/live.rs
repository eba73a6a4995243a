//! The worker's live events: a job started, entered a pipeline stage, ended; its batch
//! started or became ready for review. Each is published after its change is committed, best
//! effort (bounded by `events.publish_timeout_ms`): progress reports never hold up a job.

use serde_json::{Value, json};

use bacowr_shared::{
    domain::{BatchStatus, JobStatus, ReviewStatus},
    entities::job,
    error::job_errors,
    events::{EventKind, LiveEvent, Publisher},
    ids::{BatchId, JobId, OrgId, ReviewItemId},
};

use crate::{handler::WorkerState, store::Outcome};

fn ids(job: &job::Model) -> (OrgId, Option<BatchId>, JobId) {
    (
        OrgId::from_uuid(job.org_id),
        job.batch_id.map(BatchId::from_uuid),
        JobId::from_uuid(job.id),
    )
}

/// `job.started` (and `batch.status` running when this claim started the batch).
pub async fn started(state: &WorkerState, job: &job::Model, batch_started: bool) {
    let (org, batch, id) = ids(job);
    let mut events = Vec::with_capacity(2);
    if batch_started && let Some(batch) = batch {
        events.push(LiveEvent::batch_status(org, batch, BatchStatus::Running));
    }
    events.push(LiveEvent::job(
        EventKind::JobStarted,
        org,
        batch,
        id,
        job.status,
        json!({ "attempt": job.attempts }),
    ));
    state.events.publish_many(&events).await;
}

/// `job.stage`: the attempt entered `stage` (one of `bacowr_shared::events::stages`).
pub async fn stage(state: &WorkerState, job: &job::Model, stage: &str, mut data: Value) {
    let (org, batch, id) = ids(job);
    if let Value::Object(map) = &mut data {
        map.insert("attempt".into(), json!(job.attempts));
    }
    state
        .events
        .publish(&LiveEvent::stage(org, batch, id, stage, data))
        .await;
}

/// The committed outcome (and `batch.status` when it was the batch's last).
pub async fn finished(
    state: &WorkerState,
    job: &job::Model,
    outcome: &Outcome,
    recorded: &crate::store::Recorded,
) {
    let (org, batch, id) = ids(job);
    let status = recorded.status;
    let data = match outcome {
        Outcome::Succeeded(a) | Outcome::NeedsReview(a) => json!({
            "attempt": job.attempts,
            "qc_passed": a.qc_passed,
            "word_count": a.word_count,
            "regenerations": a.regenerations,
        }),
        Outcome::Failed { code, message } => json!({
            "attempt": job.attempts,
            "error_code": code,
            "message": message,
        }),
        Outcome::Cancelled => json!({ "attempt": job.attempts }),
    };
    let mut events = vec![LiveEvent::job(
        EventKind::job_finished(status),
        org,
        batch,
        id,
        status,
        data,
    )];
    if let Some(back) = recorded.review_back {
        events.push(LiveEvent::review_changed(
            org,
            batch,
            id,
            ReviewItemId::from_uuid(back.item_id),
            ReviewStatus::Regenerating.as_str(),
            ReviewStatus::Pending.as_str(),
            back.decision,
            back.version,
        ));
    }
    if let (Some(now), Some(batch)) = (recorded.batch_now, batch) {
        events.push(LiveEvent::batch_status(org, batch, now));
    }
    state.events.publish_many(&events).await;
}

/// The dispatcher released a job whose worker vanished (its lease lapsed): queued again,
/// failed once out of attempts, or cancelled with its batch.
pub async fn released(
    events: &Publisher,
    job: &job::Model,
    status: JobStatus,
    batch_now: Option<BatchStatus>,
) {
    let (org, batch, id) = ids(job);
    let data = match status {
        JobStatus::Failed => {
            json!({ "attempt": job.attempts, "error_code": job_errors::WORKER_LOST })
        }
        _ => json!({ "attempt": job.attempts, "reason": "lease_expired" }),
    };
    let mut out = vec![LiveEvent::job(
        EventKind::job_finished(status),
        org,
        batch,
        id,
        status,
        data,
    )];
    if let (Some(now), Some(batch)) = (batch_now, batch) {
        out.push(LiveEvent::batch_status(org, batch, now));
    }
    events.publish_many(&out).await;
}

//! The `data` of each event, built from the rows that caused it, so every source (worker,
//! review) sends the same shape. Ids are the typed, prefixed ones clients see in the API.

use serde_json::{Value, json};

use crate::{
    entities::{batch, job},
    ids::{BatchId, JobId},
};

/// `batch.ready_for_review`, `batch.completed`, `export.ready`: the batch and its counts.
pub fn batch(b: &batch::Model) -> Value {
    json!({
        "batch_id": BatchId::from_uuid(b.id),
        "name": b.name,
        "status": b.status,
        "counts": {
            "total": b.total_jobs,
            "succeeded": b.succeeded_jobs,
            "needs_review": b.needs_review_jobs,
            "failed": b.failed_jobs,
            "cancelled": b.cancelled_jobs,
        },
        "review": {
            "pending": b.pending_items,
            "approved": b.approved_items,
            "rejected": b.rejected_items,
            "regenerating": b.regenerating_items,
        },
        "cost_usd": b.cost_micros as f64 / 1_000_000.0,
    })
}

/// `job.needs_review`, `job.failed`: the job as it ended (`error` only for a failure).
pub fn job(j: &job::Model, status: crate::domain::JobStatus, error: Option<(&str, &str)>) -> Value {
    let mut data = json!({
        "job_id": JobId::from_uuid(j.id),
        "batch_id": j.batch_id.map(BatchId::from_uuid),
        "row_index": j.row_index,
        "status": status,
        "publisher_domain": j.publisher_domain,
        "target_url": j.target_url,
        "anchor_text": j.anchor_text,
        "attempts": j.attempts,
    });
    if let Some((code, message)) = error {
        data["error"] = json!({"code": code, "message": message});
    }
    data
}

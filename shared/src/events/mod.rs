//! Live progress events: what happened to a job, a batch or a review item, published after the
//! change is committed to Postgres. Postgres stays the source of truth; events are advisory
//! and best effort (a lost event costs a client a re-read, never a job).
//!
//! Each event is appended to a bounded Redis stream per batch (`{ns}:events:batch:{id}`, or
//! `{ns}:events:job:{id}` for a job outside a batch), which gives it its id and lets clients
//! resume, and announced on a pub/sub channel of the same topic so API replicas wake up at
//! once (see [`publish`] and [`read`]).

mod publish;
pub mod read;
mod stream_id;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::{
    domain::{BatchStatus, JobStatus},
    ids::{BatchId, JobId, OrgId, ReviewItemId},
};

pub use publish::Publisher;
pub use stream_id::StreamId;

/// What happened. The wire names are part of the API contract: add kinds, never rename.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum EventKind {
    /// A job was accepted or put back in the queue (a retry).
    #[serde(rename = "job.queued")]
    JobQueued,
    /// A worker claimed the job and began an attempt.
    #[serde(rename = "job.started")]
    JobStarted,
    /// The running job entered a pipeline stage (`data.stage`).
    #[serde(rename = "job.stage")]
    JobStage,
    #[serde(rename = "job.succeeded")]
    JobSucceeded,
    #[serde(rename = "job.needs_review")]
    JobNeedsReview,
    #[serde(rename = "job.failed")]
    JobFailed,
    #[serde(rename = "job.cancelled")]
    JobCancelled,
    /// The batch's status changed (`status`, and `data.status`).
    #[serde(rename = "batch.status")]
    BatchStatus,
    /// A review item changed state (`data.from`, `data.to`, `data.decision`, `data.version`).
    #[serde(rename = "review.changed")]
    ReviewChanged,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::JobQueued => "job.queued",
            Self::JobStarted => "job.started",
            Self::JobStage => "job.stage",
            Self::JobSucceeded => "job.succeeded",
            Self::JobNeedsReview => "job.needs_review",
            Self::JobFailed => "job.failed",
            Self::JobCancelled => "job.cancelled",
            Self::BatchStatus => "batch.status",
            Self::ReviewChanged => "review.changed",
        }
    }

    /// The event announcing that a job ended in `status`.
    pub fn job_finished(status: JobStatus) -> Self {
        match status {
            JobStatus::Queued => Self::JobQueued,
            JobStatus::Running => Self::JobStarted,
            JobStatus::Succeeded => Self::JobSucceeded,
            JobStatus::NeedsReview => Self::JobNeedsReview,
            JobStatus::Failed => Self::JobFailed,
            JobStatus::Cancelled => Self::JobCancelled,
        }
    }
}

/// Pipeline stages announced by `job.stage` (`data.stage`), in the order a job meets them.
pub mod stages {
    /// Fetching the target page and the publisher's home page.
    pub const CONTEXT: &str = "context";
    /// The first draft is being written by a provider.
    pub const WRITING: &str = "writing";
    /// The draft is checked against the QC profile.
    pub const QC: &str = "qc";
    /// QC failed; the deterministic autofix runs, then QC again.
    pub const AUTOFIX: &str = "autofix";
    /// QC still failed; a new draft is written with the failed checks as feedback
    /// (`data.regeneration` counts from 1).
    pub const REGENERATING: &str = "regenerating";
}

/// One live event, as stored in the stream, published and sent to SSE and WebSocket clients.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({
    "id": "1764465600000-0",
    "kind": "job.stage",
    "org_id": "org_0192f0c4e5a27b6c8d9e0f1a2b3c4d5e",
    "batch_id": "batch_0192f0c4e5a27b6c8d9e0f1a2b3c4d5e",
    "job_id": "job_0192f0c4e5a27b6c8d9e0f1a2b3c4d5e",
    "item_id": null,
    "status": "running",
    "data": {"stage": "writing", "attempt": 1},
    "at": "2026-11-30T01:20:00.123Z"
}))]
pub struct LiveEvent {
    /// The Redis stream entry id (`<ms>-<seq>`): increasing within a batch's stream; the SSE
    /// `id:` and the `Last-Event-ID` to resume from. Absent only before the event is stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "1764465600000-0")]
    pub id: Option<StreamId>,
    pub kind: EventKind,
    pub org_id: OrgId,
    pub batch_id: Option<BatchId>,
    pub job_id: Option<JobId>,
    /// The review item, for `review.changed`.
    pub item_id: Option<ReviewItemId>,
    /// The subject's status after the change: the job's for `job.*`, the batch's for
    /// `batch.status`, the review item's for `review.changed`.
    pub status: String,
    /// Kind-specific details (see the README's "Live progress").
    #[schema(value_type = Object)]
    pub data: Value,
    pub at: DateTime<Utc>,
}

/// The stream (and channel) an event belongs to: its batch's, else its job's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    Batch(BatchId),
    Job(JobId),
}

impl std::fmt::Display for Topic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Batch(id) => write!(f, "batch:{id}"),
            Self::Job(id) => write!(f, "job:{id}"),
        }
    }
}

impl Topic {
    /// The bounded stream that stores the topic's events.
    pub fn stream_key(&self, namespace: &str) -> String {
        format!("{namespace}:events:{self}")
    }

    /// The pub/sub channel that announces them.
    pub fn channel(&self, namespace: &str) -> String {
        format!("{namespace}:live:{self}")
    }
}

fn status_name<T: Serialize>(status: T) -> String {
    serde_json::to_value(status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

impl LiveEvent {
    pub fn new(kind: EventKind, org_id: OrgId, status: impl Into<String>, data: Value) -> Self {
        Self {
            id: None,
            kind,
            org_id,
            batch_id: None,
            job_id: None,
            item_id: None,
            status: status.into(),
            data,
            at: Utc::now(),
        }
    }

    /// A job event; `batch_id` places it on its batch's stream.
    pub fn job(
        kind: EventKind,
        org_id: OrgId,
        batch_id: Option<BatchId>,
        job_id: JobId,
        status: JobStatus,
        data: Value,
    ) -> Self {
        let mut event = Self::new(kind, org_id, status_name(status), data);
        event.batch_id = batch_id;
        event.job_id = Some(job_id);
        event
    }

    /// `job.stage`: the running job entered `stage` (one of [`stages`]).
    pub fn stage(
        org_id: OrgId,
        batch_id: Option<BatchId>,
        job_id: JobId,
        stage: &str,
        mut data: Value,
    ) -> Self {
        if let Value::Object(map) = &mut data {
            map.insert("stage".into(), json!(stage));
        } else {
            data = json!({ "stage": stage });
        }
        Self::job(
            EventKind::JobStage,
            org_id,
            batch_id,
            job_id,
            JobStatus::Running,
            data,
        )
    }

    /// `batch.status`: the batch is now `status`.
    pub fn batch_status(org_id: OrgId, batch_id: BatchId, status: BatchStatus) -> Self {
        let name = status_name(status);
        let mut event = Self::new(
            EventKind::BatchStatus,
            org_id,
            name.clone(),
            json!({ "status": name }),
        );
        event.batch_id = Some(batch_id);
        event
    }

    /// `review.changed`: a review item moved `from` → `to` through `decision`; `version` is
    /// the item's current article version.
    #[allow(clippy::too_many_arguments)]
    pub fn review_changed(
        org_id: OrgId,
        batch_id: Option<BatchId>,
        job_id: JobId,
        item_id: ReviewItemId,
        from: &str,
        to: &str,
        decision: &str,
        version: i32,
    ) -> Self {
        let mut event = Self::new(
            EventKind::ReviewChanged,
            org_id,
            to,
            json!({ "from": from, "to": to, "decision": decision, "version": version }),
        );
        event.batch_id = batch_id;
        event.job_id = Some(job_id);
        event.item_id = Some(item_id);
        event
    }

    /// Where the event is stored; `None` for an event tied to neither a batch nor a job.
    pub fn topic(&self) -> Option<Topic> {
        self.batch_id
            .map(Topic::Batch)
            .or(self.job_id.map(Topic::Job))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_with_typed_ids_and_wire_kinds() {
        let org = OrgId::new();
        let batch = BatchId::new();
        let job = JobId::new();
        let mut e = LiveEvent::stage(org, Some(batch), job, stages::QC, json!({"attempt": 1}));
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["kind"], "job.stage");
        assert_eq!(v["org_id"], org.to_string());
        assert_eq!(v["batch_id"], batch.to_string());
        assert_eq!(v["job_id"], job.to_string());
        assert_eq!(v["item_id"], Value::Null);
        assert_eq!(v["status"], "running");
        assert_eq!(v["data"], json!({"attempt": 1, "stage": "qc"}));
        assert!(v.get("id").is_none(), "no id before it is stored");
        e.id = Some(StreamId::parse("5-1").unwrap());
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["id"], "5-1");
        assert_eq!(serde_json::from_value::<LiveEvent>(v).unwrap(), e);
        assert_eq!(e.topic(), Some(Topic::Batch(batch)));
        assert_eq!(
            Topic::Job(job).stream_key("ns"),
            format!("ns:events:job:{job}")
        );
    }

    #[test]
    fn every_kind_has_its_wire_name() {
        for kind in [
            EventKind::JobQueued,
            EventKind::JobStarted,
            EventKind::JobStage,
            EventKind::JobSucceeded,
            EventKind::JobNeedsReview,
            EventKind::JobFailed,
            EventKind::JobCancelled,
            EventKind::BatchStatus,
            EventKind::ReviewChanged,
        ] {
            assert_eq!(serde_json::to_value(kind).unwrap(), json!(kind.as_str()));
        }
        let e = LiveEvent::batch_status(OrgId::new(), BatchId::new(), BatchStatus::ReadyForReview);
        assert_eq!(e.status, "ready_for_review");
        assert_eq!(e.data["status"], "ready_for_review");
    }
}

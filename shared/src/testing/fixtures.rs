//! Rows for tests that seed the database directly: every column at a neutral value, so a test
//! names only what it is about (`job::Model { status: JobStatus::Running, ..job(…) }`).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{
    domain::JobStatus,
    entities::{job, organization},
};

/// An organization without limits, quotas or budgets.
pub fn organization(id: Uuid, name: &str, now: DateTime<Utc>) -> organization::Model {
    organization::Model {
        id,
        name: name.to_owned(),
        created_at: now,
        max_running: None,
        rate_per_minute: None,
        org_rate_per_minute: None,
        expensive_per_minute: None,
        quota_jobs_per_month: None,
        quota_tokens_per_month: None,
        budget_day_micros: None,
        budget_month_micros: None,
        budget_job_micros: None,
    }
}

/// A queued, never-dispatched job of row `row`: publisher `example.se`, target
/// `https://target.example/`, anchor `anchor {row}`.
pub fn job(org: Uuid, batch: Option<Uuid>, row: i32, now: DateTime<Utc>) -> job::Model {
    job::Model {
        id: Uuid::now_v7(),
        org_id: org,
        batch_id: batch,
        row_index: row,
        publisher_domain: "example.se".into(),
        target_url: "https://target.example/".into(),
        anchor_text: format!("anchor {row}"),
        language: None,
        status: JobStatus::Queued,
        attempts: 0,
        lease_owner: None,
        lease_expires_at: None,
        error_code: None,
        error_message: None,
        tokens_in: 0,
        tokens_out: 0,
        cost_micros: 0,
        created_at: now,
        updated_at: now,
        started_at: None,
        finished_at: None,
        dispatched_at: None,
        dispatches: 0,
        not_before: None,
        traceparent: None,
        review_feedback: None,
        attempt_floor: 0,
    }
}

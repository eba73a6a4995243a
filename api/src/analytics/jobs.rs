//! `/analytics/jobs`: how many jobs, how they ended, how fast.
//!
//! Definitions (over jobs *created* in the range):
//! - finished = succeeded + needs_review + failed. Cancelled jobs are the client's decision,
//!   not the pipeline's result, and queued/running ones have no result yet: neither counts.
//! - success rate = succeeded / finished: an article that passed QC.
//! - first-try QC pass rate = first-try passes / finished, where a first-try pass is a job
//!   whose version-1 article passed QC as first written: no autofix, no regeneration. This
//!   is the rule the worker counts in `batches.first_try_passed_jobs`, though the batch view
//!   also counts cancelled jobs in its denominator.
//! - durations: `finished_at - started_at` of finished jobs, p50 and p95 (continuous
//!   percentiles), in seconds. `started_at` is the start of the last run, so a retried job's
//!   duration is its last run's.

use std::collections::BTreeMap;

use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};
use serde::Serialize;
use uuid::Uuid;

use super::{Dialect, Range, rate};

const BY_DAY: &str = r#"
SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day,
       status,
       COUNT(*)::bigint AS jobs
FROM jobs
WHERE org_id = $1 AND created_at >= $2 AND created_at < $3
GROUP BY 1, 2
ORDER BY 1, 2
"#;

const SUMMARY: &str = r#"
SELECT COUNT(*)::bigint AS total,
       COUNT(*) FILTER (WHERE j.status = 'queued')::bigint AS queued,
       COUNT(*) FILTER (WHERE j.status = 'running')::bigint AS running,
       COUNT(*) FILTER (WHERE j.status = 'succeeded')::bigint AS succeeded,
       COUNT(*) FILTER (WHERE j.status = 'needs_review')::bigint AS needs_review,
       COUNT(*) FILTER (WHERE j.status = 'failed')::bigint AS failed,
       COUNT(*) FILTER (WHERE j.status = 'cancelled')::bigint AS cancelled,
       COUNT(*) FILTER (
           WHERE j.status IN ('succeeded', 'needs_review')
             AND a.qc_passed
             AND a.regenerations = 0
             AND CASE WHEN json_typeof(a.autofixes) = 'array'
                      THEN json_array_length(a.autofixes) ELSE 0 END = 0
       )::bigint AS first_try_passed,
       COUNT(*) FILTER (WHERE j.status IN ('succeeded', 'needs_review', 'failed')
                          AND j.started_at IS NOT NULL AND j.finished_at IS NOT NULL
       )::bigint AS timed,
       percentile_cont(0.5) WITHIN GROUP (
           ORDER BY EXTRACT(EPOCH FROM (j.finished_at - j.started_at))::double precision)
           FILTER (WHERE j.status IN ('succeeded', 'needs_review', 'failed')
                     AND j.started_at IS NOT NULL AND j.finished_at IS NOT NULL) AS p50,
       percentile_cont(0.95) WITHIN GROUP (
           ORDER BY EXTRACT(EPOCH FROM (j.finished_at - j.started_at))::double precision)
           FILTER (WHERE j.status IN ('succeeded', 'needs_review', 'failed')
                     AND j.started_at IS NOT NULL AND j.finished_at IS NOT NULL) AS p95
FROM jobs j
LEFT JOIN articles a ON a.job_id = j.id AND a.version = 1
WHERE j.org_id = $1 AND j.created_at >= $2 AND j.created_at < $3
"#;

const SQLITE_BY_DAY: &str = r#"
SELECT strftime('%Y-%m-%d', created_at) AS day,
       status,
       COUNT(*) AS jobs
FROM jobs
WHERE org_id = ?1 AND created_at >= ?2 AND created_at < ?3
GROUP BY 1, 2
ORDER BY 1, 2
"#;

/// `SUMMARY` for SQLite. Durations are whole milliseconds (SQLite's time resolution); the
/// percentiles are Postgres' `percentile_cont`: rank `p * (n - 1)` of the sorted durations,
/// interpolated linearly between the ranks below and above it (`lo + (hi - lo) * fraction`).
const SQLITE_SUMMARY: &str = r#"
WITH scoped AS (
    SELECT j.status, a.qc_passed, a.regenerations, a.autofixes,
           CASE WHEN j.status IN ('succeeded', 'needs_review', 'failed')
                 AND j.started_at IS NOT NULL AND j.finished_at IS NOT NULL
                THEN round((julianday(j.finished_at) - julianday(j.started_at)) * 86400000.0)
                     / 1000.0
           END AS secs
    FROM jobs j
    LEFT JOIN articles a ON a.job_id = j.id AND a.version = 1
    WHERE j.org_id = ?1 AND j.created_at >= ?2 AND j.created_at < ?3
),
ranked AS (
    SELECT secs, ROW_NUMBER() OVER (ORDER BY secs) - 1 AS i
    FROM scoped
    WHERE secs IS NOT NULL
),
quantiles AS (
    SELECT p, p * (n - 1) AS pos, CAST(p * (n - 1) AS INTEGER) AS k
    FROM (SELECT 0.5 AS p UNION ALL SELECT 0.95)
    CROSS JOIN (SELECT COUNT(*) AS n FROM ranked)
    WHERE n > 0
),
percentiles AS (
    SELECT q.p, lo.secs + (hi.secs - lo.secs) * (q.pos - q.k) AS secs
    FROM quantiles q
    JOIN ranked lo ON lo.i = q.k
    JOIN ranked hi ON hi.i = q.k + (q.pos > q.k)
)
SELECT COUNT(*) AS total,
       COUNT(*) FILTER (WHERE status = 'queued') AS queued,
       COUNT(*) FILTER (WHERE status = 'running') AS running,
       COUNT(*) FILTER (WHERE status = 'succeeded') AS succeeded,
       COUNT(*) FILTER (WHERE status = 'needs_review') AS needs_review,
       COUNT(*) FILTER (WHERE status = 'failed') AS failed,
       COUNT(*) FILTER (WHERE status = 'cancelled') AS cancelled,
       COUNT(*) FILTER (
           WHERE status IN ('succeeded', 'needs_review')
             AND qc_passed
             AND regenerations = 0
             AND CASE WHEN json_type(autofixes) = 'array'
                      THEN json_array_length(autofixes) ELSE 0 END = 0
       ) AS first_try_passed,
       COUNT(secs) AS timed,
       (SELECT secs FROM percentiles WHERE p = 0.5) AS p50,
       (SELECT secs FROM percentiles WHERE p = 0.95) AS p95
FROM scoped
"#;

#[derive(Debug, FromQueryResult)]
struct DayRow {
    day: String,
    status: String,
    jobs: i64,
}

#[derive(Debug, FromQueryResult)]
struct SummaryRow {
    total: i64,
    queued: i64,
    running: i64,
    succeeded: i64,
    needs_review: i64,
    failed: i64,
    cancelled: i64,
    first_try_passed: i64,
    timed: i64,
    p50: Option<f64>,
    p95: Option<f64>,
}

#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct StatusCounts {
    pub total: i64,
    pub queued: i64,
    pub running: i64,
    pub succeeded: i64,
    pub needs_review: i64,
    pub failed: i64,
    pub cancelled: i64,
}

impl StatusCounts {
    fn add(&mut self, status: &str, n: i64) {
        self.total += n;
        match status {
            "queued" => self.queued += n,
            "running" => self.running += n,
            "succeeded" => self.succeeded += n,
            "needs_review" => self.needs_review += n,
            "failed" => self.failed += n,
            "cancelled" => self.cancelled += n,
            other => tracing::warn!(status = other, "unknown job status in analytics"),
        }
    }
}

/// Jobs created on one UTC day, by their status now.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DayCounts {
    /// `YYYY-MM-DD`, UTC.
    pub day: String,
    #[serde(flatten)]
    pub counts: StatusCounts,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Durations {
    /// Finished jobs with both a start and an end time.
    pub jobs: i64,
    /// Median `finished_at - started_at`, seconds; null without finished jobs.
    pub p50_secs: Option<f64>,
    pub p95_secs: Option<f64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JobAnalytics {
    pub range: Range,
    pub totals: StatusCounts,
    /// succeeded + needs_review + failed.
    pub finished: i64,
    /// succeeded / finished, 0-1; null when nothing finished.
    pub success_rate: Option<f64>,
    /// Finished jobs whose first draft passed QC with no autofix and no regeneration.
    pub first_try_passed: i64,
    /// first_try_passed / finished, 0-1; null when nothing finished.
    pub first_try_pass_rate: Option<f64>,
    pub durations: Durations,
    /// Per UTC day of creation, oldest first; days without jobs are absent.
    pub by_day: Vec<DayCounts>,
}

pub async fn report(
    db: &impl ConnectionTrait,
    org_id: Uuid,
    range: Range,
) -> Result<JobAnalytics, DbErr> {
    let dialect = Dialect::of(db)?;
    let summary = SummaryRow::find_by_statement(range.statement(
        dialect,
        dialect.pick(SUMMARY, SQLITE_SUMMARY),
        org_id,
        [],
    ))
    .one(db)
    .await?
    .ok_or_else(|| DbErr::RecordNotFound("an aggregate without a row".into()))?;
    let rows = DayRow::find_by_statement(range.statement(
        dialect,
        dialect.pick(BY_DAY, SQLITE_BY_DAY),
        org_id,
        [],
    ))
    .all(db)
    .await?;
    let mut days: BTreeMap<String, StatusCounts> = BTreeMap::new();
    for row in rows {
        days.entry(row.day).or_default().add(&row.status, row.jobs);
    }
    let finished = summary.succeeded + summary.needs_review + summary.failed;
    Ok(JobAnalytics {
        range,
        totals: StatusCounts {
            total: summary.total,
            queued: summary.queued,
            running: summary.running,
            succeeded: summary.succeeded,
            needs_review: summary.needs_review,
            failed: summary.failed,
            cancelled: summary.cancelled,
        },
        finished,
        success_rate: rate(summary.succeeded, finished),
        first_try_passed: summary.first_try_passed,
        first_try_pass_rate: rate(summary.first_try_passed, finished),
        durations: Durations {
            jobs: summary.timed,
            p50_secs: summary.p50,
            p95_secs: summary.p95,
        },
        by_day: days
            .into_iter()
            .map(|(day, counts)| DayCounts { day, counts })
            .collect(),
    })
}

//! The end-of-run summary: outcomes, cost, tokens, wall time and job latency percentiles, as
//! a table for people and as JSON for scripts.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::client::models::{BatchView, JobView};

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub batch_id: String,
    pub status: String,
    pub links: i64,
    pub done: i64,
    pub needs_review: i64,
    pub failed: i64,
    pub cancelled: i64,
    pub cost_usd: f64,
    pub tokens_in: i64,
    pub tokens_out: i64,
    pub wall_secs: f64,
    /// Seconds from a job's start to its end, over finished jobs.
    pub latency_p50_secs: Option<f64>,
    pub latency_p95_secs: Option<f64>,
    /// Failed jobs by error code.
    pub failures: Vec<(String, i64)>,
}

fn at(s: &Option<String>) -> Option<DateTime<Utc>> {
    s.as_deref()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len() as f64).ceil().max(1.0) as usize;
    Some(sorted[rank.min(sorted.len()) - 1])
}

impl Summary {
    /// `watched`: how long the caller watched, used when the batch has no finish time yet.
    pub fn new(batch: &BatchView, jobs: &[JobView], watched: Duration) -> Self {
        // The batch's own span, from submission to its last job, whoever watched it.
        let wall = match (at(&Some(batch.created_at.clone())), at(&batch.finished_at)) {
            (Some(created), Some(finished)) => {
                (finished - created).num_milliseconds().max(0) as f64 / 1000.0
            }
            _ => watched.as_secs_f64(),
        };
        let mut latencies: Vec<f64> = jobs
            .iter()
            .filter_map(|j| Some((at(&j.started_at)?, at(&j.finished_at)?)))
            .map(|(s, f)| (f - s).num_milliseconds().max(0) as f64 / 1000.0)
            .collect();
        latencies.sort_by(f64::total_cmp);
        let mut failures: Vec<(String, i64)> = Vec::new();
        for job in jobs.iter().filter(|j| j.status == "failed") {
            let code = job
                .error
                .as_ref()
                .map_or("unknown".to_owned(), |e| e.code.clone());
            match failures.iter_mut().find(|(c, _)| *c == code) {
                Some((_, n)) => *n += 1,
                None => failures.push((code, 1)),
            }
        }
        Self {
            batch_id: batch.id.clone(),
            status: batch.status.clone(),
            links: batch.total_jobs,
            done: batch.counts.succeeded,
            needs_review: batch.counts.needs_review,
            failed: batch.counts.failed,
            cancelled: batch.counts.cancelled,
            cost_usd: batch.cost_usd,
            tokens_in: batch.tokens_in,
            tokens_out: batch.tokens_out,
            wall_secs: wall,
            latency_p50_secs: percentile(&latencies, 0.50),
            latency_p95_secs: percentile(&latencies, 0.95),
            failures,
        }
    }

    pub fn table(&self) -> String {
        let secs = |v: Option<f64>| v.map_or("-".to_owned(), |s| format!("{s:.2} s"));
        let mut rows = vec![
            ("batch", self.batch_id.clone()),
            ("status", self.status.clone()),
            ("links", self.links.to_string()),
            ("done (passed QC)", self.done.to_string()),
            ("needs review", self.needs_review.to_string()),
            ("failed", self.failed.to_string()),
        ];
        if self.cancelled > 0 {
            rows.push(("cancelled", self.cancelled.to_string()));
        }
        for (code, n) in &self.failures {
            rows.push(("  failed with", format!("{code}: {n}")));
        }
        rows.extend([
            ("cost", format!("${:.4}", self.cost_usd)),
            (
                "tokens",
                format!(
                    "{} ({} in, {} out)",
                    self.tokens_in + self.tokens_out,
                    self.tokens_in,
                    self.tokens_out
                ),
            ),
            ("wall time", format!("{:.1} s", self.wall_secs)),
            ("job latency p50", secs(self.latency_p50_secs)),
            ("job latency p95", secs(self.latency_p95_secs)),
        ]);
        render(&rows)
    }
}

/// A two-column box table.
pub fn render(rows: &[(&str, String)]) -> String {
    let w0 = rows
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    let w1 = rows
        .iter()
        .map(|(_, v)| v.chars().count())
        .max()
        .unwrap_or(0);
    let line = format!("+{}+{}+", "-".repeat(w0 + 2), "-".repeat(w1 + 2));
    let mut out = vec![line.clone()];
    for (k, v) in rows {
        out.push(format!(
            "| {k}{} | {v}{} |",
            " ".repeat(w0 - k.chars().count()),
            " ".repeat(w1 - v.chars().count())
        ));
    }
    out.push(line);
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), Some(10.0));
        assert_eq!(percentile(&v, 0.95), Some(19.0));
        assert_eq!(percentile(&[3.0], 0.95), Some(3.0));
        assert_eq!(percentile(&[], 0.5), None);
    }
}

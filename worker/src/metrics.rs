//! The worker process's own figures, served on `/metrics` in the Prometheus text format.
//! Labels are bounded: final statuses only, never job or batch ids.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

use bacowr_shared::domain::JobStatus;

#[derive(Default)]
pub struct Metrics {
    active_jobs: AtomicI64,
    succeeded: AtomicU64,
    needs_review: AtomicU64,
    failed: AtomicU64,
    cancelled: AtomicU64,
    released: AtomicU64,
    dispatched: AtomicU64,
    leader: AtomicBool,
    queue_depth: AtomicI64,
}

impl Metrics {
    pub fn job_started(&self) {
        self.active_jobs.fetch_add(1, Ordering::Relaxed);
    }

    pub fn job_ended(&self) {
        self.active_jobs.fetch_sub(1, Ordering::Relaxed);
    }

    pub fn active_jobs(&self) -> i64 {
        self.active_jobs.load(Ordering::Relaxed)
    }

    pub fn job_finished(&self, status: JobStatus) {
        let counter = match status {
            JobStatus::Succeeded => &self.succeeded,
            JobStatus::NeedsReview => &self.needs_review,
            JobStatus::Failed => &self.failed,
            JobStatus::Cancelled => &self.cancelled,
            JobStatus::Queued | JobStatus::Running => return,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn jobs_released(&self, n: u64) {
        self.released.fetch_add(n, Ordering::Relaxed);
    }

    pub fn add_dispatched(&self, n: u64) {
        self.dispatched.fetch_add(n, Ordering::Relaxed);
    }

    pub fn set_leader(&self, leader: bool) {
        self.leader.store(leader, Ordering::Relaxed);
    }

    pub fn set_queue_depth(&self, depth: i64) {
        self.queue_depth.store(depth, Ordering::Relaxed);
    }

    pub fn render(&self) -> String {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut out = String::new();
        out.push_str("# HELP active_jobs Jobs this worker process is running now.\n# TYPE active_jobs gauge\n");
        out.push_str(&format!("active_jobs {}\n", self.active_jobs()));
        out.push_str("# HELP jobs_total Jobs this worker process finished, by final status.\n# TYPE jobs_total counter\n");
        for (status, counter) in [
            ("succeeded", &self.succeeded),
            ("needs_review", &self.needs_review),
            ("failed", &self.failed),
            ("cancelled", &self.cancelled),
        ] {
            out.push_str(&format!(
                "jobs_total{{status=\"{status}\"}} {}\n",
                load(counter)
            ));
        }
        out.push_str("# HELP jobs_released_total Running jobs handed back to the queue at shutdown.\n# TYPE jobs_released_total counter\n");
        out.push_str(&format!("jobs_released_total {}\n", load(&self.released)));
        out.push_str("# HELP dispatcher_leader 1 while this process is the fleet's active dispatcher.\n# TYPE dispatcher_leader gauge\n");
        out.push_str(&format!(
            "dispatcher_leader {}\n",
            u8::from(self.leader.load(Ordering::Relaxed))
        ));
        out.push_str("# HELP dispatched_total Tasks this process pushed to Redis as dispatcher.\n# TYPE dispatched_total counter\n");
        out.push_str(&format!("dispatched_total {}\n", load(&self.dispatched)));
        out.push_str("# HELP queue_depth Tasks waiting in Redis, as last seen by the active dispatcher.\n# TYPE queue_depth gauge\n");
        out.push_str(&format!(
            "queue_depth {}\n",
            self.queue_depth.load(Ordering::Relaxed)
        ));
        out
    }
}

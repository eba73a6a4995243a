//! What the routes do, apart from HTTP: creating work, replaying idempotent answers,
//! enqueueing, and setting up organizations.

pub mod accounts;
pub mod control;
pub mod enqueue;
pub mod estimate;
pub mod idempotency;
pub mod job_rows;
pub mod notices;
pub mod orgs;
pub mod quota;
pub mod review;
pub mod submission;
pub mod webhooks;

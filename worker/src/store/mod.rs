//! The worker's writes to Postgres: claiming a job under a lease, and recording its outcome
//! together with the article, the provider calls and the batch counters in one transaction.
//! Conditional updates make every step safe to repeat: a second delivery of a task finds the
//! job already claimed or finished and changes nothing.

mod batch_counters;
mod claim;
mod outcome;

pub use claim::claim;
pub use outcome::{ArticleToStore, Outcome, record_outcome};

//! The worker's writes to Postgres: claiming a job under a lease, and recording its outcome
//! together with the article, the provider calls and the batch counters in one transaction.
//! Conditional updates make every step safe to repeat: a second delivery of a task finds the
//! job already claimed or finished and changes nothing.

pub(crate) mod batch_counters;
mod claim;
mod lifecycle;
mod outcome;
pub mod review;

pub use claim::{Claimed, claim, claim_reporting};
pub use lifecycle::{Checkpoint, checkpoint, release_owned, undispatch};
pub use outcome::{ArticleToStore, Outcome, Recorded, record_outcome, record_outcome_reporting};

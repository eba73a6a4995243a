//! From a claimed job to an article: plan, prompt, generation through the provider router,
//! structured parsing, QC with autofix and regeneration.

pub mod article;
pub mod blueprint;
mod calls;
mod drafts;
pub mod language;
pub mod prompt;
pub mod run;
pub mod structured;

pub use calls::{CallRecord, Purpose};

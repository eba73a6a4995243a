//! From a claimed job to an article: plan, prompt, generation with retries, structured
//! parsing, QC with autofix and regeneration.

pub mod article;
pub mod blueprint;
pub mod language;
pub mod prompt;
mod retry;
pub mod run;
pub mod structured;

pub use retry::{CallRecord, generate_with_retries};

//! From a claimed job to an article: prompt, generation with retries, parsing. Context
//! fetching, QC, autofix and regeneration (#3) slot in as further stages here.

pub mod article;
pub mod language;
pub mod prompt;
mod retry;

pub use retry::{CallRecord, generate_with_retries};

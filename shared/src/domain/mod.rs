//! Domain types that parse: once built, a value is valid.

mod access;
mod email;
mod language;
mod link;
mod review;
mod status;

pub use access::{Role, Scope, Scopes, UnknownScope};
pub use email::{Email, EmailError};
pub use language::Language;
pub use link::{AnchorText, LinkAssignment, LinkError, PublisherDomain, TargetUrl};
pub use review::{ReviewDecision, ReviewError, ReviewStatus};
pub use status::{BatchStatus, JobStatus};

//! The BACOWR worker: pulls job ids from Redis (apalis), claims each job in Postgres, writes
//! the article through a provider, and records the outcome. Never links a web framework.

pub mod context;
pub mod dispatch;
pub mod handler;
mod http;
pub mod live;
pub mod metrics;
pub mod pipeline;
pub mod provider;
pub mod qc;
pub mod router;
mod runtime;
mod sentry_hub;
pub mod store;
pub mod webhooks;

pub use apalis::prelude::MonitorError;
pub use runtime::{StartError, start, start_with};

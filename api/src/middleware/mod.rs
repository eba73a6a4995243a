//! Middleware every request passes: response hardening headers, the audit log and metrics.
//! (The request id lives in `crate::request_id`; it wraps these.)

pub mod audit;
pub mod headers;
pub mod metrics;

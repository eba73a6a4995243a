//! Middleware every request passes: response hardening headers and the audit log.
//! (The request id lives in `crate::request_id`; it wraps these.)

pub mod audit;
pub mod headers;

//! sea-orm entities, one module per table. Column types stay portable (Postgres and SQLite).

pub mod api_key;
pub mod article;
pub mod audit_log;
pub mod batch;
pub mod budget_alert;
pub mod budget_reservation;
pub mod idempotency_key;
pub mod job;
pub mod llm_call;
pub mod organization;
pub mod refresh_token;
pub mod review_decision;
pub mod review_item;
pub mod session;
pub mod user;
pub mod webhook_attempt;
pub mod webhook_delivery;
pub mod webhook_endpoint;

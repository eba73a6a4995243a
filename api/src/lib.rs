//! The BACOWR HTTP API: stateless, tenant-scoped by API key or user session, writing work to Postgres and
//! handing job ids to the workers through Redis.

pub mod access;
pub mod analytics;
pub mod auth;
pub mod docs;
pub mod error;
pub mod export;
pub mod intake;
pub mod live;
pub mod method_not_allowed;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod ratelimit;
pub mod request_id;
pub mod routes;
pub mod services;
pub mod startup;
pub mod state;

pub use actix_web::dev::ServerHandle;
pub use startup::{Application, StartError};

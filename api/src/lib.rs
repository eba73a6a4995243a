//! The BACOWR HTTP API: stateless, tenant-scoped by API key, writing work to Postgres and
//! handing job ids to the workers through Redis.

pub mod analytics;
pub mod auth;
pub mod error;
pub mod export;
pub mod intake;
pub mod live;
pub mod openapi;
pub mod request_id;
pub mod routes;
pub mod services;
pub mod startup;
pub mod state;

pub use startup::{Application, StartError};

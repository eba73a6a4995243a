//! Domain types, entities, the queue contract, configuration and telemetry shared by the API
//! and the worker. Never depends on a web framework: the worker links this crate.

pub mod audit;
pub mod backplane;
pub mod config;
pub mod db;
pub mod domain;
pub mod entities;
pub mod error;
pub mod events;
pub mod ids;
pub mod infra;
pub mod pricing;
pub mod probe;
pub mod qc;
pub mod queue;
pub mod quota;
pub mod telemetry;
#[cfg(feature = "test-support")]
pub mod testing;
pub mod webhooks;

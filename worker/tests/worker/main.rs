//! The worker's integration tests: job claims and outcomes against a real Postgres database
//! of the test's own.

mod context;
mod fleet;
mod router;
mod store;
mod cluster;
mod durability;

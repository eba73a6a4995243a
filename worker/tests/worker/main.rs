//! The worker's integration tests: job claims and outcomes against a real Postgres database
//! of the test's own.

mod answers;
mod budgets;
mod cluster;
mod context;
mod dispatcher;
mod durability;
mod fleet;
mod recorded;
mod review;
mod router;
mod scheduling;
mod secrecy;
mod store;
mod webhooks;

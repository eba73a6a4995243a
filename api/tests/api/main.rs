//! The API's integration tests: one binary, the app on a port-0 listener, a database and a
//! Redis namespace per test, and the real worker draining the queue against llm-sim.

mod analytics;
mod analytics_sqlite;
mod answers;
mod batches;
mod contract;
mod control;
mod day_two;
mod delivery;
mod end_to_end;
mod export;
mod helpers;
mod intake;
mod jobs;
mod live;
mod observability;
mod openapi;
mod operations;
mod outage;
mod pipeline;
mod probe;
mod providers;
mod quota_sqlite;
mod quotas;
mod retry;
mod review;
mod security;
mod webhooks;

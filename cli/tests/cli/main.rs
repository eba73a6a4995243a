//! The `bacowr` binary as a user runs it: a real child process against a server running in
//! this test (API, workers and the provider simulator on real ports, Postgres and Redis).

mod commands;
mod crash;
mod demo;
mod errors;
mod helpers;
mod spec;
mod up;

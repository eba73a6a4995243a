//! The `bacowr` command: run BACOWR on one machine (`up`, `demo`) and drive any BACOWR server
//! from a terminal or a script (`submit`, `status`, `review`, `export`).

pub mod client;
pub mod commands;
pub mod exit;
pub mod local;
pub mod output;
pub mod summary;
pub mod watch;

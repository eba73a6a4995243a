//! llm-sim: a local provider simulator, and a small fixture web site (`site`) for the pages
//! BACOWR fetches. It speaks the OpenAI chat-completions wire format
//! (`POST /v1/chat/completions`) with deterministic articles, token usage and configurable
//! latency, so tests, demos and benchmarks exercise the same client code that talks to real
//! providers. More protocols and faults come with the provider router.

pub mod article;
pub mod faults;
mod openai;
mod server;
pub mod site;

pub use faults::Violation;
pub use server::{SimConfig, SimHandle, serve, spawn};
pub use site::{SiteHandle, serve_site, spawn_site};

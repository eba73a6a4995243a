//! llm-sim: a local provider simulator. It speaks the OpenAI chat-completions wire format
//! (`POST /v1/chat/completions`) with deterministic articles, token usage and configurable
//! latency, so tests, demos and benchmarks exercise the same client code that talks to real
//! providers. More protocols and faults come with the provider router.

pub mod article;
mod openai;
mod server;

pub use server::{SimConfig, SimHandle, serve, spawn};

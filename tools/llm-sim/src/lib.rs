//! llm-sim: a local provider simulator, and a small fixture web site (`site`) for the pages
//! BACOWR fetches. It speaks the OpenAI chat-completions wire format
//! (`POST /v1/chat/completions`) with deterministic articles, token usage and configurable
//! latency, so tests, demos and benchmarks exercise the same client code that talks to real
//! providers. It also speaks Anthropic Messages and Gemini generateContent, with per-route
//! fault profiles (`chaos`) settable at run time through `/admin/faults`.

pub mod article;
mod banks;
pub mod chaos;
pub mod faults;
pub mod protocol;
mod server;
pub mod site;

pub use chaos::{FaultProfile, ScriptStep};
pub use faults::Violation;
pub use protocol::Protocol;
pub use server::{Served, SimConfig, SimHandle, serve, spawn};
pub use site::{SiteHandle, serve_site, spawn_site};

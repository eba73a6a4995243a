//! How results reach clients: live progress (`[events]`) and webhooks (`[webhooks]`).

use std::time::Duration;

use serde::Deserialize;

use super::{ConfigError, MAX_DISPATCH_WINDOW};

fn invalid(field: &'static str, message: &str) -> Result<(), ConfigError> {
    Err(ConfigError::Invalid {
        field,
        message: message.to_owned(),
    })
}

/// Live progress (`[events]`): bounded per-batch Redis streams behind SSE and WebSocket.
#[derive(Clone, Deserialize)]
pub struct EventsSettings {
    pub enabled: bool,
    pub stream_max_len: u64,
    pub retention_secs: u64,
    pub publish_timeout_ms: u64,
    pub heartbeat_secs: u64,
    pub retry_ms: u64,
    pub subscriber_buffer: usize,
}

#[derive(Clone, Deserialize)]
pub struct WebhookSettings {
    pub enabled: bool,
    pub concurrency: usize,
    pub timeout_ms: u64,
    pub retry_schedule_secs: Vec<u64>,
    pub redispatch_after_secs: u64,
    pub window: usize,
    pub allow_hosts: Vec<String>,
    pub max_endpoints_per_org: usize,
    pub user_agent: String,
}

impl EventsSettings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.stream_max_len < 100 {
            return invalid("events.stream_max_len", "must be at least 100");
        }
        if self.retention_secs < 60 {
            return invalid("events.retention_secs", "must be at least 60");
        }
        if !(1..=10_000).contains(&self.publish_timeout_ms) {
            return invalid("events.publish_timeout_ms", "must be between 1 and 10000");
        }
        if !(1..=300).contains(&self.heartbeat_secs) {
            return invalid("events.heartbeat_secs", "must be between 1 and 300");
        }
        if self.subscriber_buffer < 16 {
            return invalid("events.subscriber_buffer", "must be at least 16");
        }
        Ok(())
    }
}

impl WebhookSettings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.concurrency == 0 {
            return invalid("webhooks.concurrency", "must be at least 1");
        }
        if !(100..=60_000).contains(&self.timeout_ms) {
            return invalid("webhooks.timeout_ms", "must be between 100 and 60000");
        }
        if self.retry_schedule_secs.len() > 50 {
            return invalid(
                "webhooks.retry_schedule_secs",
                "must have at most 50 entries",
            );
        }
        if self.retry_schedule_secs.iter().any(|s| *s > 7 * 86_400) {
            return invalid(
                "webhooks.retry_schedule_secs",
                "each delay must be at most a week (604800)",
            );
        }
        // A task still running must not look lost: the delivery is leased for the timeout.
        if self.redispatch_after_secs * 1000 <= self.timeout_ms * 2 {
            return invalid(
                "webhooks.redispatch_after_secs",
                "must be more than twice webhooks.timeout_ms",
            );
        }
        if self.window == 0 || self.window > MAX_DISPATCH_WINDOW {
            return invalid("webhooks.window", "must be between 1 and 2000");
        }
        if self.max_endpoints_per_org == 0 {
            return invalid("webhooks.max_endpoints_per_org", "must be at least 1");
        }
        Ok(())
    }

    /// Delay before attempt `attempts + 1` after `attempts` failed ones; `None`: give up.
    pub fn retry_delay(&self, attempts: i32) -> Option<Duration> {
        let i = usize::try_from(attempts).ok()?.checked_sub(1)?;
        self.retry_schedule_secs
            .get(i)
            .map(|s| Duration::from_secs(*s))
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }
}

//! Publishing: one Lua script per event appends it to its topic's bounded stream (which assigns
//! the id), refreshes the stream's expiry and publishes the JSON, id included, on the topic's
//! channel, atomically, so a subscriber woken by the channel always finds the entry in the
//! stream. Many events go in one pipelined round trip.

use std::time::Duration;

use super::{LiveEvent, StreamId};
use crate::{
    backplane::Backplane,
    config::{EventsSettings, Settings},
};

/// KEYS[1] stream; ARGV: max length, ttl seconds, channel, the event's JSON without its id.
/// The published JSON is the stored one with `"id"` spliced in first: no JSON codec in Lua.
const SCRIPT: &str = r#"
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'e', ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('PUBLISH', ARGV[3], '{"id":"' .. id .. '",' .. string.sub(ARGV[4], 2))
return id
"#;

/// Publishes live events after their change is committed. Cheap to clone. Never fails its
/// caller: errors and timeouts are logged and the event is dropped (Postgres has the truth).
#[derive(Clone)]
pub struct Publisher {
    backplane: Backplane,
    namespace: String,
    config: EventsSettings,
    script: redis::Script,
}

impl Publisher {
    pub fn new(backplane: Backplane, settings: &Settings) -> Self {
        Self {
            backplane,
            namespace: settings.redis.namespace.clone(),
            config: settings.events.clone(),
            script: redis::Script::new(SCRIPT),
        }
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// Publishes one event; returns its stream id, or `None` if it was not published.
    pub async fn publish(&self, event: &LiveEvent) -> Option<StreamId> {
        self.publish_many(std::slice::from_ref(event))
            .await
            .into_iter()
            .next()
    }

    /// Publishes events in order in one round trip (e.g. the 1,000 `job.queued` of a
    /// submission). Returns the ids of the published ones: all, or none on failure.
    pub async fn publish_many(&self, events: &[LiveEvent]) -> Vec<StreamId> {
        if !self.config.enabled || events.is_empty() {
            return Vec::new();
        }
        let conn = match &self.backplane {
            Backplane::Redis(conn) => conn,
            Backplane::Local(local) => {
                let ttl = Duration::from_secs(self.config.retention_secs);
                return stored(events)
                    .map(|(topic, body)| {
                        local.append(
                            &topic.stream_key(&self.namespace),
                            &topic.channel(&self.namespace),
                            body,
                            self.config.stream_max_len as usize,
                            ttl,
                        )
                    })
                    .collect();
            }
        };
        let mut pipe = redis::pipe();
        // Loading in the same round trip makes EVALSHA safe after a Redis restart or a
        // SCRIPT FLUSH, without sending the script's text once per event.
        pipe.cmd("SCRIPT").arg("LOAD").arg(SCRIPT).ignore();
        let mut count = 0;
        for (topic, body) in stored(events) {
            pipe.cmd("EVALSHA")
                .arg(self.script.get_hash())
                .arg(1)
                .arg(topic.stream_key(&self.namespace))
                .arg(self.config.stream_max_len)
                .arg(self.config.retention_secs)
                .arg(topic.channel(&self.namespace))
                .arg(body);
            count += 1;
        }
        if count == 0 {
            return Vec::new();
        }
        let mut conn = conn.clone();
        let timeout = Duration::from_millis(self.config.publish_timeout_ms);
        let result: Result<redis::RedisResult<Vec<String>>, _> =
            tokio::time::timeout(timeout, pipe.query_async(&mut conn)).await;
        match result {
            Ok(Ok(ids)) => ids.iter().filter_map(|s| StreamId::parse(s).ok()).collect(),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, events = count, "live events not published");
                Vec::new()
            }
            Err(_) => {
                tracing::warn!(
                    events = count,
                    timeout_ms = self.config.publish_timeout_ms,
                    "live events not published: Redis too slow"
                );
                Vec::new()
            }
        }
    }
}

/// Each event's topic and stored JSON (without its id, which the stream assigns).
fn stored(events: &[LiveEvent]) -> impl Iterator<Item = (super::Topic, String)> + '_ {
    events.iter().filter_map(|event| {
        let Some(topic) = event.topic() else {
            tracing::warn!(
                kind = event.kind.as_str(),
                "live event without batch or job dropped"
            );
            return None;
        };
        let mut stored = event.clone();
        stored.id = None;
        serde_json::to_string(&stored)
            .ok()
            .map(|body| (topic, body))
    })
}

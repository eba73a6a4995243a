//! The embedded build's backplane: what Redis does for a fleet, done inside the one process
//! that runs the API and its workers. Same semantics as the Redis commands it stands in for
//! (expiring keys, first-writer-wins hash fields, bounded event streams with ordered ids,
//! publish to whoever listens), so the callers' logic is the same on both.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Mutex, MutexGuard},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use tokio::sync::{Notify, broadcast};

use crate::events::StreamId;

/// Sweeping every key's expiry is O(keys); doing it once per this many writes keeps memory
/// bounded by what is live without paying it on every call.
const SWEEP_EVERY: u64 = 1024;

enum Value {
    Text(String),
    Fields(HashMap<String, String>),
}

struct Entry {
    value: Value,
    expires: Option<Instant>,
}

impl Entry {
    fn live(&self, now: Instant) -> bool {
        self.expires.is_none_or(|at| at > now)
    }
}

#[derive(Default)]
struct Keys {
    entries: HashMap<String, Entry>,
    writes: u64,
}

impl Keys {
    fn live(&mut self, key: &str, now: Instant) -> Option<&mut Entry> {
        if self.entries.get(key).is_some_and(|e| !e.live(now)) {
            self.entries.remove(key);
        }
        self.entries.get_mut(key)
    }

    fn wrote(&mut self, now: Instant) {
        self.writes += 1;
        if self.writes.is_multiple_of(SWEEP_EVERY) {
            self.entries.retain(|_, e| e.live(now));
        }
    }
}

struct Stream {
    entries: VecDeque<(StreamId, String)>,
    expires: Instant,
}

#[derive(Default)]
struct Streams {
    by_key: HashMap<String, Stream>,
    last: Option<StreamId>,
    appends: u64,
}

/// One per embedded deployment; shared by its API and workers through `Arc`.
pub struct Local {
    keys: Mutex<Keys>,
    streams: Mutex<Streams>,
    published: broadcast::Sender<(String, StreamId)>,
    wake: Notify,
}

impl Default for Local {
    fn default() -> Self {
        Self {
            keys: Mutex::default(),
            streams: Mutex::default(),
            // Subscribers that fall this far behind get a resync, never a stall.
            published: broadcast::channel(4096).0,
            wake: Notify::new(),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Local {
    pub fn get(&self, key: &str) -> Option<String> {
        let mut keys = lock(&self.keys);
        match keys.live(key, Instant::now()).map(|e| &e.value) {
            Some(Value::Text(v)) => Some(v.clone()),
            _ => None,
        }
    }

    pub fn set_ex(&self, key: &str, value: &str, ttl: Duration) {
        let now = Instant::now();
        let mut keys = lock(&self.keys);
        keys.entries.insert(
            key.to_owned(),
            Entry {
                value: Value::Text(value.to_owned()),
                expires: Some(now + ttl),
            },
        );
        keys.wrote(now);
    }

    /// Adds one to the counter `key`, sets its expiry, and returns the new count (Redis:
    /// `INCR` + `PEXPIRE`).
    pub fn incr_ex(&self, key: &str, ttl: Duration) -> i64 {
        let now = Instant::now();
        let mut keys = lock(&self.keys);
        let n = match keys.live(key, now).map(|e| &e.value) {
            Some(Value::Text(v)) => v.parse::<i64>().unwrap_or(0) + 1,
            _ => 1,
        };
        keys.entries.insert(
            key.to_owned(),
            Entry {
                value: Value::Text(n.to_string()),
                expires: Some(now + ttl),
            },
        );
        keys.wrote(now);
        n
    }

    pub fn del(&self, key: &str) {
        lock(&self.keys).entries.remove(key);
    }

    /// Live keys starting with `prefix` (Redis: `SCAN MATCH prefix*`).
    pub fn keys(&self, prefix: &str) -> Vec<String> {
        let now = Instant::now();
        lock(&self.keys)
            .entries
            .iter()
            .filter(|(k, e)| k.starts_with(prefix) && e.live(now))
            .map(|(k, _)| k.clone())
            .collect()
    }

    pub fn field(&self, key: &str, field: &str) -> Option<String> {
        let mut keys = lock(&self.keys);
        match keys.live(key, Instant::now()).map(|e| &e.value) {
            Some(Value::Fields(f)) => f.get(field).cloned(),
            _ => None,
        }
    }

    /// Sets `field` to `value` unless someone holds it, refreshes the key's expiry, and returns
    /// the holder (Redis: `HSETNX` + `EXPIRE` + `HGET`).
    pub fn claim_field(&self, key: &str, field: &str, value: &str, ttl: Duration) -> String {
        let now = Instant::now();
        let mut keys = lock(&self.keys);
        if keys.live(key, now).is_none() {
            keys.entries.insert(
                key.to_owned(),
                Entry {
                    value: Value::Fields(HashMap::new()),
                    expires: None,
                },
            );
        }
        let entry = keys.entries.get_mut(key).expect("inserted above");
        entry.expires = Some(now + ttl);
        let Value::Fields(fields) = &mut entry.value else {
            // A text key under a hash's name is a programming error; treat it as held.
            return String::new();
        };
        let holder = fields
            .entry(field.to_owned())
            .or_insert_with(|| value.to_owned())
            .clone();
        keys.wrote(now);
        holder
    }

    /// Removes `field` if `holder` holds it.
    pub fn release_field(&self, key: &str, field: &str, holder: &str) {
        let mut keys = lock(&self.keys);
        if let Some(Entry {
            value: Value::Fields(fields),
            ..
        }) = keys.live(key, Instant::now())
            && fields.get(field).is_some_and(|h| h == holder)
        {
            fields.remove(field);
        }
    }

    /// Microseconds since the epoch: the clock every limiter of the process shares.
    pub fn now_micros(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as i64)
    }

    /// GCRA over `limits` (key, microseconds per unit, units; an interval of 0 is no limit),
    /// booking all or none, like the fleet's Redis script: zero when booked, else how long
    /// until everything booked before this call is due. Due times are kept as the keys' values
    /// in epoch microseconds, where `/providers` reads them.
    pub fn gcra(&self, limits: &[(&str, f64, u32)]) -> Duration {
        let now_us = self.now_micros() as f64;
        let now = Instant::now();
        let mut keys = lock(&self.keys);
        let mut tats = Vec::with_capacity(limits.len());
        let mut wait = 0.0_f64;
        for (key, interval, _) in limits {
            if *interval <= 0.0 {
                tats.push(now_us);
                continue;
            }
            let tat = match keys.live(key, now).map(|e| &e.value) {
                Some(Value::Text(v)) => v.parse::<f64>().unwrap_or(now_us),
                _ => now_us,
            }
            .max(now_us);
            wait = wait.max(tat - now_us);
            tats.push(tat);
        }
        if wait > 0.0 {
            return Duration::from_micros(wait.ceil() as u64);
        }
        for ((key, interval, cost), tat) in limits.iter().zip(tats) {
            if *interval <= 0.0 {
                continue;
            }
            let due = tat + interval * f64::from(*cost);
            let ttl =
                Duration::from_micros((due - now_us).max(0.0) as u64) + Duration::from_secs(1);
            keys.entries.insert(
                (*key).to_owned(),
                Entry {
                    value: Value::Text(format!("{due:.0}")),
                    expires: Some(now + ttl),
                },
            );
        }
        keys.wrote(now);
        Duration::ZERO
    }

    /// Asks the dispatcher to look for work now. Wake-ups coalesce: one pending is enough.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Waits for a wake-up, at most `timeout`.
    pub async fn woken(&self, timeout: Duration) {
        let _ = tokio::time::timeout(timeout, self.wake.notified()).await;
    }

    /// Appends to a bounded stream (Redis: `XADD MAXLEN` + `EXPIRE`) and tells the channel's
    /// listeners (Redis: `PUBLISH`). Ids are `<ms>-<seq>`, increasing across all streams.
    pub fn append(
        &self,
        stream: &str,
        channel: &str,
        body: String,
        max_len: usize,
        ttl: Duration,
    ) -> StreamId {
        let now = Instant::now();
        let mut streams = lock(&self.streams);
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let id = match streams.last {
            Some(last) if last.ms >= ms => StreamId {
                ms: last.ms,
                seq: last.seq + 1,
            },
            _ => StreamId { ms, seq: 0 },
        };
        streams.last = Some(id);
        streams.appends += 1;
        if streams.appends.is_multiple_of(SWEEP_EVERY) {
            streams.by_key.retain(|_, s| s.expires > now);
        }
        let entry = streams
            .by_key
            .entry(stream.to_owned())
            .or_insert_with(|| Stream {
                entries: VecDeque::new(),
                expires: now,
            });
        if entry.expires <= now {
            entry.entries.clear();
        }
        entry.expires = now + ttl;
        entry.entries.push_back((id, body));
        while entry.entries.len() > max_len.max(1) {
            entry.entries.pop_front();
        }
        drop(streams);
        // No listener is fine: nobody watches this topic.
        let _ = self.published.send((channel.to_owned(), id));
        id
    }

    /// Up to `count` entries from `start` on (inclusive), in order (Redis: `XRANGE start + COUNT`).
    pub fn range(
        &self,
        stream: &str,
        start: Option<StreamId>,
        count: usize,
    ) -> Vec<(StreamId, String)> {
        let now = Instant::now();
        let streams = lock(&self.streams);
        let Some(s) = streams.by_key.get(stream).filter(|s| s.expires > now) else {
            return Vec::new();
        };
        let from = start.map_or(0, |start| s.entries.partition_point(|(id, _)| *id < start));
        s.entries.range(from..).take(count).cloned().collect()
    }

    /// The stream's newest id (Redis: `XREVRANGE + - COUNT 1`).
    pub fn last_id(&self, stream: &str) -> Option<StreamId> {
        let now = Instant::now();
        let streams = lock(&self.streams);
        streams
            .by_key
            .get(stream)
            .filter(|s| s.expires > now)
            .and_then(|s| s.entries.back().map(|(id, _)| *id))
    }

    /// Every publish from now on, as (channel, id) (Redis: a pub/sub subscription).
    pub fn subscribe(&self) -> broadcast::Receiver<(String, StreamId)> {
        self.published.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiring_keys_and_prefix_listing() {
        let local = Local::default();
        local.set_ex("ns:providers:a:w1", "x", Duration::from_secs(30));
        local.set_ex("ns:providers:a:w2", "y", Duration::ZERO);
        assert_eq!(local.get("ns:providers:a:w1").as_deref(), Some("x"));
        assert_eq!(local.get("ns:providers:a:w2"), None);
        assert_eq!(local.keys("ns:providers:a:"), vec!["ns:providers:a:w1"]);
    }

    #[test]
    fn first_claim_wins_until_released() {
        let local = Local::default();
        let ttl = Duration::from_secs(60);
        assert_eq!(local.claim_field("k", "url", "job1", ttl), "job1");
        assert_eq!(local.claim_field("k", "url", "job2", ttl), "job1");
        local.release_field("k", "url", "job2");
        assert_eq!(local.field("k", "url").as_deref(), Some("job1"));
        local.release_field("k", "url", "job1");
        assert_eq!(local.claim_field("k", "url", "job2", ttl), "job2");
    }

    #[test]
    fn gcra_books_every_limit_or_none() {
        let local = Local::default();
        // One request a second, and tokens at 1,000 a second: a 1,500-token call books 1.5 s.
        let limits = [("rpm", 1_000_000.0, 1), ("tpm", 1_000.0, 1_500)];
        assert_eq!(local.gcra(&limits), Duration::ZERO);
        let wait = local.gcra(&limits);
        assert!(wait > Duration::from_millis(1400), "{wait:?}");
        // A refusal booked nothing: the due times are still the first call's.
        let rpm_due: f64 = local.get("rpm").unwrap().parse().unwrap();
        let tpm_due: f64 = local.get("tpm").unwrap().parse().unwrap();
        let now = local.now_micros() as f64;
        assert!(rpm_due - now <= 1_000_000.0 && tpm_due - now <= 1_500_000.0);
        // No limit: always zero.
        assert_eq!(local.gcra(&[("free", 0.0, 1)]), Duration::ZERO);
    }

    #[test]
    fn streams_are_ordered_bounded_and_published() {
        let local = Local::default();
        let mut rx = local.subscribe();
        let ttl = Duration::from_secs(60);
        let ids: Vec<_> = (0..5)
            .map(|i| local.append("s", "c", format!("{i}"), 3, ttl))
            .collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        let all = local.range("s", None, 10);
        assert_eq!(
            all.iter().map(|(_, b)| b.as_str()).collect::<Vec<_>>(),
            ["2", "3", "4"]
        );
        let after = local.range("s", Some(ids[3]), 10);
        assert_eq!(after[0].0, ids[3]);
        assert_eq!(after.len(), 2);
        assert_eq!(local.last_id("s"), Some(ids[4]));
        assert_eq!(rx.try_recv().unwrap(), ("c".to_owned(), ids[0]));
    }
}

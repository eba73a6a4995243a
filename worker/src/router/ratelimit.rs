//! Fleet-wide requests- and tokens-per-minute limits per deployment: GCRA in one atomic Redis
//! script, on Redis' clock, so any number of worker processes together stay within the limit.
//! If Redis can't be reached the limit is kept per process instead.

use std::{collections::HashMap, sync::Mutex, time::Duration};

use redis::{Script, aio::ConnectionManager};

/// Returns 0 and books `cost` units, or the milliseconds to wait before `cost` fits.
const GCRA: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local cost = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local wait = tat - now
if wait > 0 and cost > 0 and wait >= interval then
  return wait
end
local new_tat = tat + interval * cost
redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil(new_tat - now) + 1000)
return 0
"#;

pub struct RateLimiter {
    redis: ConnectionManager,
    namespace: String,
    script: Script,
    local: Mutex<HashMap<String, tokio::time::Instant>>,
}

/// One limit: `per_minute` units shared by the fleet.
pub struct Limit<'a> {
    pub key: &'a str,
    pub per_minute: u32,
    pub cost: u32,
}

impl RateLimiter {
    pub fn new(redis: ConnectionManager, namespace: &str) -> Self {
        Self {
            redis,
            namespace: namespace.to_owned(),
            script: Script::new(GCRA),
            local: Mutex::new(HashMap::new()),
        }
    }

    /// Zero when the call may go now (and is booked), else how long to wait first.
    pub async fn check(&self, limit: &Limit<'_>) -> Duration {
        if limit.per_minute == 0 {
            return Duration::ZERO;
        }
        // Milliseconds per unit; a single call larger than a minute's budget still goes,
        // alone, once the bucket is empty.
        let interval_ms = 60_000.0 / f64::from(limit.per_minute);
        let key = format!("{}:ratelimit:{}", self.namespace, limit.key);
        let mut conn = self.redis.clone();
        let result: Result<i64, _> = self
            .script
            .key(&key)
            .arg(interval_ms)
            .arg(limit.cost)
            .invoke_async(&mut conn)
            .await;
        match result {
            Ok(wait_ms) => Duration::from_millis(wait_ms.max(0) as u64),
            Err(e) => {
                tracing::warn!(error = %e, "fleet rate limiter unavailable; limiting this process only");
                self.check_local(&key, interval_ms, limit.cost)
            }
        }
    }

    fn check_local(&self, key: &str, interval_ms: f64, cost: u32) -> Duration {
        let now = tokio::time::Instant::now();
        let mut local = self.local.lock().expect("limiter lock");
        let tat = local.get(key).copied().unwrap_or(now).max(now);
        let interval = Duration::from_micros((interval_ms * 1000.0) as u64);
        if tat > now && tat - now >= interval {
            return tat - now;
        }
        local.insert(key.to_owned(), tat + interval * cost);
        Duration::ZERO
    }
}

//! Fleet-wide requests- and tokens-per-minute limits per deployment: GCRA in one atomic Redis
//! script, on Redis' clock, so any number of worker processes together stay within the limit.
//! If Redis can't be reached the limit is kept per process instead.

use std::time::Duration;

use redis::Script;

use bacowr_shared::backplane::{Backplane, Local};

/// Books one request on KEYS[1] and ARGV[3] tokens on KEYS[2] (intervals in microseconds
/// per unit in ARGV[1], ARGV[2]; 0 = no limit), both or neither. Returns -1 when booked, else
/// the whole milliseconds to wait until both fit. Time is kept in microseconds: on a
/// millisecond clock a call landing in the same millisecond as a fractional due time was told
/// to wait a whole millisecond (then a timer tick more) though it was within its budget.
const GCRA: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local wait = 0
local tats = {}
for i = 1, 2 do
  local interval = tonumber(ARGV[i])
  if interval > 0 then
    local tat = tonumber(redis.call('GET', KEYS[i]) or now)
    if tat < now then tat = now end
    tats[i] = tat
    -- A call goes out once everything booked before it is due.
    local w = tat - now
    if w > wait then wait = w end
  end
end
if wait > 0 then
  return math.ceil(wait / 1000)
end
local costs = {1, tonumber(ARGV[3])}
for i = 1, 2 do
  local interval = tonumber(ARGV[i])
  if interval > 0 then
    local new_tat = tats[i] + interval * costs[i]
    redis.call('SET', KEYS[i], string.format('%.0f', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1000)
  end
end
return -1
"#;

pub struct RateLimiter {
    backplane: Backplane,
    namespace: String,
    script: Script,
    /// This process's own limits, for when Redis can't be reached.
    fallback: Local,
}

/// A deployment's fleet-wide budget.
pub struct Limits<'a> {
    pub deployment: &'a str,
    pub rpm: u32,
    pub tpm: u32,
    /// Tokens this call will use, estimated.
    pub tokens: u32,
}

fn interval_us(per_minute: u32) -> f64 {
    if per_minute == 0 {
        0.0
    } else {
        60_000_000.0 / f64::from(per_minute)
    }
}

impl RateLimiter {
    pub fn new(backplane: Backplane, namespace: &str) -> Self {
        Self {
            backplane,
            namespace: namespace.to_owned(),
            script: Script::new(GCRA),
            fallback: Local::default(),
        }
    }

    /// Zero when the call may go now (and is booked on both limits), else how long to wait.
    pub async fn check(&self, limits: &Limits<'_>) -> Duration {
        if limits.rpm == 0 && limits.tpm == 0 {
            return Duration::ZERO;
        }
        // `:us`: due times in microseconds. A new name, so a rolling deploy never has old
        // workers read these as milliseconds (they would wait for ages) or the other way.
        let rpm_key = format!("{}:ratelimit:{}:rpm:us", self.namespace, limits.deployment);
        let tpm_key = format!("{}:ratelimit:{}:tpm:us", self.namespace, limits.deployment);
        let conn = match &self.backplane {
            Backplane::Redis(conn) => conn,
            // The embedded build: the process's backplane is the fleet, shared by all its
            // worker runtimes, with the script's semantics.
            Backplane::Local(local) => {
                return local.gcra(&[
                    (&rpm_key, interval_us(limits.rpm), 1),
                    (&tpm_key, interval_us(limits.tpm), limits.tokens),
                ]);
            }
        };
        let mut conn = conn.clone();
        let result: Result<i64, _> = self
            .script
            .key(&rpm_key)
            .key(&tpm_key)
            .arg(interval_us(limits.rpm))
            .arg(interval_us(limits.tpm))
            .arg(limits.tokens)
            .invoke_async(&mut conn)
            .await;
        match result {
            Ok(wait_ms) if wait_ms < 0 => Duration::ZERO,
            Ok(wait_ms) => Duration::from_millis(wait_ms.max(1) as u64),
            Err(e) => {
                tracing::warn!(error = %e, "fleet rate limiter unavailable; limiting this process only");
                self.fallback.gcra(&[
                    (&rpm_key, interval_us(limits.rpm), 1),
                    (&tpm_key, interval_us(limits.tpm), limits.tokens),
                ])
            }
        }
    }
}

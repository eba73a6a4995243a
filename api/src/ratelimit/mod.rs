//! Rate limits: GCRA buckets checked atomically in Redis (one budget across every API
//! replica), or in process memory when `rate_limit.store = "memory"` and as the fallback when
//! Redis fails. A request is charged to all its buckets or to none.

mod memory;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use redis::{Script, aio::ConnectionManager};

use memory::MemoryStore;

/// One budget: `limit` requests per `period` under `key`.
#[derive(Debug, Clone)]
pub struct Bucket {
    pub key: String,
    pub limit: u32,
    pub period: Duration,
}

impl Bucket {
    pub fn per_minute(key: impl Into<String>, limit: u32) -> Self {
        Self {
            key: key.into(),
            limit: limit.max(1),
            period: Duration::from_secs(60),
        }
    }
}

/// The outcome for the binding bucket: the one that refused, or the one closest to refusing.
#[derive(Debug, Clone)]
pub struct Decision {
    pub allowed: bool,
    pub bucket: String,
    pub limit: u32,
    pub period: Duration,
    pub remaining: u32,
    /// Until the bucket is full again.
    pub reset: Duration,
    /// Until the next request would be allowed (zero when allowed).
    pub retry_after: Duration,
}

impl Decision {
    fn allowed(b: &Bucket, remaining: u32, reset: Duration) -> Self {
        Self {
            allowed: true,
            bucket: b.key.clone(),
            limit: b.limit,
            period: b.period,
            remaining,
            reset,
            retry_after: Duration::ZERO,
        }
    }

    fn refused(b: &Bucket, reset: Duration, retry_after: Duration) -> Self {
        Self {
            allowed: false,
            bucket: b.key.clone(),
            limit: b.limit,
            period: b.period,
            remaining: 0,
            reset,
            retry_after,
        }
    }

    fn unlimited() -> Self {
        Self {
            allowed: true,
            bucket: String::new(),
            limit: u32::MAX,
            period: Duration::from_secs(60),
            remaining: u32::MAX,
            reset: Duration::ZERO,
            retry_after: Duration::ZERO,
        }
    }

    /// Whole seconds a client should wait (`Retry-After`), at least 1 when refused.
    pub fn retry_after_secs(&self) -> u64 {
        if self.allowed {
            0
        } else {
            self.retry_after.as_secs() + u64::from(self.retry_after.subsec_nanos() > 0)
        }
    }

    pub fn reset_secs(&self) -> u64 {
        self.reset.as_secs() + u64::from(self.reset.subsec_nanos() > 0)
    }
}

#[derive(Clone)]
pub struct Limiter {
    redis: Option<(ConnectionManager, String)>,
    memory: Arc<MemoryStore>,
    script: Arc<Script>,
    /// When each bucket's last refusal was reported, so a flood makes one security event per
    /// bucket per window, not one per request.
    reported: Arc<Mutex<HashMap<String, Instant>>>,
}

/// A refusal is reported again after this long.
const REPORT_EVERY: Duration = Duration::from_secs(10);

impl Limiter {
    /// `redis`: the connection and key namespace; `None` keeps limits in this process.
    pub fn new(redis: Option<(ConnectionManager, String)>) -> Self {
        Self {
            redis,
            memory: Arc::new(MemoryStore::default()),
            script: Arc::new(Script::new(include_str!("gcra.lua"))),
            reported: Arc::default(),
        }
    }

    pub async fn check(&self, buckets: &[Bucket]) -> Decision {
        if let Some((conn, namespace)) = &self.redis {
            match self.check_redis(conn.clone(), namespace, buckets).await {
                Ok(decision) => return decision,
                Err(e) => tracing::warn!(
                    error = %e,
                    "rate limit check in Redis failed; limiting in this process instead"
                ),
            }
        }
        self.memory.check(buckets)
    }

    async fn check_redis(
        &self,
        mut conn: ConnectionManager,
        namespace: &str,
        buckets: &[Bucket],
    ) -> redis::RedisResult<Decision> {
        if buckets.is_empty() {
            return Ok(Decision::unlimited());
        }
        let mut invocation = self.script.prepare_invoke();
        for b in buckets {
            invocation
                .key(format!("{namespace}:rl:{}", b.key))
                .arg(b.period.as_micros() as u64)
                .arg(b.limit);
        }
        let (allowed, limit, remaining, reset_us, retry_us, index): (
            i64,
            u32,
            u32,
            i64,
            i64,
            usize,
        ) = invocation.invoke_async(&mut conn).await?;
        let micros = |us: i64| Duration::from_micros(us.max(0) as u64);
        let bucket = &buckets[index.clamp(1, buckets.len()) - 1];
        Ok(Decision {
            allowed: allowed == 1,
            bucket: bucket.key.clone(),
            limit,
            period: bucket.period,
            remaining,
            reset: micros(reset_us),
            retry_after: micros(retry_us),
        })
    }

    /// Whether this refusal should be recorded as a security event (first in its window).
    pub fn should_report(&self, decision: &Decision) -> bool {
        let mut reported = self.reported.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if reported.len() > 10_000 {
            reported.retain(|_, at| now.duration_since(*at) < REPORT_EVERY);
        }
        match reported.get(&decision.bucket) {
            Some(at) if now.duration_since(*at) < REPORT_EVERY => false,
            _ => {
                reported.insert(decision.bucket.clone(), now);
                true
            }
        }
    }
}

//! The backplane: what the processes of a deployment share outside the database (cache,
//! first-writer-wins reservations, provider status, rate-limit clocks, dispatcher wake-ups and
//! live-event streams). Redis in production, where many API and worker processes must agree;
//! this process's memory in the embedded build (#8), where there is only one. Callers say what
//! they need, once; each operation is the same Redis command (or script) as before, or its
//! in-process equivalent in [`Local`].

mod local;

use std::{sync::Arc, time::Duration};

use redis::{AsyncCommands, aio::ConnectionManager};

pub use local::Local;

#[derive(Clone)]
pub enum Backplane {
    Redis(ConnectionManager),
    Local(Arc<Local>),
}

pub type Result<T> = std::result::Result<T, redis::RedisError>;

/// Where a deployment's fleet-wide breaker opening is kept: `<end in Unix milliseconds>:<digest
/// of the deployment's configuration>`, expiring with the opening. Written by the worker whose breaker opened, read by every
/// worker and by `GET /api/v1/providers`.
pub fn fleet_breaker_key(namespace: &str, deployment: &str) -> String {
    format!("{namespace}:breaker:{deployment}")
}

impl Backplane {
    /// A new in-process backplane (the embedded build).
    pub fn local() -> Self {
        Self::Local(Arc::default())
    }

    pub fn is_local(&self) -> bool {
        matches!(self, Self::Local(_))
    }

    /// The Redis connection, when there is one (queues and scripts that only exist there).
    pub fn redis(&self) -> Option<&ConnectionManager> {
        match self {
            Self::Redis(conn) => Some(conn),
            Self::Local(_) => None,
        }
    }

    /// Whether it answers: a Redis `PING`; the in-process one always does.
    pub async fn ping(&self) -> Result<()> {
        match self {
            Self::Redis(conn) => {
                let mut conn = conn.clone();
                redis::cmd("PING").query_async::<String>(&mut conn).await?;
                Ok(())
            }
            Self::Local(_) => Ok(()),
        }
    }

    pub async fn get(&self, key: &str) -> Result<Option<String>> {
        match self {
            Self::Redis(conn) => conn.clone().get(key).await,
            Self::Local(local) => Ok(local.get(key)),
        }
    }

    pub async fn set_ex(&self, key: &str, value: &str, ttl: Duration) -> Result<()> {
        match self {
            Self::Redis(conn) => conn.clone().set_ex(key, value, ttl.as_secs().max(1)).await,
            Self::Local(local) => {
                local.set_ex(key, value, ttl);
                Ok(())
            }
        }
    }

    /// Adds one to the counter `key` and (re)sets its expiry; the new count.
    pub async fn incr_ex(&self, key: &str, ttl: Duration) -> Result<i64> {
        match self {
            Self::Redis(conn) => {
                let mut conn = conn.clone();
                let (n,): (i64,) = redis::pipe()
                    .atomic()
                    .incr(key, 1)
                    .pexpire(key, ttl.as_millis().max(1) as i64)
                    .ignore()
                    .query_async(&mut conn)
                    .await?;
                Ok(n)
            }
            Self::Local(local) => Ok(local.incr_ex(key, ttl)),
        }
    }

    pub async fn del(&self, key: &str) -> Result<()> {
        match self {
            Self::Redis(conn) => conn.clone().del(key).await,
            Self::Local(local) => {
                local.del(key);
                Ok(())
            }
        }
    }

    /// Keys starting with `prefix`.
    pub async fn keys(&self, prefix: &str) -> Result<Vec<String>> {
        match self {
            Self::Redis(conn) => {
                let mut conn = conn.clone();
                let mut iter = conn.scan_match::<_, String>(format!("{prefix}*")).await?;
                let mut keys = Vec::new();
                while let Some(key) = iter.next_item().await {
                    keys.push(key?);
                }
                Ok(keys)
            }
            Self::Local(local) => Ok(local.keys(prefix)),
        }
    }

    /// Who holds `field` of the reservation hash `key`.
    pub async fn field(&self, key: &str, field: &str) -> Result<Option<String>> {
        match self {
            Self::Redis(conn) => conn.clone().hget(key, field).await,
            Self::Local(local) => Ok(local.field(key, field)),
        }
    }

    /// Takes `field` for `value` unless it is held, keeps the hash for `ttl`, and returns the
    /// holder: `value` if the claim won.
    pub async fn claim_field(
        &self,
        key: &str,
        field: &str,
        value: &str,
        ttl: Duration,
    ) -> Result<Option<String>> {
        match self {
            Self::Redis(conn) => {
                let mut conn = conn.clone();
                let (_, _, holder): (bool, bool, Option<String>) = redis::pipe()
                    .hset_nx(key, field, value)
                    .expire(key, ttl.as_secs().max(1) as i64)
                    .hget(key, field)
                    .query_async(&mut conn)
                    .await?;
                Ok(holder)
            }
            Self::Local(local) => Ok(Some(local.claim_field(key, field, value, ttl))),
        }
    }

    /// Gives `field` back if `holder` holds it.
    pub async fn release_field(&self, key: &str, field: &str, holder: &str) -> Result<()> {
        match self {
            Self::Redis(conn) => {
                let mut conn = conn.clone();
                let owner: Option<String> = conn.hget(key, field).await?;
                if owner.as_deref() == Some(holder) {
                    let _: i64 = conn.hdel(key, field).await?;
                }
                Ok(())
            }
            Self::Local(local) => {
                local.release_field(key, field, holder);
                Ok(())
            }
        }
    }

    /// The shared clock, in microseconds since the epoch (Redis: `TIME`).
    pub async fn now_micros(&self) -> Result<i64> {
        match self {
            Self::Redis(conn) => {
                let mut conn = conn.clone();
                let (secs, micros): (i64, i64) = redis::cmd("TIME").query_async(&mut conn).await?;
                Ok(secs * 1_000_000 + micros)
            }
            Self::Local(local) => Ok(local.now_micros()),
        }
    }

    /// Asks the active dispatcher to look for work now (a new batch, a finished job). Best
    /// effort: its periodic tick finds the work anyway.
    pub async fn wake_dispatcher(&self, namespace: &str) {
        match self {
            Self::Redis(conn) => crate::queue::wake_dispatcher(conn, namespace).await,
            Self::Local(local) => local.wake(),
        }
    }
}

//! Exactly one active dispatcher across the fleet: the holder of a Postgres session-level
//! advisory lock on its own connection. When the holder dies its connection closes and
//! Postgres frees the lock at once; a Postgres restart frees it too, and the holder notices
//! when its next check fails. A host that vanishes without closing its socket (power loss, a
//! partition) is found by TCP keepalives set on the session, within about half a minute,
//! not the operating system's two hours. The connection must reach Postgres directly (or
//! through a session-mode pooler): a transaction-mode pooler can't hold a session lock.
//!
//! On SQLite (the embedded build, #8) one process owns the database file, but it may run
//! several worker runtimes, each with a candidate: the lock is then this process's own, one
//! per database and namespace, freed when its holder releases it or is dropped.

use std::{
    collections::BTreeSet,
    str::FromStr,
    sync::{Mutex, PoisonError},
    time::Duration,
};

use sea_orm::sqlx::{ConnectOptions, Connection, PgConnection, postgres::PgConnectOptions};

pub struct Leadership {
    url: String,
    key: i64,
    /// Set on SQLite: the lock is [`HELD`]'s entry of this name.
    process_key: Option<String>,
    conn: Option<PgConnection>,
    held: bool,
}

/// The SQLite locks held in this process, by [`process_key`].
static HELD: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

impl Leadership {
    pub fn new(url: &str, namespace: &str) -> Self {
        Self {
            url: url.to_owned(),
            key: lock_key(namespace),
            process_key: url
                .starts_with("sqlite:")
                .then(|| process_key(url, namespace)),
            conn: None,
            held: false,
        }
    }

    /// Whether this process is the dispatcher now: keeps the lock if it has it, tries to take
    /// it otherwise. Never errs: a failed check means "not the leader" until the next try.
    pub async fn check(&mut self) -> bool {
        match self.try_check().await {
            Ok(held) => {
                if held != self.held {
                    tracing::info!(leader = held, "dispatcher leadership changed");
                }
                self.held = held;
            }
            Err(e) => {
                if self.held {
                    tracing::warn!(error = %e, "lost the dispatcher lock's connection; stepping down");
                }
                self.held = false;
                self.conn = None;
            }
        }
        self.held
    }

    async fn try_check(&mut self) -> Result<bool, sea_orm::sqlx::Error> {
        if let Some(key) = &self.process_key {
            // Only this holder removes its entry: holding it is knowing it.
            return Ok(self.held || held().insert(key.clone()));
        }
        if self.conn.is_none() {
            let options = PgConnectOptions::from_str(&self.url)?.options([
                ("tcp_keepalives_idle", "10"),
                ("tcp_keepalives_interval", "5"),
                ("tcp_keepalives_count", "3"),
                ("application_name", "bacowr-dispatcher"),
            ]);
            let conn: PgConnection =
                tokio::time::timeout(Duration::from_secs(5), options.connect())
                    .await
                    .map_err(|_| sea_orm::sqlx::Error::PoolTimedOut)??;
            self.conn = Some(conn);
            self.held = false;
        }
        let conn = self.conn.as_mut().expect("connected above");
        let query = if self.held {
            // Ask Postgres whether this session still holds it, rather than assume it.
            sea_orm::sqlx::query_scalar::<_, bool>(
                "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' \
                 AND pid = pg_backend_pid() AND granted \
                 AND ((classid::bigint << 32) | objid::bigint) = $1)",
            )
            .bind(self.key)
        } else {
            sea_orm::sqlx::query_scalar::<_, bool>("SELECT pg_try_advisory_lock($1)").bind(self.key)
        };
        tokio::time::timeout(Duration::from_secs(5), query.fetch_one(conn))
            .await
            .map_err(|_| sea_orm::sqlx::Error::PoolTimedOut)?
    }

    /// Gives the lock up (graceful shutdown) so another process takes over without waiting.
    pub async fn release(&mut self) {
        if let Some(conn) = self.conn.take() {
            let _ = conn.close().await;
        }
        self.release_process_lock();
    }

    fn release_process_lock(&mut self) {
        if let (true, Some(key)) = (self.held, &self.process_key) {
            held().remove(key);
        }
        self.held = false;
    }
}

/// A candidate that ends without `release` (a panic, an aborted task) frees its SQLite lock
/// too; on Postgres, dropping the connection does.
impl Drop for Leadership {
    fn drop(&mut self) {
        self.release_process_lock();
    }
}

/// A poisoned set is still right: every change to it is a single insert or remove.
fn held() -> std::sync::MutexGuard<'static, BTreeSet<String>> {
    HELD.lock().unwrap_or_else(PoisonError::into_inner)
}

fn process_key(url: &str, namespace: &str) -> String {
    format!("{namespace}\n{url}")
}

/// A stable 64-bit key per deployment namespace (FNV-1a): deployments sharing a database
/// don't share a dispatcher.
fn lock_key(namespace: &str) -> i64 {
    let hash = format!("bacowr-dispatcher:{namespace}")
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
    i64::from_ne_bytes(hash.to_ne_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sqlite_leadership_is_one_candidate_at_a_time_per_database_and_namespace() {
        let url = "sqlite://leader-test.db?mode=rwc";
        let mut first = Leadership::new(url, "leader-test");
        let mut second = Leadership::new(url, "leader-test");
        assert!(first.check().await);
        assert!(!second.check().await);
        assert!(first.check().await, "the holder keeps it");
        assert!(!second.check().await);

        let mut elsewhere = Leadership::new(url, "leader-test-other");
        assert!(elsewhere.check().await, "another namespace has its own");

        first.release().await;
        assert!(!first.held);
        assert!(second.check().await, "released: the other takes it");
        assert!(!first.check().await);

        drop(second);
        assert!(first.check().await, "a dropped holder frees it");
        elsewhere.release().await;
        first.release().await;
    }
}

//! The dispatcher: Postgres holds the queue of record, Redis delivers. Every
//! worker process runs a candidate; the one holding the advisory lock feeds Redis from
//! Postgres, fairly across organizations and within a bounded window, and puts back what
//! Redis lost or a dead worker dropped. The others wait to take over.

mod leader;
mod pick;
pub mod queues;
pub mod recover;
mod trim;

use std::{sync::Arc, time::Duration};

use chrono::{SubsecRound, Utc};
use redis::aio::ConnectionManager;
use sea_orm::DatabaseConnection;
use tokio::sync::watch;

use bacowr_shared::{
    backplane::Backplane,
    config::Settings,
    db::connect_redis,
    infra::Queues,
    queue::{self, ArticleQueue},
    webhooks::queue::WebhookQueue,
};

use crate::metrics::Metrics;

use recover::StepError;

pub use leader::Leadership;

pub struct Dispatcher {
    pub db: DatabaseConnection,
    pub backplane: Backplane,
    pub queues: Queues,
    pub queue: ArticleQueue,
    pub webhook_queue: WebhookQueue,
    pub settings: Settings,
    pub metrics: Arc<Metrics>,
    /// Live events for the jobs it releases or fails after their worker vanished.
    pub events: bacowr_shared::events::Publisher,
}

/// Rest between ticks however often wake-ups arrive, so a flood of finishing jobs costs a
/// bounded number of queries.
const MIN_TICK_GAP: Duration = Duration::from_millis(50);

impl Dispatcher {
    /// Runs until `stop` turns true, then gives up the lock.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let d = &self.settings.dispatch;
        let tick = Duration::from_millis(d.tick_ms);
        let mut leadership =
            Leadership::new(&self.settings.database.url, &self.settings.redis.namespace);
        let mut wake: Option<ConnectionManager> = None;
        let mut last_lost_check = tokio::time::Instant::now();
        // Since when Postgres has answered without a break (see `tick`).
        let mut db_ok_since: Option<tokio::time::Instant> = None;
        while !*stop.borrow() {
            if !leadership.check().await {
                self.metrics.set_leader(false);
                tokio::select! {
                    _ = tokio::time::sleep(tick.max(Duration::from_secs(1))) => {}
                    _ = stop.changed() => {}
                }
                continue;
            }
            self.metrics.set_leader(true);
            let check_lost = last_lost_check.elapsed()
                >= Duration::from_secs(d.redispatch_after_secs / 3).max(Duration::from_secs(1));
            if check_lost {
                last_lost_check = tokio::time::Instant::now();
            }
            let lease = self.settings.worker.lease();
            let expire_leases = db_ok_since.is_some_and(|t| t.elapsed() >= lease);
            if self.tick(check_lost, expire_leases).await {
                db_ok_since.get_or_insert_with(tokio::time::Instant::now);
            } else {
                db_ok_since = None;
            }
            tokio::select! {
                _ = self.wait_for_wake(&mut wake, tick) => {}
                _ = stop.changed() => {}
            }
            tokio::time::sleep(MIN_TICK_GAP).await;
        }
        leadership.release().await;
        self.metrics.set_leader(false);
    }

    /// One pass: recover what was lost, then fill the window fairly, then trim. Each step
    /// stands alone: a Redis error doesn't stop the Postgres-only steps, nor one step the rest.
    /// Leases are expired only once Postgres has answered for a whole lease period: after an
    /// outage, workers that kept working need that long to renew, and expiring their leases
    /// at once would throw their work away. Returns whether Postgres answered throughout.
    async fn tick(&self, check_lost: bool, expire_leases: bool) -> bool {
        let d = &self.settings.dispatch;
        let now = Utc::now().trunc_subsecs(6);
        let namespace = &self.settings.redis.namespace;
        let mut db_ok = true;
        let mut step = |name: &str, result: Result<(), StepError>| {
            if let Err(e) = result {
                if matches!(e, StepError::Postgres(_)) {
                    db_ok = false;
                }
                tracing::warn!(step = name, error = %e, "dispatch step failed; retrying next tick");
            }
        };
        step(
            "redis reset",
            recover::after_redis_reset(&self.db, &self.queues, namespace)
                .await
                .map(drop),
        );
        step(
            "cancelled batches",
            recover::cancelled_stragglers(&self.db, now)
                .await
                .map(drop)
                .map_err(StepError::from),
        );
        if expire_leases {
            step(
                "expired leases",
                recover::expired_leases(&self.db, &self.events, d.max_attempts, now)
                    .await
                    .map(drop)
                    .map_err(StepError::from),
            );
        }
        if check_lost {
            let before = now - chrono::Duration::seconds(d.redispatch_after_secs as i64);
            let give_up = now - chrono::Duration::seconds(10 * d.redispatch_after_secs as i64);
            step(
                "lost tasks",
                recover::lost_tasks(&self.db, &self.queues, &self.settings, before, give_up)
                    .await
                    .map(drop),
            );
        }
        step("dispatch", self.fill_window(now).await);
        step("webhooks", self.dispatch_webhooks(now).await);
        step(
            "trim",
            queues::trim(&self.queues, &self.settings, d.trim_per_tick).await,
        );
        if let Ok(depth) = queues::depth(&self.queues, &self.settings).await {
            self.metrics.set_queue_depth(depth);
        }
        db_ok
    }

    async fn fill_window(&self, now: chrono::DateTime<Utc>) -> Result<(), StepError> {
        let d = &self.settings.dispatch;
        let free = d.window as i64 - pick::in_flight(&self.db).await.map_err(StepError::from)?;
        if free <= 0 {
            return Ok(());
        }
        let ids = pick::choose(&self.db, d.org_max_running as i64, free, now)
            .await
            .map_err(StepError::from)?;
        let pushed = pick::dispatch(&self.db, &self.queue, &ids, now)
            .await
            .map_err(StepError::from)?;
        if pushed > 0 {
            self.metrics.add_dispatched(pushed as u64);
            tracing::debug!(pushed, "dispatched");
        }
        Ok(())
    }

    /// Due webhook deliveries to their own queue (see `crate::webhooks::dispatch`).
    async fn dispatch_webhooks(&self, now: chrono::DateTime<Utc>) -> Result<(), StepError> {
        let pushed = crate::webhooks::dispatch::due(
            &self.db,
            &self.webhook_queue,
            &self.settings.webhooks,
            now,
        )
        .await
        .map_err(StepError::from)?;
        if pushed > 0 {
            tracing::debug!(pushed, "webhook deliveries dispatched");
        }
        Ok(())
    }

    /// Blocks on the wake-up list (on a connection of its own: a blocking pop would stall
    /// every other command on a shared, multiplexed one) for at most `tick`.
    async fn wait_for_wake(&self, wake: &mut Option<ConnectionManager>, tick: Duration) {
        if let Backplane::Local(local) = &self.backplane {
            return local.woken(tick).await;
        }
        if wake.is_none() {
            match connect_redis(&self.settings.redis).await {
                Ok(conn) => *wake = Some(conn),
                Err(e) => {
                    tracing::warn!(error = %e, "dispatcher wake-up connection failed");
                    tokio::time::sleep(tick).await;
                    return;
                }
            }
        }
        let conn = wake.as_mut().expect("connected above");
        let list = queue::dispatch_wake_list(&self.settings.redis.namespace);
        // Stay under the connection's response timeout, which would fail the pop.
        let timeout = tick
            .min(Duration::from_millis(
                self.settings.redis.response_timeout_ms / 2,
            ))
            .as_secs_f64()
            .max(0.01);
        let popped: redis::RedisResult<Option<(String, String)>> = redis::cmd("BLPOP")
            .arg(&list)
            .arg(timeout)
            .query_async(conn)
            .await;
        match popped {
            // Many wake-ups coalesce into one tick.
            Ok(Some(_)) => {
                let _: redis::RedisResult<()> =
                    redis::cmd("DEL").arg(&list).query_async(conn).await;
            }
            Ok(None) => {}
            Err(e) => {
                tracing::debug!(error = %e, "wake-up wait failed");
                tokio::time::sleep(tick).await;
            }
        }
    }
}

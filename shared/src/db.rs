//! Connections to Postgres (or SQLite) and Redis, built from settings in one place.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};

use crate::config::{DatabaseSettings, RedisSettings};

pub async fn connect_database(settings: &DatabaseSettings) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(settings.url.clone());
    options
        .max_connections(settings.max_connections)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(10))
        // Statement logging at info would print every query of every job.
        .sqlx_logging(false);
    if crate::infra::is_sqlite(&settings.url) {
        // The embedded build: one connection, so SQLite's single writer is never contended
        // (two connections upgrading read transactions to writes fail with SQLITE_BUSY
        // whatever the timeout); WAL so a long read never blocks a write.
        options
            .max_connections(1)
            .min_connections(1)
            .map_sqlx_sqlite_opts(|o| {
                o.create_if_missing(true)
                    .journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                    .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(30))
                    .foreign_keys(true)
            });
    }
    Database::connect(options).await
}

pub async fn connect_redis(settings: &RedisSettings) -> redis::RedisResult<ConnectionManager> {
    let client = redis::Client::open(settings.url.as_str())?;
    let config = ConnectionManagerConfig::new()
        .set_response_timeout(Some(Duration::from_millis(settings.response_timeout_ms)))
        .set_connection_timeout(Some(Duration::from_millis(settings.connection_timeout_ms)))
        .set_number_of_retries(6);
    client.get_connection_manager_with_config(config).await
}

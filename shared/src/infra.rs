//! The connections a process runs on, made in one place for the API, the workers and the
//! `bacowr` command. Two shapes, never mixed:
//! - **fleet** (production): Postgres and Redis, both required and checked at start, shared by
//!   any number of API and worker processes;
//! - **embedded** (#8): one process on a SQLite database, a SQLite queue file beside it and
//!   an in-process backplane. Nothing to install; nothing shared with another process.

use std::{fs::File, sync::Arc};

use apalis_sqlite::SqlitePool;
use redis::aio::ConnectionManager;
use sea_orm::{DatabaseConnection, DbBackend};

use crate::{
    backplane::Backplane,
    config::Settings,
    db::{connect_database, connect_redis},
    queue::{self, ArticleQueue},
    webhooks::queue::{WebhookQueue, webhook_queue},
};

#[derive(Debug, thiserror::Error)]
pub enum InfraError {
    #[error("database: {0}")]
    Database(#[from] sea_orm::DbErr),
    #[error("Redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("queue file: {0}")]
    Queue(#[from] apalis_sqlite::Error),
    #[error("{0}")]
    Mode(String),
}

/// Where the queues live.
#[derive(Clone)]
pub enum Queues {
    Redis(ConnectionManager),
    Sqlite(SqlitePool),
}

impl Queues {
    pub fn articles(&self, settings: &Settings) -> ArticleQueue {
        match self {
            Self::Redis(conn) => ArticleQueue::Redis(queue::article_queue(conn.clone(), settings)),
            Self::Sqlite(pool) => {
                ArticleQueue::Sqlite(queue::sqlite::article_queue(pool, settings))
            }
        }
    }

    pub fn webhooks(&self, settings: &Settings) -> WebhookQueue {
        match self {
            Self::Redis(conn) => WebhookQueue::Redis(webhook_queue(conn.clone(), settings)),
            Self::Sqlite(pool) => {
                WebhookQueue::Sqlite(queue::sqlite::webhook_queue(pool, settings))
            }
        }
    }
}

/// Cheap to clone: pools and handles.
#[derive(Clone)]
pub struct Infra {
    pub db: DatabaseConnection,
    pub backplane: Backplane,
    pub queues: Queues,
    /// The embedded build's claim on its files, held while any clone lives.
    _lock: Option<Arc<File>>,
}

/// Whether a database URL names SQLite (the embedded build).
pub fn is_sqlite(url: &str) -> bool {
    url.starts_with("sqlite:")
}

/// The queue file of an embedded database: `<database file>.queue`.
pub fn queue_path(database_url: &str) -> Result<String, InfraError> {
    let path = database_url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let path = path.split('?').next().unwrap_or_default();
    if path.is_empty() || path.contains(":memory:") {
        return Err(InfraError::Mode(format!(
            "database.url {database_url:?}: the embedded build needs a database file, \
             e.g. sqlite://bacowr-data/bacowr.db?mode=rwc"
        )));
    }
    Ok(format!("{path}.queue"))
}

impl Infra {
    /// The fleet: Postgres and Redis, both answering (the caller checks the schema: the
    /// migrations crate builds on this one). A SQLite URL is
    /// refused: the API and workers of a fleet are separate processes, and an in-process
    /// backplane can't be shared between them.
    pub async fn connect(settings: &Settings) -> Result<Self, InfraError> {
        if is_sqlite(&settings.database.url) {
            return Err(InfraError::Mode(
                "database.url is SQLite, which only the embedded build runs \
                 (`bacowr up` or `bacowr demo`); a fleet needs Postgres and Redis"
                    .into(),
            ));
        }
        let db = connect_database(&settings.database).await?;
        let redis = connect_redis(&settings.redis).await?;
        Ok(Self {
            db,
            backplane: Backplane::Redis(redis.clone()),
            queues: Queues::Redis(redis),
            _lock: None,
        })
    }

    /// The embedded build: the SQLite database of `database.url` (created if missing), its
    /// queue file, and a backplane in this process.
    pub async fn embedded(settings: &Settings) -> Result<Self, InfraError> {
        if !is_sqlite(&settings.database.url) {
            return Err(InfraError::Mode(format!(
                "the embedded build runs on SQLite; database.url is {:?}",
                settings.database.url
            )));
        }
        let queue_path = queue_path(&settings.database.url)?;
        let lock = claim(&queue_path)?;
        let db = connect_database(&settings.database).await?;
        debug_assert_eq!(db.get_database_backend(), DbBackend::Sqlite);
        let pool = queue::sqlite::connect(&queue_path).await?;
        Ok(Self {
            db,
            backplane: Backplane::local(),
            queues: Queues::Sqlite(pool),
            _lock: Some(Arc::new(lock)),
        })
    }

    pub fn is_embedded(&self) -> bool {
        self.backplane.is_local()
    }
}

/// Takes the embedded files for this process: a second process on them would run a second
/// dispatcher and keep its own backplane, unseen by this one. The operating system drops the
/// lock when the process ends, however it ends.
fn claim(queue_path: &str) -> Result<File, InfraError> {
    let path = format!("{}.lock", queue_path.trim_end_matches(".queue"));
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| InfraError::Mode(format!("cannot open {path}: {e}")))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(InfraError::Mode(format!(
            "another BACOWR process is running on {}: the embedded build runs in one process \
             (use its API, or stop it first)",
            queue_path.trim_end_matches(".queue")
        ))),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(InfraError::Mode(format!("cannot lock {path}: {e}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_process_at_a_time_on_the_embedded_files() {
        let dir = std::env::temp_dir().join(format!(
            "bacowr-infra-test-{}-{:08x}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let mut settings = Settings::from_figment(Settings::figment(None)).unwrap();
        settings.database.url = format!("sqlite://{}?mode=rwc", dir.join("b.db").display());
        let first = Infra::embedded(&settings).await.unwrap();
        let second = Infra::embedded(&settings).await.err().expect("refused");
        assert!(
            second.to_string().contains("another BACOWR process"),
            "{second}"
        );
        // The lock lives as long as any clone of the first; then the files are free again.
        let clone = first.clone();
        drop(first);
        assert!(Infra::embedded(&settings).await.is_err());
        drop(clone);
        Infra::embedded(&settings).await.unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

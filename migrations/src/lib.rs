//! The schema, as sea-orm migrations. Every migration has `up` and `down`. Column types are
//! sea-orm's portable ones so the same migrations run on Postgres and SQLite.

pub use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseConnection;

mod m0001_organizations;
mod m0002_api_keys;
mod m0003_batches;
mod m0004_jobs;
mod m0005_articles;
mod m0006_llm_calls;
mod m0007_idempotency_keys;
mod m0008_article_pipeline;
mod m0009_dispatch;
mod m0010_review;
mod m0011_webhooks;
mod m0012_analytics;
mod m0013_accounts;
mod m0014_budget_reservations;
mod m0015_provider_answers;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_organizations::Migration),
            Box::new(m0002_api_keys::Migration),
            Box::new(m0003_batches::Migration),
            Box::new(m0004_jobs::Migration),
            Box::new(m0005_articles::Migration),
            Box::new(m0006_llm_calls::Migration),
            Box::new(m0007_idempotency_keys::Migration),
            Box::new(m0008_article_pipeline::Migration),
            Box::new(m0009_dispatch::Migration),
            Box::new(m0010_review::Migration),
            Box::new(m0011_webhooks::Migration),
            Box::new(m0012_analytics::Migration),
            Box::new(m0013_accounts::Migration),
            Box::new(m0014_budget_reservations::Migration),
            Box::new(m0015_provider_answers::Migration),
        ]
    }
}

/// How to bring a database up to date, for the message a process prints when it refuses to
/// start on an unmigrated one.
pub const MIGRATE_HINT: &str = "run `bacowr-migrate up` (or `just migrate`), or start with \
                                BACOWR_DATABASE__AUTO_MIGRATE=true";

#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("the database has {count} pending migration(s) ({names}); {MIGRATE_HINT}")]
    Pending { count: usize, names: String },
    #[error("checking migrations failed: {0}")]
    Db(#[from] DbErr),
}

/// Refuses an unmigrated database, or migrates it when `auto_migrate` says so.
pub async fn ensure_migrated(
    db: &DatabaseConnection,
    auto_migrate: bool,
) -> Result<(), SchemaError> {
    if auto_migrate {
        Migrator::up(db, None).await?;
        return Ok(());
    }
    let pending = Migrator::get_pending_migrations_read_only(db).await?;
    if pending.is_empty() {
        return Ok(());
    }
    Err(SchemaError::Pending {
        count: pending.len(),
        names: pending
            .iter()
            .map(|m| m.name().to_owned())
            .collect::<Vec<_>>()
            .join(", "),
    })
}

//! The durable fleet (#5): what the dispatcher needs to feed Redis from Postgres.
//! `dispatched_at`/`dispatches` say whether (and under which task id) a queued job is in Redis;
//! `not_before` delays a retry; `traceparent` carries the submitting request's trace to
//! whichever dispatch delivers the job; `max_running` caps an organization's share of the
//! fleet; `cancelled_at` records a batch's cancellation.

use sea_orm_migration::{prelude::*, schema::*};

use crate::{m0001_organizations::Organizations, m0003_batches::Batches, m0004_jobs::Jobs};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum JobCols {
    DispatchedAt,
    Dispatches,
    NotBefore,
    Traceparent,
}

#[derive(DeriveIden)]
enum OrgCols {
    MaxRunning,
}

#[derive(DeriveIden)]
enum BatchCols {
    CancelledAt,
}

/// Partial indexes, written as SQL both Postgres and SQLite accept.
const INDEXES: [(&str, &str); 2] = [
    // The dispatcher's pick: each organization's oldest undispatched queued jobs.
    (
        "idx_jobs_undispatched",
        "CREATE INDEX idx_jobs_undispatched ON jobs (org_id, created_at, row_index) \
         WHERE status = 'queued' AND dispatched_at IS NULL",
    ),
    // What each organization has in flight: in Redis or running.
    (
        "idx_jobs_in_flight",
        "CREATE INDEX idx_jobs_in_flight ON jobs (org_id, status, dispatched_at) \
         WHERE status = 'running' OR (status = 'queued' AND dispatched_at IS NOT NULL)",
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per ALTER: SQLite adds columns one at a time.
        let job_cols = [
            timestamp_with_time_zone_null(JobCols::DispatchedAt).to_owned(),
            integer(JobCols::Dispatches).default(0).to_owned(),
            timestamp_with_time_zone_null(JobCols::NotBefore).to_owned(),
            string_len_null(JobCols::Traceparent, 128).to_owned(),
        ];
        for mut col in job_cols {
            manager
                .alter_table(
                    Table::alter()
                        .table(Jobs::Table)
                        .add_column(&mut col)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Organizations::Table)
                    .add_column(integer_null(OrgCols::MaxRunning))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Batches::Table)
                    .add_column(timestamp_with_time_zone_null(BatchCols::CancelledAt))
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        for (_, sql) in INDEXES {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (name, _) in INDEXES {
            db.execute_unprepared(&format!("DROP INDEX IF EXISTS {name}"))
                .await?;
        }
        for col in [
            JobCols::DispatchedAt,
            JobCols::Dispatches,
            JobCols::NotBefore,
            JobCols::Traceparent,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Jobs::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Organizations::Table)
                    .drop_column(OrgCols::MaxRunning)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Batches::Table)
                    .drop_column(BatchCols::CancelledAt)
                    .to_owned(),
            )
            .await
    }
}

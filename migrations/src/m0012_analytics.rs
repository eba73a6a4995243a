//! Analytics and export (#6): the indexes their read paths need.
//!
//! - `jobs (org_id, created_at)`: `/analytics/jobs` and `/analytics/backlinks` aggregate one
//!   organization's jobs created in a date range; the only index on that prefix so far
//!   (`idx_jobs_undispatched`) is partial (queued jobs), so it can't serve them.
//! - `review_items (batch_id, status, row_index)`: the export pages through a batch's approved
//!   items in sheet order (keyset on row_index); `idx_review_items_batch` puts
//!   `qc_failed_checks` before `row_index` for the reviewer's list, which breaks that order.
//!
//! `/analytics/costs` reads `llm_calls` by `(org_id, created_at)`, which
//! `idx_llm_calls_org_created` (m0006) already covers. Current articles are found through
//! `uq_articles_job_version` (m0005). Plain portable indexes: Postgres and SQLite alike.

use sea_orm_migration::prelude::*;

use crate::{m0004_jobs::Jobs, m0010_review::ReviewItems};

#[derive(DeriveMigrationName)]
pub struct Migration;

const JOBS_ORG_CREATED: &str = "idx_jobs_org_created";
const REVIEW_ITEMS_EXPORT: &str = "idx_review_items_batch_status_row";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(JOBS_ORG_CREATED)
                    .table(Jobs::Table)
                    .col(Jobs::OrgId)
                    .col(Jobs::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(REVIEW_ITEMS_EXPORT)
                    .table(ReviewItems::Table)
                    .col(ReviewItems::BatchId)
                    .col(ReviewItems::Status)
                    .col(ReviewItems::RowIndex)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(REVIEW_ITEMS_EXPORT)
                    .table(ReviewItems::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name(JOBS_ORG_CREATED)
                    .table(Jobs::Table)
                    .to_owned(),
            )
            .await
    }
}

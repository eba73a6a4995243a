//! Review (#6): one review item per job that produced an article, with a snapshot of the QC
//! report it was judged on; every decision kept in `review_decisions`; per-batch review
//! counters beside the job counters; the reviewer's feedback a regeneration carries.

use sea_orm_migration::{prelude::*, schema::*};

use crate::{m0003_batches::Batches, m0004_jobs::Jobs};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum ReviewItems {
    Table,
    Id,
    OrgId,
    BatchId,
    JobId,
    RowIndex,
    ArticleId,
    ArticleVersion,
    Status,
    QcPassed,
    QcFailedChecks,
    QcReport,
    Notes,
    Reviewer,
    ReviewedAt,
    Regenerations,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ReviewDecisions {
    Table,
    Id,
    ItemId,
    OrgId,
    Decision,
    FromStatus,
    ToStatus,
    ArticleVersion,
    Notes,
    Reviewer,
    CreatedAt,
}

#[derive(DeriveIden)]
enum BatchCols {
    PendingItems,
    ApprovedItems,
    RejectedItems,
    RegeneratingItems,
    CompletedAt,
}

#[derive(DeriveIden)]
enum JobCols {
    ReviewFeedback,
    AttemptFloor,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ReviewItems::Table)
                    .col(pk_uuid(ReviewItems::Id))
                    .col(uuid(ReviewItems::OrgId))
                    .col(uuid_null(ReviewItems::BatchId))
                    .col(uuid_uniq(ReviewItems::JobId))
                    .col(integer(ReviewItems::RowIndex))
                    .col(uuid(ReviewItems::ArticleId))
                    .col(integer(ReviewItems::ArticleVersion))
                    .col(string_len(ReviewItems::Status, 16))
                    .col(boolean(ReviewItems::QcPassed))
                    .col(integer(ReviewItems::QcFailedChecks))
                    .col(json_null(ReviewItems::QcReport))
                    .col(text_null(ReviewItems::Notes))
                    .col(string_len_null(ReviewItems::Reviewer, 200))
                    .col(timestamp_with_time_zone_null(ReviewItems::ReviewedAt))
                    .col(integer(ReviewItems::Regenerations).default(0))
                    .col(timestamp_with_time_zone(ReviewItems::CreatedAt))
                    .col(timestamp_with_time_zone(ReviewItems::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ReviewItems::Table, ReviewItems::JobId)
                            .to(Jobs::Table, Jobs::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // A batch's items by status, in QC order then sheet order: the reviewer's list.
        manager
            .create_index(
                Index::create()
                    .name("idx_review_items_batch")
                    .table(ReviewItems::Table)
                    .col(ReviewItems::BatchId)
                    .col(ReviewItems::Status)
                    .col(ReviewItems::QcFailedChecks)
                    .col(ReviewItems::RowIndex)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ReviewDecisions::Table)
                    .col(pk_uuid(ReviewDecisions::Id))
                    .col(uuid(ReviewDecisions::ItemId))
                    .col(uuid(ReviewDecisions::OrgId))
                    .col(string_len(ReviewDecisions::Decision, 32))
                    .col(string_len(ReviewDecisions::FromStatus, 16))
                    .col(string_len(ReviewDecisions::ToStatus, 16))
                    .col(integer(ReviewDecisions::ArticleVersion))
                    .col(text_null(ReviewDecisions::Notes))
                    .col(string_len_null(ReviewDecisions::Reviewer, 200))
                    .col(timestamp_with_time_zone(ReviewDecisions::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ReviewDecisions::Table, ReviewDecisions::ItemId)
                            .to(ReviewItems::Table, ReviewItems::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_review_decisions_item")
                    .table(ReviewDecisions::Table)
                    .col(ReviewDecisions::ItemId)
                    .col(ReviewDecisions::CreatedAt)
                    .to_owned(),
            )
            .await?;
        // One column per ALTER: SQLite adds columns one at a time.
        let batch_cols = [
            integer(BatchCols::PendingItems).default(0).to_owned(),
            integer(BatchCols::ApprovedItems).default(0).to_owned(),
            integer(BatchCols::RejectedItems).default(0).to_owned(),
            integer(BatchCols::RegeneratingItems).default(0).to_owned(),
            timestamp_with_time_zone_null(BatchCols::CompletedAt).to_owned(),
        ];
        for mut col in batch_cols {
            manager
                .alter_table(
                    Table::alter()
                        .table(Batches::Table)
                        .add_column(&mut col)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Jobs::Table)
                    .add_column(text_null(JobCols::ReviewFeedback))
                    .to_owned(),
            )
            .await?;
        // Attempts count up for a job's whole life (they key its call log); a retry or a
        // regeneration starts a new round at the current count instead of resetting it.
        manager
            .alter_table(
                Table::alter()
                    .table(Jobs::Table)
                    .add_column(integer(JobCols::AttemptFloor).default(0))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for col in [JobCols::ReviewFeedback, JobCols::AttemptFloor] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Jobs::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        for col in [
            BatchCols::PendingItems,
            BatchCols::ApprovedItems,
            BatchCols::RejectedItems,
            BatchCols::RegeneratingItems,
            BatchCols::CompletedAt,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Batches::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .drop_table(Table::drop().table(ReviewDecisions::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(ReviewItems::Table).to_owned())
            .await
    }
}

use sea_orm_migration::{prelude::*, schema::*};

use crate::{m0001_organizations::Organizations, m0003_batches::Batches};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum Jobs {
    Table,
    Id,
    OrgId,
    BatchId,
    RowIndex,
    PublisherDomain,
    TargetUrl,
    AnchorText,
    Language,
    Status,
    Attempts,
    LeaseOwner,
    LeaseExpiresAt,
    ErrorCode,
    ErrorMessage,
    TokensIn,
    TokensOut,
    CostMicros,
    CreatedAt,
    UpdatedAt,
    StartedAt,
    FinishedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Jobs::Table)
                    .col(pk_uuid(Jobs::Id))
                    .col(uuid(Jobs::OrgId))
                    .col(uuid_null(Jobs::BatchId))
                    .col(integer(Jobs::RowIndex))
                    .col(string_len(Jobs::PublisherDomain, 255))
                    .col(string_len(Jobs::TargetUrl, 2048))
                    .col(string_len(Jobs::AnchorText, 2000))
                    .col(string_len_null(Jobs::Language, 8))
                    .col(string_len(Jobs::Status, 16))
                    .col(integer(Jobs::Attempts).default(0))
                    .col(string_len_null(Jobs::LeaseOwner, 200))
                    .col(timestamp_with_time_zone_null(Jobs::LeaseExpiresAt))
                    .col(string_len_null(Jobs::ErrorCode, 64))
                    .col(text_null(Jobs::ErrorMessage))
                    .col(big_integer(Jobs::TokensIn).default(0))
                    .col(big_integer(Jobs::TokensOut).default(0))
                    .col(big_integer(Jobs::CostMicros).default(0))
                    .col(timestamp_with_time_zone(Jobs::CreatedAt))
                    .col(timestamp_with_time_zone(Jobs::UpdatedAt))
                    .col(timestamp_with_time_zone_null(Jobs::StartedAt))
                    .col(timestamp_with_time_zone_null(Jobs::FinishedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Jobs::Table, Jobs::OrgId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Jobs::Table, Jobs::BatchId)
                            .to(Batches::Table, Batches::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // GET /batches/{id}/jobs[?status=…] pages through one batch's jobs in submission order.
        manager
            .create_index(
                Index::create()
                    .name("idx_jobs_batch_status_row")
                    .table(Jobs::Table)
                    .col(Jobs::BatchId)
                    .col(Jobs::Status)
                    .col(Jobs::RowIndex)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_jobs_batch_row")
                    .table(Jobs::Table)
                    .col(Jobs::BatchId)
                    .col(Jobs::RowIndex)
                    .to_owned(),
            )
            .await?;
        // Tenant-scoped lookups by id, and the reconciler's scan for stale leases (#5).
        manager
            .create_index(
                Index::create()
                    .name("idx_jobs_org_id")
                    .table(Jobs::Table)
                    .col(Jobs::OrgId)
                    .col(Jobs::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_jobs_status_lease")
                    .table(Jobs::Table)
                    .col(Jobs::Status)
                    .col(Jobs::LeaseExpiresAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Jobs::Table).to_owned())
            .await
    }
}

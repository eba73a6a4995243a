use sea_orm_migration::{prelude::*, schema::*};

use crate::m0001_organizations::Organizations;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum Batches {
    Table,
    Id,
    OrgId,
    Name,
    Status,
    TotalJobs,
    QueuedJobs,
    RunningJobs,
    SucceededJobs,
    NeedsReviewJobs,
    FailedJobs,
    CancelledJobs,
    TokensIn,
    TokensOut,
    CostMicros,
    CreatedAt,
    UpdatedAt,
    FinishedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Batches::Table)
                    .col(pk_uuid(Batches::Id))
                    .col(uuid(Batches::OrgId))
                    .col(string_len_null(Batches::Name, 200))
                    .col(string_len(Batches::Status, 16))
                    .col(integer(Batches::TotalJobs))
                    .col(integer(Batches::QueuedJobs).default(0))
                    .col(integer(Batches::RunningJobs).default(0))
                    .col(integer(Batches::SucceededJobs).default(0))
                    .col(integer(Batches::NeedsReviewJobs).default(0))
                    .col(integer(Batches::FailedJobs).default(0))
                    .col(integer(Batches::CancelledJobs).default(0))
                    .col(big_integer(Batches::TokensIn).default(0))
                    .col(big_integer(Batches::TokensOut).default(0))
                    .col(big_integer(Batches::CostMicros).default(0))
                    .col(timestamp_with_time_zone(Batches::CreatedAt))
                    .col(timestamp_with_time_zone(Batches::UpdatedAt))
                    .col(timestamp_with_time_zone_null(Batches::FinishedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Batches::Table, Batches::OrgId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // GET /batches lists an org's batches newest first, paginated by id (UUIDv7).
        manager
            .create_index(
                Index::create()
                    .name("idx_batches_org_id")
                    .table(Batches::Table)
                    .col(Batches::OrgId)
                    .col(Batches::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Batches::Table).to_owned())
            .await
    }
}

use sea_orm_migration::{prelude::*, schema::*};

use crate::m0004_jobs::Jobs;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Articles {
    Table,
    Id,
    JobId,
    OrgId,
    Version,
    Title,
    BodyMarkdown,
    WordCount,
    Language,
    Provider,
    Model,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Articles::Table)
                    .col(pk_uuid(Articles::Id))
                    .col(uuid(Articles::JobId))
                    .col(uuid(Articles::OrgId))
                    .col(integer(Articles::Version))
                    .col(string_len(Articles::Title, 1000))
                    .col(text(Articles::BodyMarkdown))
                    .col(integer(Articles::WordCount))
                    .col(string_len_null(Articles::Language, 8))
                    .col(string_len(Articles::Provider, 64))
                    .col(string_len(Articles::Model, 200))
                    .col(timestamp_with_time_zone(Articles::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Articles::Table, Articles::JobId)
                            .to(Jobs::Table, Jobs::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // One article per job and version: what makes a re-delivered task write nothing twice.
        manager
            .create_index(
                Index::create()
                    .name("uq_articles_job_version")
                    .table(Articles::Table)
                    .col(Articles::JobId)
                    .col(Articles::Version)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Articles::Table).to_owned())
            .await
    }
}

use sea_orm_migration::{prelude::*, schema::*};

use crate::m0004_jobs::Jobs;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum LlmCalls {
    Table,
    Id,
    OrgId,
    JobId,
    BatchId,
    Attempt,
    Seq,
    Provider,
    Model,
    Outcome,
    HttpStatus,
    TokensIn,
    TokensOut,
    CostMicros,
    LatencyMs,
    Error,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(LlmCalls::Table)
                    .col(pk_uuid(LlmCalls::Id))
                    .col(uuid(LlmCalls::OrgId))
                    .col(uuid(LlmCalls::JobId))
                    .col(uuid_null(LlmCalls::BatchId))
                    .col(integer(LlmCalls::Attempt))
                    .col(integer(LlmCalls::Seq))
                    .col(string_len(LlmCalls::Provider, 64))
                    .col(string_len(LlmCalls::Model, 200))
                    .col(string_len(LlmCalls::Outcome, 32))
                    .col(integer_null(LlmCalls::HttpStatus))
                    .col(big_integer(LlmCalls::TokensIn).default(0))
                    .col(big_integer(LlmCalls::TokensOut).default(0))
                    .col(big_integer(LlmCalls::CostMicros).default(0))
                    .col(big_integer(LlmCalls::LatencyMs))
                    .col(text_null(LlmCalls::Error))
                    .col(timestamp_with_time_zone(LlmCalls::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(LlmCalls::Table, LlmCalls::JobId)
                            .to(Jobs::Table, Jobs::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // A call is written once per job attempt and position, however often a task is run.
        manager
            .create_index(
                Index::create()
                    .name("uq_llm_calls_job_attempt_seq")
                    .table(LlmCalls::Table)
                    .col(LlmCalls::JobId)
                    .col(LlmCalls::Attempt)
                    .col(LlmCalls::Seq)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // Usage and cost per batch and per org.
        manager
            .create_index(
                Index::create()
                    .name("idx_llm_calls_batch")
                    .table(LlmCalls::Table)
                    .col(LlmCalls::BatchId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_llm_calls_org_created")
                    .table(LlmCalls::Table)
                    .col(LlmCalls::OrgId)
                    .col(LlmCalls::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(LlmCalls::Table).to_owned())
            .await
    }
}

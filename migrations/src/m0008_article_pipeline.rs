//! The article pipeline (#3): QC reports, trust links and autofixes on articles; the QC
//! profile, its resolved thresholds, a default language and first-try passes on batches;
//! cached prompt tokens on provider calls.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m0003_batches::Batches;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Articles {
    Table,
    MetaDescription,
    QcPassed,
    QcReport,
    TrustLinks,
    Autofixes,
    Regenerations,
    ContextReport,
}

#[derive(DeriveIden)]
enum LlmCalls {
    Table,
    TokensCached,
    RetryAfterMs,
}

#[derive(DeriveIden)]
enum BatchCols {
    ProviderChain,
    QcProfile,
    QcThresholds,
    DefaultLanguage,
    FirstTryPassedJobs,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per ALTER: SQLite adds columns one at a time.
        let article_cols = [
            text_null(Articles::MetaDescription).to_owned(),
            boolean(Articles::QcPassed).default(false).to_owned(),
            json_null(Articles::QcReport).to_owned(),
            json_null(Articles::TrustLinks).to_owned(),
            json_null(Articles::Autofixes).to_owned(),
            integer(Articles::Regenerations).default(0).to_owned(),
            json_null(Articles::ContextReport).to_owned(),
        ];
        for mut col in article_cols {
            manager
                .alter_table(
                    Table::alter()
                        .table(Articles::Table)
                        .add_column(&mut col)
                        .to_owned(),
                )
                .await?;
        }
        let batch_cols = [
            string_len(BatchCols::QcProfile, 32)
                .default("standard")
                .to_owned(),
            json_null(BatchCols::QcThresholds).to_owned(),
            string_len_null(BatchCols::DefaultLanguage, 8).to_owned(),
            integer(BatchCols::FirstTryPassedJobs).default(0).to_owned(),
            json_null(BatchCols::ProviderChain).to_owned(),
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
                    .table(LlmCalls::Table)
                    .add_column(big_integer(LlmCalls::TokensCached).default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(LlmCalls::Table)
                    .add_column(big_integer_null(LlmCalls::RetryAfterMs))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(LlmCalls::Table)
                    .drop_column(LlmCalls::TokensCached)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(LlmCalls::Table)
                    .drop_column(LlmCalls::RetryAfterMs)
                    .to_owned(),
            )
            .await?;
        for col in [
            Articles::MetaDescription,
            Articles::QcPassed,
            Articles::QcReport,
            Articles::TrustLinks,
            Articles::Autofixes,
            Articles::Regenerations,
            Articles::ContextReport,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Articles::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        for col in [
            BatchCols::QcProfile,
            BatchCols::QcThresholds,
            BatchCols::DefaultLanguage,
            BatchCols::FirstTryPassedJobs,
            BatchCols::ProviderChain,
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
        Ok(())
    }
}

//! Who wrote each article and what each call was for: the article's deployment (its
//! `provider` column holds the provider kind), and per call the reasoning and cache-write
//! tokens apart, and whether it was a first draft or a regeneration (and for which checks).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Articles {
    Table,
    Deployment,
}

#[derive(DeriveIden)]
enum LlmCalls {
    Table,
    TokensReasoning,
    TokensCacheWrite,
    Purpose,
    RegeneratedFor,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Articles::Table)
                    .add_column(text_null(Articles::Deployment))
                    .to_owned(),
            )
            .await?;
        // One column per ALTER: SQLite adds columns one at a time.
        let call_cols = [
            big_integer(LlmCalls::TokensReasoning).default(0).to_owned(),
            big_integer(LlmCalls::TokensCacheWrite)
                .default(0)
                .to_owned(),
            text_null(LlmCalls::Purpose).to_owned(),
            text_null(LlmCalls::RegeneratedFor).to_owned(),
        ];
        for mut col in call_cols {
            manager
                .alter_table(
                    Table::alter()
                        .table(LlmCalls::Table)
                        .add_column(&mut col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for col in [
            LlmCalls::TokensReasoning,
            LlmCalls::TokensCacheWrite,
            LlmCalls::Purpose,
            LlmCalls::RegeneratedFor,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(LlmCalls::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Articles::Table)
                    .drop_column(Articles::Deployment)
                    .to_owned(),
            )
            .await
    }
}

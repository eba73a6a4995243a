//! Accounts and security (#7): users with roles, login sessions with rotating refresh tokens,
//! scoped and expiring API keys, per-organization limits, quotas and budgets, the audit log and
//! the record of budget alerts already sent.
//!
//! Money is kept in micro-dollars (`*_micros`), like `llm_calls.cost_micros`, so sums are exact.
//! Every limit column is nullable: `NULL` means "the configured default" (rate limits) or
//! "no limit" (quotas and budgets).

use sea_orm_migration::{prelude::*, schema::*};

use crate::{m0001_organizations::Organizations, m0002_api_keys::ApiKeys};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum Users {
    Table,
    Id,
    OrgId,
    Email,
    Name,
    PasswordHash,
    Role,
    Active,
    CreatedAt,
    UpdatedAt,
    LastLoginAt,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    UserId,
    OrgId,
    CreatedAt,
    LastUsedAt,
    RevokedAt,
    RevokedReason,
}

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    Id,
    SessionId,
    TokenHash,
    CreatedAt,
    ExpiresAt,
    UsedAt,
}

#[derive(DeriveIden)]
enum AuditLogs {
    Table,
    Id,
    OrgId,
    Kind,
    Event,
    ActorType,
    ActorId,
    RequestId,
    Method,
    Route,
    Path,
    Resource,
    Status,
    Ip,
    UserAgent,
    Body,
    Detail,
    CreatedAt,
}

#[derive(DeriveIden)]
enum BudgetAlerts {
    Table,
    OrgId,
    Metric,
    Period,
    CreatedAt,
}

#[derive(DeriveIden)]
enum KeyCols {
    Scopes,
    ExpiresAt,
    CreatedBy,
}

#[derive(DeriveIden)]
enum OrgCols {
    RatePerMinute,
    OrgRatePerMinute,
    ExpensivePerMinute,
    QuotaJobsPerMonth,
    QuotaTokensPerMonth,
    BudgetDayMicros,
    BudgetMonthMicros,
    BudgetJobMicros,
}

const ORG_COLS: [OrgCols; 8] = [
    OrgCols::RatePerMinute,
    OrgCols::OrgRatePerMinute,
    OrgCols::ExpensivePerMinute,
    OrgCols::QuotaJobsPerMonth,
    OrgCols::QuotaTokensPerMonth,
    OrgCols::BudgetDayMicros,
    OrgCols::BudgetMonthMicros,
    OrgCols::BudgetJobMicros,
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(pk_uuid(Users::Id))
                    .col(uuid(Users::OrgId))
                    // Lower-cased; one account per address across the deployment (login is
                    // by email alone).
                    .col(string_len_uniq(Users::Email, 254))
                    .col(string_len_null(Users::Name, 200))
                    // Argon2id PHC string.
                    .col(string_len(Users::PasswordHash, 255))
                    .col(string_len(Users::Role, 16))
                    .col(boolean(Users::Active).default(true))
                    .col(timestamp_with_time_zone(Users::CreatedAt))
                    .col(timestamp_with_time_zone(Users::UpdatedAt))
                    .col(timestamp_with_time_zone_null(Users::LastLoginAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Users::Table, Users::OrgId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_users_org")
                    .table(Users::Table)
                    .col(Users::OrgId)
                    .col(Users::Id)
                    .to_owned(),
            )
            .await?;
        // A session is one login: the family of its refresh tokens. Access tokens carry its id,
        // so revoking the session (logout, reuse detected, user deactivated) ends them at once.
        manager
            .create_table(
                Table::create()
                    .table(Sessions::Table)
                    .col(pk_uuid(Sessions::Id))
                    .col(uuid(Sessions::UserId))
                    .col(uuid(Sessions::OrgId))
                    .col(timestamp_with_time_zone(Sessions::CreatedAt))
                    .col(timestamp_with_time_zone(Sessions::LastUsedAt))
                    .col(timestamp_with_time_zone_null(Sessions::RevokedAt))
                    .col(string_len_null(Sessions::RevokedReason, 64))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Sessions::Table, Sessions::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_sessions_user")
                    .table(Sessions::Table)
                    .col(Sessions::UserId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RefreshTokens::Table)
                    .col(pk_uuid(RefreshTokens::Id))
                    .col(uuid(RefreshTokens::SessionId))
                    // SHA-256 of the token, hex; the token itself is only ever in the client.
                    .col(string_len_uniq(RefreshTokens::TokenHash, 64))
                    .col(timestamp_with_time_zone(RefreshTokens::CreatedAt))
                    .col(timestamp_with_time_zone(RefreshTokens::ExpiresAt))
                    // Set when exchanged; presenting a used token again is reuse.
                    .col(timestamp_with_time_zone_null(RefreshTokens::UsedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(RefreshTokens::Table, RefreshTokens::SessionId)
                            .to(Sessions::Table, Sessions::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_refresh_tokens_expiry")
                    .table(RefreshTokens::Table)
                    .col(RefreshTokens::ExpiresAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AuditLogs::Table)
                    .col(pk_uuid(AuditLogs::Id))
                    // NULL for security events before anyone is identified (a failed login
                    // for an unknown address).
                    .col(uuid_null(AuditLogs::OrgId))
                    // `request` (a mutating request) or `security`.
                    .col(string_len(AuditLogs::Kind, 16))
                    .col(string_len(AuditLogs::Event, 64))
                    .col(string_len_null(AuditLogs::ActorType, 16))
                    .col(uuid_null(AuditLogs::ActorId))
                    .col(string_len_null(AuditLogs::RequestId, 64))
                    .col(string_len_null(AuditLogs::Method, 10))
                    .col(string_len_null(AuditLogs::Route, 200))
                    .col(string_len_null(AuditLogs::Path, 500))
                    .col(string_len_null(AuditLogs::Resource, 200))
                    .col(integer_null(AuditLogs::Status))
                    .col(string_len_null(AuditLogs::Ip, 64))
                    .col(string_len_null(AuditLogs::UserAgent, 300))
                    // The request body with every secret redacted, truncated.
                    .col(json_null(AuditLogs::Body))
                    .col(text_null(AuditLogs::Detail))
                    .col(timestamp_with_time_zone(AuditLogs::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_audit_logs_org_kind_created")
                    .table(AuditLogs::Table)
                    .col(AuditLogs::OrgId)
                    .col(AuditLogs::Kind)
                    .col(AuditLogs::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_audit_logs_created")
                    .table(AuditLogs::Table)
                    .col(AuditLogs::CreatedAt)
                    .to_owned(),
            )
            .await?;
        // One alert per (organization, metric, period): the 80% warning is sent once.
        manager
            .create_table(
                Table::create()
                    .table(BudgetAlerts::Table)
                    .col(uuid(BudgetAlerts::OrgId))
                    .col(string_len(BudgetAlerts::Metric, 32))
                    .col(string_len(BudgetAlerts::Period, 16))
                    .col(timestamp_with_time_zone(BudgetAlerts::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(BudgetAlerts::OrgId)
                            .col(BudgetAlerts::Metric)
                            .col(BudgetAlerts::Period),
                    )
                    .to_owned(),
            )
            .await?;
        // One column per ALTER: SQLite adds columns one at a time.
        let key_cols = [
            // Space-separated scopes; existing keys keep full access.
            string_len(KeyCols::Scopes, 200)
                .default("batches:read batches:write review admin")
                .to_owned(),
            timestamp_with_time_zone_null(KeyCols::ExpiresAt).to_owned(),
            uuid_null(KeyCols::CreatedBy).to_owned(),
        ];
        for mut col in key_cols {
            manager
                .alter_table(
                    Table::alter()
                        .table(ApiKeys::Table)
                        .add_column(&mut col)
                        .to_owned(),
                )
                .await?;
        }
        for col in ORG_COLS {
            manager
                .alter_table(
                    Table::alter()
                        .table(Organizations::Table)
                        .add_column(big_integer_null(col))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for col in ORG_COLS {
            manager
                .alter_table(
                    Table::alter()
                        .table(Organizations::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        for col in [KeyCols::Scopes, KeyCols::ExpiresAt, KeyCols::CreatedBy] {
            manager
                .alter_table(
                    Table::alter()
                        .table(ApiKeys::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        for table in [
            BudgetAlerts::Table.into_iden(),
            AuditLogs::Table.into_iden(),
            RefreshTokens::Table.into_iden(),
            Sessions::Table.into_iden(),
            Users::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

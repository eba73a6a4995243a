//! Budgets (#7): what a provider call about to be made may cost, held against the
//! organization's budgets until the call's real cost is in `llm_calls`.
//!
//! A worker reserves an upper bound of a call's cost before making it, settles the reservation
//! at the real cost after it, and deletes it in the transaction that writes the call log, so at
//! every moment `llm_calls + live reservations` is what the organization has spent or may be
//! about to spend. Rows left by a crashed worker stop counting when its attempt is over
//! (unsettled ones) or at `expires_at` (settled ones: billed, never recorded), and are deleted
//! after it. See `bacowr_shared::quota::reserve`.

use sea_orm_migration::{prelude::*, schema::*};

use crate::{m0001_organizations::Organizations, m0004_jobs::Jobs};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum BudgetReservations {
    Table,
    Id,
    OrgId,
    JobId,
    Attempt,
    CostMicros,
    Tokens,
    Settled,
    CreatedAt,
    ExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(BudgetReservations::Table)
                    .col(pk_uuid(BudgetReservations::Id))
                    .col(uuid(BudgetReservations::OrgId))
                    .col(uuid(BudgetReservations::JobId))
                    // The job attempt that made the call: an unsettled reservation counts only
                    // while that attempt is the job's running one.
                    .col(integer(BudgetReservations::Attempt))
                    .col(big_integer(BudgetReservations::CostMicros))
                    .col(big_integer(BudgetReservations::Tokens))
                    // false: the call may still be running, the figures are its upper bound;
                    // true: the call answered, the figures are what it cost.
                    .col(boolean(BudgetReservations::Settled).default(false))
                    .col(timestamp_with_time_zone(BudgetReservations::CreatedAt))
                    .col(timestamp_with_time_zone(BudgetReservations::ExpiresAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(BudgetReservations::Table, BudgetReservations::OrgId)
                            .to(Organizations::Table, Organizations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(BudgetReservations::Table, BudgetReservations::JobId)
                            .to(Jobs::Table, Jobs::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // The pre-call check sums an organization's live reservations and sweeps its expired
        // ones; the outcome deletes a job's.
        manager
            .create_index(
                Index::create()
                    .name("idx_budget_reservations_org_expires")
                    .table(BudgetReservations::Table)
                    .col(BudgetReservations::OrgId)
                    .col(BudgetReservations::ExpiresAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_budget_reservations_job")
                    .table(BudgetReservations::Table)
                    .col(BudgetReservations::JobId)
                    .col(BudgetReservations::Attempt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(BudgetReservations::Table).to_owned())
            .await
    }
}

//! The worker's check before each provider call: reserve the call's upper bound against the
//! organization's budgets, settle it at the real cost when the call answers, and swap it for
//! the call log when the job's outcome is written (`release_attempt`, same transaction).
//!
//! Why this holds under concurrency, across workers and processes: each check takes a
//! transaction-scoped advisory lock on the organization, then reads usage in a fresh snapshot
//! (READ COMMITTED: a statement started after the lock sees every reservation committed
//! before it), then inserts its reservation and commits. Checks of one organization therefore
//! run one at a time, each seeing the others' reservations, and a call is made only if
//! `recorded + reserved + its upper bound` fits every limit. As long as no call costs more
//! than its reservation (the worker reserves every prompt byte as a token, no cache discount
//! and all of `max_output_tokens`), recorded spend never passes a limit.
//!
//! The bound, and what can still pass it: (1) a worker that stalls past its lease mid-call
//! loses the job; that call's unsettled reservation stops counting when the job is reclaimed
//! and its cost shows up only when the stale worker writes its call log: at most one call per
//! such worker. (2) A limit lowered below what is already spent or reserved. Nothing else: the
//! outcome swaps reservations for `llm_calls` rows in one transaction, so spend is never
//! missed between the two. The cost of the guarantee is the other way: a job stops once what
//! is left is below one call's bound, so up to one bound of a budget may go unused.
//!
//! Five round trips (BEGIN, lock, usage, insert, COMMIT), one of them the indexed aggregate:
//! noise next to a provider call that takes seconds.
//!
//! On SQLite (the embedded build, #8: one process) there are no advisory locks: a check holds
//! a process-wide async mutex of its organization from before BEGIN until after COMMIT
//! ([`org_call_lock`]), which gives the same one-at-a-time order within the process; SQLite's
//! serializable transactions make sure a second process could not overspend either (it would
//! get `SQLITE_BUSY` rather than a stale read). Submissions, whose transaction belongs to the
//! caller, take SQLite's database write lock instead ([`lock_submissions`]).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use chrono::{DateTime, Utc};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, DbErr, FromQueryResult, Statement,
    TransactionTrait,
};
use uuid::Uuid;

use super::{
    Exceeded, Limits,
    check::{self, CallDemand, CallVerdict},
    usage,
};

/// The advisory lock's class (the two-int form, apart from the dispatcher's one-bigint lock);
/// the organization is the second key.
const LOCK_CLASS: i32 = 0x4243_5751;

/// The class of the lock that takes one organization's submissions one at a time when it has
/// a jobs quota (apart from the calls' lock: a big submission never delays a provider call).
const SUBMISSION_LOCK_CLASS: i32 = 0x4243_5752;

/// Until the caller's transaction ends, no other submission of the organization gets past
/// this point.
///
/// On SQLite the transaction takes the database's write lock here (a write that changes
/// nothing): every other writer waits for it to end, and no other submission can read usage
/// in between and write after it. The caller's transaction may already have read (its limits),
/// so in WAL mode a writer that committed meanwhile makes this fail with `SQLITE_BUSY`: a
/// refused request, never a quota passed.
pub async fn lock_submissions(txn: &impl ConnectionTrait, org_id: Uuid) -> Result<(), DbErr> {
    let backend = txn.get_database_backend();
    let statement = match backend {
        DbBackend::Sqlite => Statement::from_sql_and_values(
            backend,
            "UPDATE organizations SET id = id WHERE id = ?1",
            [org_id.into()],
        ),
        _ => Statement::from_sql_and_values(
            backend,
            "SELECT pg_advisory_xact_lock($1, hashtext($2))",
            [SUBMISSION_LOCK_CLASS.into(), org_id.to_string().into()],
        ),
    };
    txn.execute_raw(statement).await?;
    Ok(())
}

/// One async mutex per organization, for the whole process: on SQLite, what the advisory lock
/// is on Postgres. Entries are never removed (one small one per organization that reserved).
static ORG_CALL_LOCKS: LazyLock<Mutex<HashMap<Uuid, Arc<tokio::sync::Mutex<()>>>>> =
    LazyLock::new(Mutex::default);

/// The mutex that takes `org_id`'s reservations one at a time within this process.
fn org_call_lock(org_id: Uuid) -> Arc<tokio::sync::Mutex<()>> {
    let mut locks = ORG_CALL_LOCKS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    Arc::clone(locks.entry(org_id).or_default())
}

/// How long a reservation counts at most. An unsettled one stops counting as soon as its
/// attempt is no longer the job's running one; a settled one left by a crashed worker (a call
/// that was billed but never recorded) counts this long. Far longer than any attempt lasts.
pub const TTL: chrono::Duration = chrono::Duration::hours(6);

/// One call about to be made.
#[derive(Debug, Clone, Copy)]
pub struct Call {
    pub org_id: Uuid,
    pub job_id: Uuid,
    pub attempt: i32,
    pub demand: CallDemand,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reservation {
    /// The organization limits no calls: nothing was reserved.
    Unlimited,
    /// Reserved under this id: settle it after the call, or release it if the call is not made.
    Held(Uuid),
    /// Past a limit on spend alone: the call must not be made.
    Refused(Exceeded),
    /// Calls in flight hold what is left: try again when they have answered.
    Wait(Exceeded),
}

#[derive(FromQueryResult)]
struct Locked {
    quota_jobs_per_month: Option<i64>,
    quota_tokens_per_month: Option<i64>,
    budget_day_micros: Option<i64>,
    budget_month_micros: Option<i64>,
    budget_job_micros: Option<i64>,
}

/// Checks `call` against the organization's limits and reserves its cost if it fits.
pub async fn reserve(
    db: &DatabaseConnection,
    call: &Call,
    now: DateTime<Utc>,
) -> Result<Reservation, DbErr> {
    let backend = db.get_database_backend();
    // SQLite: held until the transaction has committed (dropped at the end of this function).
    let org_lock = match backend {
        DbBackend::Sqlite => Some(org_call_lock(call.org_id)),
        _ => None,
    };
    let _held = match &org_lock {
        Some(lock) => Some(lock.lock().await),
        None => None,
    };
    let txn = db.begin().await?;
    let locking = match backend {
        DbBackend::Sqlite => Statement::from_sql_and_values(
            backend,
            "SELECT quota_jobs_per_month, quota_tokens_per_month, budget_day_micros, \
             budget_month_micros, budget_job_micros FROM organizations WHERE id = ?1",
            [call.org_id.into()],
        ),
        // The lock first, in a statement of its own: the usage read below must start after it.
        _ => Statement::from_sql_and_values(
            backend,
            "SELECT quota_jobs_per_month, quota_tokens_per_month, budget_day_micros, \
             budget_month_micros, budget_job_micros \
             FROM organizations, pg_advisory_xact_lock($1, hashtext($3)) WHERE id = $2",
            [
                LOCK_CLASS.into(),
                call.org_id.into(),
                call.org_id.to_string().into(),
            ],
        ),
    };
    let locked = Locked::find_by_statement(locking).one(&txn).await?;
    let limits = locked.map_or_else(Limits::default, |l| Limits {
        quota_jobs_per_month: l.quota_jobs_per_month,
        quota_tokens_per_month: l.quota_tokens_per_month,
        budget_day_micros: l.budget_day_micros,
        budget_month_micros: l.budget_month_micros,
        budget_job_micros: l.budget_job_micros,
    });
    if !limits.limits_calls() {
        txn.commit().await?;
        return Ok(Reservation::Unlimited);
    }
    let used = usage::usage(&txn, call.org_id, Some(call.job_id), false, now).await?;
    let verdict = check::call(&limits, &used, &call.demand, now);
    let id = Uuid::now_v7();
    if verdict == CallVerdict::Allowed {
        // Expired rows of this organization go in passing: they no longer count.
        let values = [
            id.into(),
            call.org_id.into(),
            call.job_id.into(),
            call.attempt.into(),
            call.demand.cost_micros.into(),
            call.demand.tokens.into(),
            now.into(),
            (now + TTL).into(),
        ];
        if backend == DbBackend::Sqlite {
            // No data-modifying `WITH` in SQLite: two statements.
            txn.execute_raw(Statement::from_sql_and_values(
                backend,
                "DELETE FROM budget_reservations WHERE org_id = ?1 AND expires_at <= ?2",
                [call.org_id.into(), now.into()],
            ))
            .await?;
            txn.execute_raw(Statement::from_sql_and_values(
                backend,
                "INSERT INTO budget_reservations \
                 (id, org_id, job_id, attempt, cost_micros, tokens, settled, created_at, expires_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, false, ?7, ?8)",
                values,
            ))
            .await?;
        } else {
            txn.execute_raw(Statement::from_sql_and_values(
                backend,
                "WITH swept AS (DELETE FROM budget_reservations WHERE org_id = $2 AND expires_at <= $7) \
                 INSERT INTO budget_reservations \
                 (id, org_id, job_id, attempt, cost_micros, tokens, settled, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, false, $7, $8)",
                values,
            ))
            .await?;
        }
    }
    txn.commit().await?;
    Ok(match verdict {
        CallVerdict::Allowed => Reservation::Held(id),
        CallVerdict::Refused(e) => Reservation::Refused(e),
        CallVerdict::Wait(e) => Reservation::Wait(e),
    })
}

/// The call answered (or failed): its reservation now holds what it really cost, until the
/// outcome records the call.
pub async fn settle(
    db: &impl ConnectionTrait,
    id: Uuid,
    cost_micros: i64,
    tokens: i64,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    db.execute_raw(Statement::from_sql_and_values(
        db.get_database_backend(),
        "UPDATE budget_reservations SET cost_micros = $2, tokens = $3, settled = true, \
         expires_at = $4 WHERE id = $1",
        [
            id.into(),
            cost_micros.into(),
            tokens.into(),
            (now + TTL).into(),
        ],
    ))
    .await?;
    Ok(())
}

/// The call was not made after all (its deployment turned out unavailable).
pub async fn release(db: &impl ConnectionTrait, id: Uuid) -> Result<(), DbErr> {
    db.execute_raw(Statement::from_sql_and_values(
        db.get_database_backend(),
        "DELETE FROM budget_reservations WHERE id = $1",
        [id.into()],
    ))
    .await?;
    Ok(())
}

/// In the transaction that writes an attempt's call log: its reservations become those rows.
pub async fn release_attempt(
    txn: &impl ConnectionTrait,
    job_id: Uuid,
    attempt: i32,
) -> Result<(), DbErr> {
    txn.execute_raw(Statement::from_sql_and_values(
        txn.get_database_backend(),
        "DELETE FROM budget_reservations WHERE job_id = $1 AND attempt = $2",
        [job_id.into(), attempt.into()],
    ))
    .await?;
    Ok(())
}

//! The quota statements on SQLite (the embedded build, #8): reservations of one organization
//! taken one at a time by the process-wide mutex, usage read with SQLite's SQL, the submission
//! lock. The same behaviour on Postgres is `quotas.rs` and the worker's `budgets.rs`.

use bacowr_shared::testing::fixtures;
use chrono::{Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ConnectOptions, Database, DatabaseConnection, DbBackend, IntoActiveModel,
    TransactionTrait,
};
use uuid::Uuid;

use bacowr_migrations::{Migrator, MigratorTrait};
use bacowr_shared::{
    domain::JobStatus,
    entities::{job, llm_call, organization},
    quota::{
        Limits, Metric,
        check::CallDemand,
        reserve::{self, Call, Reservation},
        usage::{self, Counting},
    },
};

/// An in-memory database shared by several pooled connections (sqlx names it and opens it in
/// shared-cache mode), so that concurrent reservations really run on different connections.
async fn sqlite() -> DatabaseConnection {
    let mut options = ConnectOptions::new("sqlite::memory:");
    options.max_connections(8).min_connections(1);
    let db = Database::connect(options).await.unwrap();
    assert_eq!(db.get_database_backend(), DbBackend::Sqlite);
    Migrator::up(&db, None).await.unwrap();
    db
}

async fn org(db: &DatabaseConnection, limits: Limits) -> Uuid {
    let id = Uuid::now_v7();
    organization::Model {
        quota_jobs_per_month: limits.quota_jobs_per_month,
        quota_tokens_per_month: limits.quota_tokens_per_month,
        budget_day_micros: limits.budget_day_micros,
        budget_month_micros: limits.budget_month_micros,
        budget_job_micros: limits.budget_job_micros,
        ..fixtures::organization(id, "Embedded", Utc::now())
    }
    .into_active_model()
    .insert(db)
    .await
    .unwrap();
    id
}

async fn running_job(db: &DatabaseConnection, org: Uuid, row: i32) -> Uuid {
    let id = Uuid::now_v7();
    let now = Utc::now();
    job::Model {
        id,
        language: Some("sv".into()),
        status: JobStatus::Running,
        attempts: 1,
        lease_owner: Some("w1".into()),
        lease_expires_at: Some(now + Duration::minutes(5)),
        started_at: Some(now),
        dispatches: 1,
        ..fixtures::job(org, None, row, now)
    }
    .into_active_model()
    .insert(db)
    .await
    .unwrap();
    id
}

fn call(org: Uuid, job: Uuid, cost: i64) -> Call {
    Call {
        org_id: org,
        job_id: job,
        attempt: 1,
        demand: CallDemand {
            cost_micros: cost,
            tokens: 100,
        },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_reservations_never_pass_the_budget() {
    let db = sqlite().await;
    let org = org(
        &db,
        Limits {
            budget_day_micros: Some(10_000),
            ..Limits::default()
        },
    )
    .await;
    let mut jobs = Vec::new();
    for row in 0..20 {
        jobs.push(running_job(&db, org, row).await);
    }
    // Twenty calls at once, room for ten.
    let attempts = jobs.iter().map(|job| {
        let db = db.clone();
        let c = call(org, *job, 1_000);
        tokio::spawn(async move { reserve::reserve(&db, &c, Utc::now()).await.unwrap() })
    });
    let mut held = Vec::new();
    let mut waiting = 0;
    for r in futures::future::join_all(attempts).await {
        match r.unwrap() {
            Reservation::Held(id) => held.push(id),
            Reservation::Wait(e) => {
                assert_eq!((e.metric, e.limit), (Metric::SpendPerDay, 10_000));
                waiting += 1;
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!((held.len(), waiting), (10, 10));

    let now = Utc::now();
    let used = usage::usage(&db, org, Some(jobs[0]), false, now)
        .await
        .unwrap();
    assert_eq!(used.pending_cost, 10_000);
    assert_eq!(used.pending_tokens, 1_000);
    assert_eq!(used.used(Metric::SpendPerDay, Counting::Committed), 10_000);
    assert_eq!(used.settled_cost, 0);

    // Settled cheaper than the bound: what is freed is taken again, and no more.
    for id in &held[..5] {
        reserve::settle(&db, *id, 100, 10, Utc::now())
            .await
            .unwrap();
    }
    let used = usage::usage(&db, org, None, false, Utc::now())
        .await
        .unwrap();
    assert_eq!((used.settled_cost, used.settled_tokens), (500, 50));
    assert_eq!(used.used(Metric::SpendPerDay, Counting::Committed), 5_500);
    let again = jobs.iter().map(|job| {
        let db = db.clone();
        let c = call(org, *job, 1_000);
        tokio::spawn(async move { reserve::reserve(&db, &c, Utc::now()).await.unwrap() })
    });
    let taken = futures::future::join_all(again)
        .await
        .into_iter()
        .filter(|r| matches!(r.as_ref().unwrap(), Reservation::Held(_)))
        .count();
    assert_eq!(taken, 4, "4,500 left: four calls of 1,000");
    let used = usage::usage(&db, org, None, false, Utc::now())
        .await
        .unwrap();
    assert_eq!(used.used(Metric::SpendPerDay, Counting::Committed), 9_500);

    // Released, and swapped for the call log: nothing is counted twice.
    reserve::release(&db, held[9]).await.unwrap();
    let used = usage::usage(&db, org, None, false, Utc::now())
        .await
        .unwrap();
    assert_eq!(used.used(Metric::SpendPerDay, Counting::Committed), 8_500);
    let mut left = 8_500;
    for job in &jobs {
        let used = usage::usage(&db, org, Some(*job), false, Utc::now())
            .await
            .unwrap();
        let of_job = used.job_pending_cost + used.job_settled_cost;
        let txn = db.begin().await.unwrap();
        reserve::release_attempt(&txn, *job, 1).await.unwrap();
        txn.commit().await.unwrap();
        left -= of_job;
        let used = usage::usage(&db, org, None, false, Utc::now())
            .await
            .unwrap();
        assert_eq!(used.used(Metric::SpendPerDay, Counting::Committed), left);
    }
    assert_eq!(left, 0);
}

#[tokio::test]
async fn sqlite_usage_counts_calls_by_utc_day_and_month_and_jobs() {
    let db = sqlite().await;
    let org = org(
        &db,
        Limits {
            quota_jobs_per_month: Some(100),
            ..Limits::default()
        },
    )
    .await;
    let job_id = running_job(&db, org, 0).await;
    let now = Utc::now();
    let (day, month) = bacowr_shared::quota::period_starts(now);
    // Today, earlier this month (if today is not the first, else still today), last month.
    let earlier = if day > month { month } else { day };
    for (seq, (at, cost, tokens)) in [
        (now, 300, (10, 20)),
        (earlier, 200, (1, 2)),
        (month - Duration::seconds(1), 7_000, (100, 100)),
    ]
    .into_iter()
    .enumerate()
    {
        llm_call::Model {
            id: Uuid::now_v7(),
            org_id: org,
            job_id,
            batch_id: None,
            attempt: 1,
            seq: i32::try_from(seq).unwrap() + 1,
            provider: "sim".into(),
            model: "m".into(),
            outcome: "ok".into(),
            http_status: Some(200),
            tokens_in: tokens.0,
            tokens_out: tokens.1,
            cost_micros: cost,
            latency_ms: 100,
            error: None,
            created_at: at,
            tokens_cached: 0,
            retry_after_ms: None,
            tokens_reasoning: 0,
            tokens_cache_write: 0,
            purpose: None,
            regenerated_for: None,
        }
        .into_active_model()
        .insert(&db)
        .await
        .unwrap();
    }
    let used = usage::usage(&db, org, Some(job_id), true, now)
        .await
        .unwrap();
    assert_eq!(used.spend_month, 500);
    assert_eq!(used.tokens_month, 33);
    assert_eq!(used.spend_day, if day > month { 300 } else { 500 });
    assert_eq!(used.jobs_month, 1);
    let without = usage::usage(&db, org, None, false, now).await.unwrap();
    assert_eq!(without.jobs_month, 0);

    // The submission lock is a write that changes nothing, held until the transaction ends.
    let txn = db.begin().await.unwrap();
    reserve::lock_submissions(&txn, org).await.unwrap();
    txn.commit().await.unwrap();
    assert_eq!(
        usage::limits(&db, org)
            .await
            .unwrap()
            .unwrap()
            .quota_jobs_per_month,
        Some(100)
    );
}

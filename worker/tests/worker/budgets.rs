//! Budgets in the worker: reservations taken one at a time per organization, and a day's
//! budget stopping a batch part-way across two real worker processes, with recorded spend
//! never past the budget and the 80% alert sent once.

use std::time::Duration;

use chrono::Utc;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, FromQueryResult,
    PaginatorTrait, QueryFilter, Statement, sea_query::Expr,
};
use serde_json::json;

use bacowr_shared::{
    audit::events,
    domain::JobStatus,
    entities::{
        audit_log, budget_alert, budget_reservation, job, webhook_delivery, webhook_endpoint,
    },
    error::job_errors,
    ids::{OrgId, WebhookEndpointId},
    quota::{
        Limits, Metric,
        check::CallDemand,
        reserve::{self, Call, Reservation},
        usage,
    },
    webhooks::signing,
};
use bacowr_worker::{
    provider::ErrorClass,
    router::{Budget, Stop},
};
use llm_sim::Protocol;

use crate::cluster::{Setup, WorkerProc, create_org, seed_batch, wait_finished};

async fn set_limits(db: &DatabaseConnection, org: OrgId, limits: Limits) {
    assert!(usage::set_limits(db, org.uuid(), &limits).await.unwrap());
}

#[derive(Debug, FromQueryResult)]
struct Spend {
    calls: i64,
    cost_micros: i64,
    max_call: i64,
}

async fn recorded_spend(db: &DatabaseConnection) -> Spend {
    Spend::find_by_statement(Statement::from_string(
        db.get_database_backend(),
        "SELECT COUNT(*)::bigint AS calls, COALESCE(SUM(cost_micros), 0)::bigint AS cost_micros, \
         COALESCE(MAX(cost_micros), 0)::bigint AS max_call FROM llm_calls",
    ))
    .one(db)
    .await
    .unwrap()
    .unwrap()
}

async fn audit_count(db: &DatabaseConnection, event: &str) -> u64 {
    audit_log::Entity::find()
        .filter(audit_log::Column::Event.eq(event))
        .count(db)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_day_budget_stops_a_batch_part_way_across_two_worker_processes() {
    let setup = Setup::new(Duration::from_millis(150)).await;
    let db = &setup.db;
    let org = create_org(db, "Budgeted", None).await;
    let now = Utc::now();
    webhook_endpoint::Entity::insert(webhook_endpoint::ActiveModel {
        id: Set(WebhookEndpointId::new().uuid()),
        org_id: Set(org.uuid()),
        url: Set("https://hooks.example.com/".into()),
        description: Set(None),
        event_types: Set(json!([])),
        secret: Set(signing::generate_secret()),
        enabled: Set(true),
        disabled_reason: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_without_returning(db)
    .await
    .unwrap();
    // Room for most of the thirty articles (~720 micro-dollars each here, at the fallback
    // prices, without page context), not all.
    let budget = 20_000;
    set_limits(
        db,
        org,
        Limits {
            budget_day_micros: Some(budget),
            ..Limits::default()
        },
    )
    .await;
    let jobs = 30;
    let (batch_id, _) = seed_batch(db, org, jobs, now).await;

    let extra = [
        // A smaller bound per call (articles need ~1,300 tokens): less budget left unused.
        ("BACOWR_PROVIDER__MAX_OUTPUT_TOKENS", "2000".to_owned()),
        // Deliveries stay in the outbox, where this test reads them.
        ("BACOWR_WEBHOOKS__ENABLED", "false".to_owned()),
    ];
    let workers = [
        WorkerProc::spawn(&setup.env, &extra),
        WorkerProc::spawn(&setup.env, &extra),
    ];
    wait_finished(db, batch_id, Duration::from_secs(90)).await;
    drop(workers);

    let all = job::Entity::find().all(db).await.unwrap();
    let succeeded = all
        .iter()
        .filter(|j| j.status == JobStatus::Succeeded)
        .count();
    let failed: Vec<&job::Model> = all
        .iter()
        .filter(|j| j.status == JobStatus::Failed)
        .collect();
    let spend = recorded_spend(db).await;
    // What a stopped job's next call would have reserved: its upper bound.
    let bound = audit_log::Entity::find()
        .filter(audit_log::Column::Event.eq(events::BUDGET_EXCEEDED))
        .one(db)
        .await
        .unwrap()
        .and_then(|a| serde_json::from_str::<serde_json::Value>(a.detail.as_deref()?).ok())
        .and_then(|d| d["requested"].as_i64());
    eprintln!(
        "budget figures: day budget {budget} µ$, {jobs} jobs, 2 processes × 4: {succeeded} \
         succeeded, {} stopped; recorded {} µ$ in {} calls (largest {} µ$, bound {bound:?} µ$), \
         {} calls served",
        failed.len(),
        spend.cost_micros,
        spend.calls,
        spend.max_call,
        setup.sim.served(Protocol::OpenAi).requests,
    );
    assert!(succeeded > 0, "some jobs fit the budget");
    assert!(!failed.is_empty(), "the budget stopped the rest");
    assert_eq!(
        succeeded + failed.len(),
        jobs,
        "every job succeeded or was stopped"
    );
    for j in &failed {
        assert_eq!(j.error_code.as_deref(), Some(job_errors::BUDGET_EXCEEDED));
        let message = j.error_message.as_deref().unwrap_or_default();
        assert!(
            message.contains("spend_per_day limit of $0.020000") && message.contains("remaining"),
            "{message}"
        );
        assert_eq!(j.cost_micros, 0, "a stopped job made no call");
    }
    assert!(
        spend.cost_micros <= budget,
        "recorded spend {} passed the budget {budget}",
        spend.cost_micros
    );
    // Stopped only once what is left can't cover a call at its most: the budget was used.
    assert!(spend.cost_micros * 5 >= budget * 4, "{spend:?}");
    assert_eq!(
        setup.sim.served(Protocol::OpenAi).requests,
        spend.calls as u64,
        "every call made is recorded"
    );
    assert_eq!(
        budget_reservation::Entity::find().count(db).await.unwrap(),
        0,
        "every reservation became a call log row"
    );

    // The 80% alert: one row, one webhook delivery, one audit event.
    let alerts = budget_alert::Entity::find().all(db).await.unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].metric, "spend_per_day");
    assert_eq!(alerts[0].period, now.format("%Y-%m-%d").to_string());
    let deliveries = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::EventType.eq("budget.alert"))
        .all(db)
        .await
        .unwrap();
    assert_eq!(deliveries.len(), 1);
    let data = &deliveries[0].payload["data"];
    assert_eq!(data["metric"], "spend_per_day");
    assert_eq!(data["limit"], budget);
    assert!(data["percent"].as_f64().unwrap() >= 80.0, "{data}");
    assert_eq!(audit_count(db, events::BUDGET_ALERT).await, 1);
    assert_eq!(
        audit_count(db, events::BUDGET_EXCEEDED).await,
        failed.len() as u64,
        "one budget.exceeded event per stopped job"
    );
    setup.finish().await;
}

/// Jobs of `org` marked running in their first attempt, as claimed jobs are.
async fn running_jobs(db: &DatabaseConnection, org: OrgId, n: usize) -> Vec<uuid::Uuid> {
    let (batch_id, ids) = seed_batch(db, org, n, Utc::now()).await;
    job::Entity::update_many()
        .col_expr(job::Column::Status, Expr::value(JobStatus::Running))
        .col_expr(job::Column::Attempts, Expr::value(1))
        .filter(job::Column::BatchId.eq(batch_id.uuid()))
        .exec(db)
        .await
        .unwrap();
    ids.into_iter().map(|id| id.uuid()).collect()
}

fn call(org: OrgId, job: uuid::Uuid, cost: i64) -> Call {
    Call {
        org_id: org.uuid(),
        job_id: job,
        attempt: 1,
        demand: CallDemand {
            cost_micros: cost,
            tokens: 100,
        },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reservations_are_taken_one_at_a_time_and_settle_expire_or_become_calls() {
    let setup = Setup::new(Duration::ZERO).await;
    let db = &setup.db;
    let org = create_org(db, "Reserving", None).await;
    set_limits(
        db,
        org,
        Limits {
            budget_day_micros: Some(10_000),
            ..Limits::default()
        },
    )
    .await;
    let jobs = running_jobs(db, org, 40).await;

    // Forty calls at once, room for ten: exactly ten are held, the rest wait (nothing is
    // spent yet, so none is refused).
    let attempts = jobs.iter().map(|job| {
        let db = db.clone();
        let c = call(org, *job, 1_000);
        tokio::spawn(async move { reserve::reserve(&db, &c, Utc::now()).await.unwrap() })
    });
    let mut held = Vec::new();
    let mut waiting = 0;
    for (job, r) in jobs.iter().zip(futures::future::join_all(attempts).await) {
        match r.unwrap() {
            Reservation::Held(id) => held.push((*job, id)),
            Reservation::Wait(e) => {
                assert_eq!((e.metric, e.limit), (Metric::SpendPerDay, 10_000));
                waiting += 1;
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!((held.len(), waiting), (10, 30));

    // Five answer cheaper than their bound: what they free is taken again, and no more.
    for (_, id) in &held[..5] {
        reserve::settle(db, *id, 100, 10, Utc::now()).await.unwrap();
    }
    let mut again = 0;
    for job in &jobs[10..20] {
        if let Reservation::Held(_) = reserve::reserve(db, &call(org, *job, 1_000), Utc::now())
            .await
            .unwrap()
        {
            again += 1;
        }
    }
    assert_eq!(
        again, 4,
        "500 spent + 5,000 in flight: room for 4 × 1,000 more"
    );

    // A crashed attempt's call in flight stops counting once its job is reclaimed.
    let next = call(org, jobs[20], 1_000);
    assert!(matches!(
        reserve::reserve(db, &next, Utc::now()).await.unwrap(),
        Reservation::Wait(_)
    ));
    let (crashed, _) = held[9];
    job::Entity::update_many()
        .col_expr(job::Column::Attempts, Expr::value(2))
        .filter(job::Column::Id.eq(crashed))
        .exec(db)
        .await
        .unwrap();
    assert!(matches!(
        reserve::reserve(db, &next, Utc::now()).await.unwrap(),
        Reservation::Held(_)
    ));

    // Spent is spent: with the whole budget settled, a call is refused, not kept waiting.
    budget_reservation::Entity::update_many()
        .col_expr(budget_reservation::Column::Settled, Expr::value(true))
        .col_expr(budget_reservation::Column::CostMicros, Expr::value(1_000))
        .exec(db)
        .await
        .unwrap();
    match reserve::reserve(db, &call(org, jobs[30], 1), Utc::now())
        .await
        .unwrap()
    {
        Reservation::Refused(e) => assert_eq!((e.used, e.remaining), (15_000, 0)),
        other => panic!("{other:?}"),
    }
    // ... until they expire (billed calls a crashed worker never recorded count that long).
    let later = Utc::now() + reserve::TTL + chrono::Duration::seconds(1);
    assert!(matches!(
        reserve::reserve(db, &call(org, jobs[30], 1), later)
            .await
            .unwrap(),
        Reservation::Held(_)
    ));
    assert_eq!(
        budget_reservation::Entity::find().count(db).await.unwrap(),
        1,
        "expired reservations were swept"
    );

    // The job cap counts the job's recorded cost and its own reservations.
    set_limits(
        db,
        org,
        Limits {
            budget_job_micros: Some(2_500),
            ..Limits::default()
        },
    )
    .await;
    job::Entity::update_many()
        .col_expr(job::Column::CostMicros, Expr::value(1_000))
        .filter(job::Column::Id.eq(jobs[31]))
        .exec(db)
        .await
        .unwrap();
    let first = reserve::reserve(db, &call(org, jobs[31], 1_000), Utc::now())
        .await
        .unwrap();
    let Reservation::Held(id) = first else {
        panic!("{first:?}")
    };
    reserve::settle(db, id, 1_000, 10, Utc::now())
        .await
        .unwrap();
    match reserve::reserve(db, &call(org, jobs[31], 501), Utc::now())
        .await
        .unwrap()
    {
        Reservation::Refused(e) => {
            assert_eq!(
                (e.metric, e.used, e.remaining),
                (Metric::SpendPerJob, 2_000, 500)
            )
        }
        other => panic!("{other:?}"),
    }
    // Recording the attempt's calls takes its reservations away in the same transaction.
    reserve::release_attempt(db, jobs[31], 1).await.unwrap();
    assert_eq!(
        budget_reservation::Entity::find()
            .filter(budget_reservation::Column::JobId.eq(jobs[31]))
            .count(db)
            .await
            .unwrap(),
        0
    );
    // No limit on calls: nothing is reserved at all.
    set_limits(db, org, Limits::default()).await;
    assert_eq!(
        reserve::reserve(db, &call(org, jobs[32], 1), Utc::now())
            .await
            .unwrap(),
        Reservation::Unlimited
    );
    setup.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_call_is_neither_retried_nor_sent_to_the_next_deployment() {
    let setup = Setup::new(Duration::ZERO).await;
    let db = &setup.db;
    let org = create_org(db, "Capped", None).await;
    let ids = running_jobs(db, org, 1).await;
    let job = job::Entity::find_by_id(ids[0])
        .one(db)
        .await
        .unwrap()
        .unwrap();
    let chain = vec![
        ("gpt", crate::router::deployment(&setup.sim, "openai")),
        ("claude", crate::router::deployment(&setup.sim, "anthropic")),
    ];
    let router = crate::router::router(&setup.redis, chain).await;
    let stop = Stop::default();

    assert!(
        Budget::for_job(db, &job).await.is_none(),
        "no limit: no gate at all"
    );
    // A cap below what one call can cost.
    set_limits(
        db,
        org,
        Limits {
            budget_job_micros: Some(100),
            ..Limits::default()
        },
    )
    .await;
    let budget = Budget::for_job(db, &job).await.expect("a gate");
    let mut calls = Vec::new();
    let err = router
        .generate_with(
            &crate::router::request(),
            &mut bacowr_worker::router::Route::default(),
            &mut calls,
            &stop,
            Some(&budget),
        )
        .await
        .unwrap_err();
    assert_eq!(err.class, ErrorClass::BudgetExceeded);
    assert!(
        err.message.contains("spend_per_job limit of $0.000100"),
        "{}",
        err.message
    );
    assert!(calls.is_empty());
    assert_eq!(setup.sim.served(Protocol::OpenAi).requests, 0);
    assert_eq!(
        setup.sim.served(Protocol::Anthropic).requests,
        0,
        "no fallback"
    );
    assert_eq!(audit_count(db, events::BUDGET_EXCEEDED).await, 1);

    // Room for it: one call, its reservation settled at what it cost.
    set_limits(
        db,
        org,
        Limits {
            budget_job_micros: Some(1_000_000),
            ..Limits::default()
        },
    )
    .await;
    router
        .generate_with(
            &crate::router::request(),
            &mut bacowr_worker::router::Route::default(),
            &mut calls,
            &stop,
            Some(&budget),
        )
        .await
        .unwrap();
    assert_eq!(calls.len(), 1);
    let held = budget_reservation::Entity::find().all(db).await.unwrap();
    assert_eq!(held.len(), 1);
    assert!(held[0].settled);
    assert_eq!(held[0].cost_micros, calls[0].cost_micros);
    assert_eq!(held[0].tokens, calls[0].tokens_in + calls[0].tokens_out);
    setup.finish().await;
}

//! Quotas and budgets at submission: a batch or job whose expected figures exceed what is
//! left is refused with 402 naming the limit, with the numbers, and nothing is stored; the
//! dry run shows the same figures; the jobs quota's 80% alert goes out once.

use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use bacowr_shared::{
    audit::events,
    entities::{audit_log, batch, budget_alert, job, organization, webhook_delivery},
    quota::{Limits, usage},
};

use crate::helpers::{TestApp, assert_error, batch_body, link};

async fn set_limits(app: &TestApp, limits: Limits) {
    let org = organization::Entity::find()
        .filter(organization::Column::Name.eq("Test Agency"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert!(usage::set_limits(&app.db, org.id, &limits).await.unwrap());
}

async fn stored(app: &TestApp) -> (u64, u64) {
    (
        batch::Entity::find().count(&app.db).await.unwrap(),
        job::Entity::find().count(&app.db).await.unwrap(),
    )
}

async fn audit_events(app: &TestApp, event: &str) -> Vec<Value> {
    audit_log::Entity::find()
        .filter(audit_log::Column::Event.eq(event))
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|a| serde_json::from_str(a.detail.as_deref().unwrap_or("null")).unwrap())
        .collect()
}

/// The expected cost of a batch of `n`, as the dry run tells it.
async fn expected_micros(app: &TestApp, n: usize) -> i64 {
    let resp = app
        .post_json("/api/v1/batches?dry_run=true", &batch_body(n))
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let estimate: Value = resp.json().await.unwrap();
    estimate["expected"]["cost_micros"].as_i64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_monthly_job_quota_refuses_with_the_numbers_and_alerts_once_at_80_percent() {
    let app = TestApp::spawn().await;
    let resp = app
        .post_json(
            "/api/v1/webhooks",
            &json!({"url": "https://hooks.example.com/b", "event_types": ["budget.alert"]}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    set_limits(
        &app,
        Limits {
            quota_jobs_per_month: Some(5),
            ..Limits::default()
        },
    )
    .await;

    app.submit_batch(3).await;
    assert_eq!(
        budget_alert::Entity::find().count(&app.db).await.unwrap(),
        0
    );

    let resp = app.post_json("/api/v1/batches", &batch_body(3)).await;
    let err = assert_error(
        resp,
        StatusCode::PAYMENT_REQUIRED,
        "quota_exceeded",
        Some("jobs_per_month"),
    )
    .await;
    let q = &err["quota"];
    assert_eq!(
        (&q["limit"], &q["used"], &q["requested"], &q["remaining"]),
        (&json!(5), &json!(3), &json!(3), &json!(2)),
        "{err}"
    );
    assert_eq!(q["unit"], "jobs");
    assert_eq!(q["period"], chrono::Utc::now().format("%Y-%m").to_string());
    let detail = err["detail"].as_str().unwrap();
    assert!(
        detail.contains("5 jobs") && detail.contains("2 jobs remaining"),
        "{detail}"
    );
    assert_eq!(stored(&app).await, (1, 3), "nothing of the refused batch");
    let refused = audit_events(&app, events::BUDGET_EXCEEDED).await;
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0]["metric"], "jobs_per_month");
    assert_eq!(refused[0]["refused"], "batch");

    // The dry run tells the same before anything is tried.
    let resp = app
        .post_json("/api/v1/batches?dry_run=true", &batch_body(3))
        .await;
    let estimate: Value = resp.json().await.unwrap();
    assert_eq!(estimate["quota"]["within_limits"], false, "{estimate}");
    let line = &estimate["quota"]["limits"][0];
    assert_eq!(
        (&line["metric"], &line["remaining"], &line["exceeded"]),
        (&json!("jobs_per_month"), &json!(2), &json!(true))
    );

    // A single job fits; it takes the organization to 4 of 5: the alert, once.
    let resp = app.post_json("/api/v1/jobs", &link(7)).await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let alerts = budget_alert::Entity::find().all(&app.db).await.unwrap();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].metric, "jobs_per_month");
    let resp = app.post_json("/api/v1/jobs", &link(8)).await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED, "5 of 5 is within");
    let resp = app.post_json("/api/v1/jobs", &link(9)).await;
    assert_error(
        resp,
        StatusCode::PAYMENT_REQUIRED,
        "quota_exceeded",
        Some("jobs_per_month"),
    )
    .await;
    assert_eq!(
        budget_alert::Entity::find().count(&app.db).await.unwrap(),
        1
    );
    let alerted = audit_events(&app, events::BUDGET_ALERT).await;
    assert_eq!(alerted.len(), 1, "one alert per period");
    assert_eq!(
        (
            &alerted[0]["metric"],
            &alerted[0]["limit"],
            &alerted[0]["used"]
        ),
        (&json!("jobs_per_month"), &json!(5), &json!(4))
    );
    assert_eq!(alerted[0]["percent"], 80.0);
    let deliveries = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::EventType.eq("budget.alert"))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].payload["data"]["metric"], "jobs_per_month");
    assert_eq!(deliveries[0].payload["data"]["percent"], 80.0);
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spend_budgets_and_the_job_cap_refuse_on_the_expected_cost() {
    let app = TestApp::spawn().await;
    let four = expected_micros(&app, 4).await;
    let one = expected_micros(&app, 1).await;
    assert!(four > 0 && one > 0);
    assert!(
        app.get_json("/api/v1/batches").await["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // A day's budget with room for three of the four.
    set_limits(
        &app,
        Limits {
            budget_day_micros: Some(one * 3),
            ..Limits::default()
        },
    )
    .await;
    let resp = app.post_json("/api/v1/batches", &batch_body(4)).await;
    let err = assert_error(
        resp,
        StatusCode::PAYMENT_REQUIRED,
        "quota_exceeded",
        Some("spend_per_day"),
    )
    .await;
    let q = &err["quota"];
    assert_eq!(q["unit"], "micro_usd");
    assert_eq!(q["limit"], one * 3);
    assert_eq!(q["used"], 0);
    assert_eq!(q["requested"], four);
    assert_eq!(q["remaining"], one * 3);
    assert!(
        err["detail"].as_str().unwrap().contains("spend_per_day"),
        "{err}"
    );
    assert_eq!(stored(&app).await, (0, 0));

    // The month's budget, the same way.
    set_limits(
        &app,
        Limits {
            budget_month_micros: Some(four - 1),
            ..Limits::default()
        },
    )
    .await;
    let resp = app.post_json("/api/v1/batches", &batch_body(4)).await;
    assert_error(
        resp,
        StatusCode::PAYMENT_REQUIRED,
        "quota_exceeded",
        Some("spend_per_month"),
    )
    .await;

    // A cap per job below one job's expected cost refuses a batch and a single job alike.
    set_limits(
        &app,
        Limits {
            budget_job_micros: Some(one - 1),
            ..Limits::default()
        },
    )
    .await;
    for (path, body) in [
        ("/api/v1/batches", batch_body(2)),
        ("/api/v1/jobs", link(1)),
    ] {
        let resp = app.post_json(path, &body).await;
        let err = assert_error(
            resp,
            StatusCode::PAYMENT_REQUIRED,
            "quota_exceeded",
            Some("spend_per_job"),
        )
        .await;
        assert_eq!(err["quota"]["requested"], one, "{err}");
        assert_eq!(err["quota"]["remaining"], one - 1, "{err}");
        assert!(err["quota"].get("period").is_none(), "{err}");
    }
    assert_eq!(stored(&app).await, (0, 0), "nothing refused was stored");
    assert_eq!(audit_events(&app, events::BUDGET_EXCEEDED).await.len(), 4);

    // Within every limit: accepted. The dry run lists each limit with its share.
    set_limits(
        &app,
        Limits {
            quota_jobs_per_month: Some(100),
            quota_tokens_per_month: Some(10_000_000),
            budget_day_micros: Some(four),
            budget_month_micros: Some(four * 10),
            budget_job_micros: Some(one),
        },
    )
    .await;
    let estimate: Value = app
        .post_json("/api/v1/batches?dry_run=true", &batch_body(4))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(estimate["quota"]["within_limits"], true, "{estimate}");
    assert_eq!(estimate["quota"]["limits"].as_array().unwrap().len(), 5);
    let accepted = app
        .client
        .post(app.url("/api/v1/batches"))
        .bearer_auth(&app.api_key)
        .header("Idempotency-Key", "budget-run-1")
        .json(&batch_body(4))
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), StatusCode::ACCEPTED);
    let first: Value = accepted.json().await.unwrap();
    assert_eq!(stored(&app).await, (1, 4));

    // A retried submission replays its first answer, whatever the limits are now.
    set_limits(
        &app,
        Limits {
            quota_jobs_per_month: Some(1),
            ..Limits::default()
        },
    )
    .await;
    let replay = app
        .client
        .post(app.url("/api/v1/batches"))
        .bearer_auth(&app.api_key)
        .header("Idempotency-Key", "budget-run-1")
        .json(&batch_body(4))
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), StatusCode::ACCEPTED);
    assert_eq!(replay.json::<Value>().await.unwrap(), first);
    assert_eq!(stored(&app).await, (1, 4));
    app.cleanup().await;
}

#[tokio::test]
async fn admins_set_quotas_through_the_org_settings_and_see_their_usage() {
    let app = TestApp::spawn().await;
    let patch = |body: Value| {
        let app = &app;
        async move {
            app.client
                .patch(app.url("/api/v1/org"))
                .bearer_auth(&app.api_key)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let resp = patch(json!({"jobs_per_month": 3, "spend_per_day_usd": 1.5})).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let org: Value = resp.json().await.unwrap();
    assert_eq!(org["quotas"]["jobs_per_month"], 3);
    assert_eq!(org["quotas"]["spend_per_day_usd"], 1.5);
    assert!(org["quotas"]["tokens_per_month"].is_null());

    assert_eq!(
        app.post_json("/api/v1/batches", &batch_body(2))
            .await
            .status(),
        StatusCode::ACCEPTED
    );
    let org = app.get_json("/api/v1/org").await;
    let lines = org["quota_usage"]["limits"].as_array().unwrap();
    let jobs = lines
        .iter()
        .find(|l| l["metric"] == "jobs_per_month")
        .unwrap();
    assert_eq!(
        (jobs["limit"].as_i64(), jobs["used"].as_i64()),
        (Some(3), Some(2))
    );
    assert!(
        lines
            .iter()
            .any(|l| l["metric"] == "spend_per_day" && l["limit"] == 1_500_000)
    );

    let refused = app.post_json("/api/v1/batches", &batch_body(2)).await;
    assert_error(
        refused,
        StatusCode::PAYMENT_REQUIRED,
        "quota_exceeded",
        Some("jobs_per_month"),
    )
    .await;
    // `null` lifts a limit; an out-of-range value is refused naming the field.
    assert_eq!(
        patch(json!({"jobs_per_month": null})).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.post_json("/api/v1/batches", &batch_body(2))
            .await
            .status(),
        StatusCode::ACCEPTED
    );
    assert_error(
        patch(json!({"spend_per_day_usd": -1})).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
        Some("spend_per_day_usd"),
    )
    .await;
    assert_error(
        patch(json!({"budget": 5})).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
        None,
    )
    .await;
    app.cleanup().await;
}

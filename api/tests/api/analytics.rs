//! Analytics against hand-computed figures: rows inserted directly with known dates, states,
//! word counts and costs, in this organization and another one.

use chrono::{DateTime, Duration, Utc};
use reqwest::StatusCode;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, Set};
use serde_json::{Value, json};
use uuid::Uuid;

use bacowr_api::auth::credentials::hash_secret as hash_key;
use bacowr_shared::{
    domain::JobStatus,
    entities::{api_key, article, batch, job, llm_call},
    ids::BatchId,
};

use crate::helpers::{TestApp, assert_error};

pub async fn org_of(app: &TestApp) -> Uuid {
    org_of_key(app, &app.api_key).await
}

async fn org_of_key(app: &TestApp, key: &str) -> Uuid {
    api_key::Entity::find()
        .filter(api_key::Column::KeyHash.eq(hash_key(key)))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .org_id
}

pub async fn insert_batch(app: &TestApp, org: Uuid, total: i32) -> Uuid {
    let id = Uuid::now_v7();
    batch::Model::new_queued(id, org, Some("seeded".into()), total, Utc::now())
        .into_active_model()
        .insert(&app.db)
        .await
        .unwrap();
    id
}

pub struct JobSpec<'a> {
    pub row: i32,
    pub publisher: &'a str,
    pub target: &'a str,
    pub status: JobStatus,
    pub created: DateTime<Utc>,
    /// Started a minute after creation and ran this long; `None`: never ran.
    pub run_secs: Option<i64>,
}

pub async fn insert_job(app: &TestApp, org: Uuid, batch: Option<Uuid>, spec: JobSpec<'_>) -> Uuid {
    let id = Uuid::now_v7();
    let started = spec.run_secs.map(|_| spec.created + Duration::minutes(1));
    let finished = started
        .zip(spec.run_secs)
        .map(|(s, secs)| s + Duration::seconds(secs));
    job::Model {
        id,
        org_id: org,
        batch_id: batch,
        row_index: spec.row,
        publisher_domain: spec.publisher.into(),
        target_url: spec.target.into(),
        anchor_text: format!("anchor {}", spec.row),
        language: Some("sv".into()),
        status: spec.status,
        attempts: 1,
        lease_owner: None,
        lease_expires_at: None,
        error_code: None,
        error_message: None,
        tokens_in: 0,
        tokens_out: 0,
        cost_micros: 1234,
        created_at: spec.created,
        updated_at: spec.created,
        started_at: started,
        finished_at: finished,
        dispatched_at: None,
        dispatches: 0,
        not_before: None,
        traceparent: None,
        review_feedback: None,
        attempt_floor: 0,
    }
    .into_active_model()
    .insert(&app.db)
    .await
    .unwrap();
    id
}

#[allow(clippy::too_many_arguments)]
pub async fn insert_article(
    app: &TestApp,
    org: Uuid,
    job_id: Uuid,
    version: i32,
    words: i32,
    qc_passed: bool,
    regenerations: i32,
    autofixes: &[&str],
) -> Uuid {
    let row = job::Entity::find_by_id(job_id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let id = Uuid::now_v7();
    article::Model {
        id,
        job_id,
        org_id: org,
        version,
        title: format!("Article for row {}", row.row_index),
        body_markdown: format!(
            "Intro paragraph.\n\nRead about [{}]({}) here.\n\nClosing paragraph.",
            row.anchor_text, row.target_url
        ),
        word_count: words,
        language: Some("sv".into()),
        provider: "llm-sim".into(),
        model: "sim-writer".into(),
        created_at: row.created_at,
        meta_description: Some("A description".into()),
        qc_passed,
        qc_report: Some(json!({"checks": []})),
        trust_links: Some(json!([])),
        autofixes: Some(json!(autofixes)),
        regenerations,
        context_report: None,
        deployment: None,
    }
    .into_active_model()
    .insert(&app.db)
    .await
    .unwrap();
    id
}

#[allow(clippy::too_many_arguments)]
async fn insert_call(
    app: &TestApp,
    org: Uuid,
    job_id: Uuid,
    batch: Option<Uuid>,
    (provider, model): (&str, &str),
    at: &str,
    (tokens_in, tokens_out, cost_micros): (i64, i64, i64),
    outcome: &str,
) {
    let seq = llm_call::Entity::find()
        .filter(llm_call::Column::JobId.eq(job_id))
        .all(&app.db)
        .await
        .unwrap()
        .len() as i32;
    llm_call::ActiveModel {
        id: Set(Uuid::now_v7()),
        org_id: Set(org),
        job_id: Set(job_id),
        batch_id: Set(batch),
        attempt: Set(1),
        seq: Set(seq),
        provider: Set(provider.into()),
        model: Set(model.into()),
        outcome: Set(outcome.into()),
        http_status: Set(Some(200)),
        tokens_in: Set(tokens_in),
        tokens_out: Set(tokens_out),
        cost_micros: Set(cost_micros),
        latency_ms: Set(100),
        error: Set(None),
        created_at: Set(at.parse().unwrap()),
        tokens_cached: Set(0),
        retry_after_ms: Set(None),
        tokens_reasoning: Set(0),
        tokens_cache_write: Set(0),
        purpose: Set(None),
        regenerated_for: Set(None),
    }
    .insert(&app.db)
    .await
    .unwrap();
}

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

struct Seeded {
    b1: Uuid,
    b2: Uuid,
    other_key: String,
}

/// Seven jobs on 2025-03-01/02 (and one before, one in another org) with the articles and
/// calls the expected figures below are computed from.
async fn seed(app: &TestApp) -> Seeded {
    use JobStatus::*;
    let org = org_of(app).await;
    let b1 = insert_batch(app, org, 3).await;
    let b2 = insert_batch(app, org, 4).await;
    let spec = |row, publisher, target, status, created: &str, run_secs| JobSpec {
        row,
        publisher,
        target,
        status,
        created: t(created),
        run_secs,
    };
    let j1 = insert_job(
        app,
        org,
        Some(b1),
        spec(
            0,
            "bloggen.se",
            "https://www.client.se/a",
            Succeeded,
            "2025-03-01T08:00:00Z",
            Some(10),
        ),
    )
    .await;
    let j2 = insert_job(
        app,
        org,
        Some(b1),
        spec(
            1,
            "bloggen.se",
            "https://client.se/b?x=1",
            Succeeded,
            "2025-03-01T09:00:00Z",
            Some(20),
        ),
    )
    .await;
    let j3 = insert_job(
        app,
        org,
        Some(b1),
        spec(
            2,
            "news.de",
            "http://user@Shop.DE:8080/p",
            NeedsReview,
            "2025-03-01T23:59:59Z",
            Some(30),
        ),
    )
    .await;
    let j4 = insert_job(
        app,
        org,
        Some(b2),
        spec(
            0,
            "news.de",
            "https://shop.de/",
            Failed,
            "2025-03-02T00:00:00Z",
            Some(40),
        ),
    )
    .await;
    insert_job(
        app,
        org,
        Some(b2),
        spec(
            1,
            "mag.com",
            "https://other.com/x",
            Cancelled,
            "2025-03-02T01:00:00Z",
            None,
        ),
    )
    .await;
    insert_job(
        app,
        org,
        Some(b2),
        spec(
            2,
            "mag.com",
            "https://other.com/y",
            Queued,
            "2025-03-02T02:00:00Z",
            None,
        ),
    )
    .await;
    let j7 = insert_job(
        app,
        org,
        Some(b2),
        spec(
            3,
            "mag.com",
            "https://other.com/z",
            Succeeded,
            "2025-03-02T03:00:00Z",
            Some(50),
        ),
    )
    .await;
    // Outside the range, and another organization's job inside it: neither may count.
    let j8 = insert_job(
        app,
        org,
        None,
        spec(
            0,
            "bloggen.se",
            "https://client.se/old",
            Succeeded,
            "2025-02-27T12:00:00Z",
            Some(1000),
        ),
    )
    .await;
    insert_article(app, org, j8, 1, 5000, true, 0, &[]).await;
    let other_key = app.other_org_key().await;
    let other = org_of_key(app, &other_key).await;
    let j9 = insert_job(
        app,
        other,
        None,
        spec(
            0,
            "bloggen.se",
            "https://client.se/a",
            Succeeded,
            "2025-03-01T10:00:00Z",
            Some(5),
        ),
    )
    .await;
    insert_article(app, other, j9, 1, 9999, true, 0, &[]).await;
    insert_call(
        app,
        other,
        j9,
        None,
        ("openai", "gpt-4o-mini"),
        "2025-03-01T10:00:00Z",
        (1, 1, 1_000_000),
        "ok",
    )
    .await;

    insert_article(app, org, j1, 1, 800, true, 0, &[]).await; // first try
    insert_article(app, org, j2, 1, 700, true, 1, &[]).await; // regenerated once
    insert_article(app, org, j2, 2, 900, true, 0, &[]).await; // a reviewer's regeneration: current
    insert_article(app, org, j3, 1, 850, false, 2, &[]).await;
    insert_article(app, org, j7, 1, 760, true, 0, &["restored_anchor_link"]).await; // autofixed

    let openai_mini = ("openai", "gpt-4o-mini");
    let claude = ("anthropic", "claude-x");
    insert_call(
        app,
        org,
        j1,
        Some(b1),
        openai_mini,
        "2025-03-01T10:00:00Z",
        (1000, 500, 1500),
        "ok",
    )
    .await;
    insert_call(
        app,
        org,
        j2,
        Some(b1),
        openai_mini,
        "2025-03-01T11:00:00Z",
        (2000, 800, 2500),
        "ok",
    )
    .await;
    insert_call(
        app,
        org,
        j2,
        Some(b1),
        claude,
        "2025-03-01T12:00:00Z",
        (100, 0, 0),
        "retryable_error",
    )
    .await;
    insert_call(
        app,
        org,
        j4,
        None,
        claude,
        "2025-03-02T09:00:00Z",
        (3000, 1000, 7000),
        "ok",
    )
    .await;
    insert_call(
        app,
        org,
        j7,
        Some(b2),
        ("openai", "gpt-4o"),
        "2025-03-02T23:59:59Z",
        (500, 500, 1000),
        "ok",
    )
    .await;
    insert_call(
        app,
        org,
        j7,
        Some(b2),
        ("openai", "gpt-4o"),
        "2025-03-03T00:00:00Z",
        (9, 9, 99_999),
        "ok",
    )
    .await;
    Seeded { b1, b2, other_key }
}

const RANGE: &str = "from=2025-03-01&to=2025-03-02";

fn close(a: &Value, b: f64) -> bool {
    a.as_f64().is_some_and(|a| (a - b).abs() < 1e-9)
}

#[tokio::test]
async fn analytics_match_hand_computed_figures() {
    let app = TestApp::spawn().await;
    let seeded = seed(&app).await;

    let jobs = app
        .get_json(&format!("/api/v1/analytics/jobs?{RANGE}"))
        .await;
    assert_eq!(jobs["range"]["from"], "2025-03-01T00:00:00Z", "{jobs}");
    assert_eq!(
        jobs["range"]["to"], "2025-03-03T00:00:00Z",
        "a date includes its whole day"
    );
    assert_eq!(
        jobs["totals"],
        json!({"total": 7, "queued": 1, "running": 0, "succeeded": 3, "needs_review": 1, "failed": 1, "cancelled": 1})
    );
    assert_eq!(jobs["finished"], 5);
    assert!(close(&jobs["success_rate"], 0.6), "3 of 5: {jobs}");
    assert_eq!(
        jobs["first_try_passed"], 1,
        "not regenerated, not autofixed: {jobs}"
    );
    assert!(close(&jobs["first_try_pass_rate"], 0.2));
    assert_eq!(jobs["durations"]["jobs"], 5);
    assert!(close(&jobs["durations"]["p50_secs"], 30.0), "{jobs}");
    // percentile_cont over 10..50: 40 + 0.8 × 10.
    assert!(close(&jobs["durations"]["p95_secs"], 48.0), "{jobs}");
    assert_eq!(
        jobs["by_day"],
        json!([
            {"day": "2025-03-01", "total": 3, "queued": 0, "running": 0, "succeeded": 2, "needs_review": 1, "failed": 0, "cancelled": 0},
            {"day": "2025-03-02", "total": 4, "queued": 1, "running": 0, "succeeded": 1, "needs_review": 0, "failed": 1, "cancelled": 1},
        ])
    );

    let links = app
        .get_json(&format!("/api/v1/analytics/backlinks?{RANGE}"))
        .await;
    assert_eq!(
        links["totals"],
        json!({"links": 7, "articles": 4, "words_total": 3310, "words_avg": 827.5, "publishers": 3, "targets": 3}),
        "current versions only: {links}"
    );
    assert_eq!(
        links["by_publisher"],
        json!([
            {"domain": "mag.com", "links": 3, "articles": 1, "words_total": 760, "words_avg": 760.0},
            {"domain": "bloggen.se", "links": 2, "articles": 2, "words_total": 1700, "words_avg": 850.0},
            {"domain": "news.de", "links": 2, "articles": 1, "words_total": 850, "words_avg": 850.0},
        ])
    );
    assert_eq!(
        links["by_target"],
        json!([
            {"domain": "other.com", "links": 3, "articles": 1, "words_total": 760, "words_avg": 760.0},
            {"domain": "client.se", "links": 2, "articles": 2, "words_total": 1700, "words_avg": 850.0},
            {"domain": "shop.de", "links": 2, "articles": 1, "words_total": 850, "words_avg": 850.0},
        ]),
        "hosts without www., user info, port or case"
    );
    let top = app
        .get_json(&format!("/api/v1/analytics/backlinks?{RANGE}&limit=1"))
        .await;
    assert_eq!(top["by_publisher"].as_array().unwrap().len(), 1);
    assert_eq!(top["by_target"][0]["domain"], "other.com");

    let costs = app
        .get_json(&format!("/api/v1/analytics/costs?{RANGE}"))
        .await;
    assert_eq!(
        costs["totals"],
        json!({"calls": 5, "failed_calls": 1, "tokens_in": 6600, "tokens_out": 2800, "cost_micros": 12000, "cost_usd": 0.012})
    );
    let figures = |v: &Value| (v["calls"].clone(), v["cost_micros"].clone());
    let by_day: Vec<_> = costs["by_day"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["day"].clone(), figures(d)))
        .collect();
    assert_eq!(
        by_day,
        [
            (json!("2025-03-01"), (json!(3), json!(4000))),
            (json!("2025-03-02"), (json!(2), json!(8000))),
        ]
    );
    let by_batch: Vec<_> = costs["by_batch"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["batch_id"].clone(), figures(b)))
        .collect();
    let (b1, b2) = (
        BatchId::from_uuid(seeded.b1).to_string(),
        BatchId::from_uuid(seeded.b2).to_string(),
    );
    assert_eq!(
        by_batch,
        [
            (Value::Null, (json!(1), json!(7000))),
            (json!(b1), (json!(3), json!(4000))),
            (json!(b2), (json!(1), json!(1000))),
        ]
    );
    assert_eq!(
        costs["by_provider"],
        json!([
            {"provider": "anthropic", "calls": 2, "failed_calls": 1, "tokens_in": 3100, "tokens_out": 1000, "cost_micros": 7000, "cost_usd": 0.007},
            {"provider": "openai", "calls": 3, "failed_calls": 0, "tokens_in": 3500, "tokens_out": 1800, "cost_micros": 5000, "cost_usd": 0.005},
        ])
    );
    let models: Vec<_> = costs["by_model"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["provider"].clone(),
                m["model"].clone(),
                m["cost_micros"].clone(),
            )
        })
        .collect();
    assert_eq!(
        models,
        [
            (json!("anthropic"), json!("claude-x"), json!(7000)),
            (json!("openai"), json!("gpt-4o-mini"), json!(4000)),
            (json!("openai"), json!("gpt-4o"), json!(1000)),
        ]
    );

    // The other organization sees its own job and call only.
    let theirs: Value = app
        .client
        .get(app.url(&format!("/api/v1/analytics/costs?{RANGE}")))
        .bearer_auth(&seeded.other_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(theirs["totals"]["calls"], 1);
    assert_eq!(theirs["totals"]["cost_usd"], 1.0);
    app.cleanup().await;
}

#[tokio::test]
async fn date_ranges_filter_and_are_validated() {
    let app = TestApp::spawn().await;
    seed(&app).await;

    // One day, and a date-time window inside it (end exclusive).
    let day = app
        .get_json("/api/v1/analytics/jobs?from=2025-03-02&to=2025-03-02")
        .await;
    assert_eq!(day["totals"]["total"], 4);
    let window = app
        .get_json("/api/v1/analytics/jobs?from=2025-03-01T08:30:00Z&to=2025-03-02T00:00:00Z")
        .await;
    assert_eq!(window["totals"]["total"], 2, "09:00 and 23:59:59: {window}");
    let costs = app
        .get_json("/api/v1/analytics/costs?from=2025-03-03&to=2025-03-03")
        .await;
    assert_eq!(costs["totals"]["cost_micros"], 99_999);
    // The default range is the last 30 days: none of the 2025 rows.
    let recent = app.get_json("/api/v1/analytics/backlinks").await;
    assert_eq!(recent["totals"]["links"], 0);
    assert!(recent["totals"]["words_avg"].is_null());
    let to: DateTime<Utc> = recent["range"]["to"].as_str().unwrap().parse().unwrap();
    let from: DateTime<Utc> = recent["range"]["from"].as_str().unwrap().parse().unwrap();
    assert_eq!(to - from, Duration::days(30));
    let empty = app.get_json("/api/v1/analytics/jobs").await;
    assert!(empty["success_rate"].is_null() && empty["durations"]["p50_secs"].is_null());
    assert_eq!(empty["by_day"], json!([]));

    for (query, field) in [
        ("from=yesterday", "from"),
        ("to=2025-02-30", "to"),
        ("from=2025-03-02&to=2025-03-01", "from"),
        ("from=2024-01-01&to=2025-03-01", "to"),
    ] {
        for route in ["jobs", "backlinks", "costs"] {
            let resp = app.get(&format!("/api/v1/analytics/{route}?{query}")).await;
            assert_error(resp, StatusCode::BAD_REQUEST, "bad_request", Some(field)).await;
        }
    }
    let resp = app.get("/api/v1/analytics/backlinks?limit=0").await;
    assert_error(resp, StatusCode::BAD_REQUEST, "bad_request", Some("limit")).await;
    let resp = app
        .client
        .get(app.url("/api/v1/analytics/jobs"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    app.cleanup().await;
}

//! Rate limits: exact counts shared by two API replicas through Redis, the in-memory store,
//! the organization bucket, the expensive-operation bucket, per-organization settings, and
//! brute-forced logins.

use reqwest::{Method, Response, StatusCode};
use serde_json::json;

use bacowr_api::Application;

use super::{PASSWORD, call, login, register, security_events};
use crate::helpers::{TestApp, assert_error, batch_body};

fn header(resp: &Response, name: &str) -> Option<u64> {
    resp.headers().get(name)?.to_str().ok()?.parse().ok()
}

async fn second_replica(app: &TestApp) -> String {
    let mut settings = app.settings.clone();
    settings.api.listen = "127.0.0.1:0".parse().unwrap();
    let second = Application::build(settings).await.unwrap();
    let url = format!("http://127.0.0.1:{}", second.port());
    tokio::spawn(second.run_until_stopped());
    url
}

#[tokio::test]
async fn two_replicas_share_one_budget_exactly() {
    let app = TestApp::spawn_with(|s| s.rate_limit.per_caller_per_minute = 7).await;
    let second = second_replica(&app).await;
    let mut remaining = Vec::new();
    for i in 0..7 {
        let base = if i % 2 == 0 {
            app.address.clone()
        } else {
            second.clone()
        };
        let resp = app
            .client
            .get(format!("{base}/api/v1/batches"))
            .bearer_auth(&app.api_key)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "request {i}");
        assert_eq!(header(&resp, "ratelimit-limit"), Some(7));
        remaining.push(header(&resp, "ratelimit-remaining").unwrap());
    }
    assert_eq!(remaining, vec![6, 5, 4, 3, 2, 1, 0]);
    for base in [app.address.clone(), second] {
        let resp = app
            .client
            .get(format!("{base}/api/v1/batches"))
            .bearer_auth(&app.api_key)
            .send()
            .await
            .unwrap();
        let retry = header(&resp, "retry-after").expect("Retry-After");
        assert!(
            (1..=9).contains(&retry),
            "one request is re-earned every 60/7 s: {retry}"
        );
        assert_eq!(header(&resp, "ratelimit-remaining"), Some(0));
        assert_error(resp, StatusCode::TOO_MANY_REQUESTS, "rate_limited", None).await;
    }
    app.cleanup().await;
}

#[tokio::test]
async fn the_organization_bucket_and_per_org_settings_bind_every_caller() {
    let app = TestApp::spawn_with(|s| {
        s.rate_limit.per_caller_per_minute = 50;
        s.rate_limit.per_org_per_minute = 5;
        s.rate_limit.store = "memory".into();
    })
    .await;
    let other_key = app.other_org_key().await;
    for i in 0..5 {
        assert_eq!(
            app.get("/api/v1/batches").await.status(),
            StatusCode::OK,
            "{i}"
        );
    }
    assert_eq!(
        app.get("/api/v1/batches").await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another organization has its own budget.
    let resp = call(&app, Method::GET, "/api/v1/batches", Some(&other_key), None).await;
    assert_eq!(resp.status(), StatusCode::OK);

    // An organization's own per-caller limit replaces the default.
    let owner = register(&app, "limits@agency.example").await;
    let resp = call(
        &app,
        Method::PATCH,
        "/api/v1/org",
        Some(&owner.access),
        Some(&json!({"rate_per_minute": 2, "org_rate_per_minute": 100})),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let org: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(org["rate_limits"]["effective_rate_per_minute"], 2);
    let statuses: Vec<u16> = {
        let mut v = Vec::new();
        for _ in 0..3 {
            v.push(
                call(&app, Method::GET, "/api/v1/me", Some(&owner.access), None)
                    .await
                    .status()
                    .as_u16(),
            );
        }
        v
    };
    // The PATCH itself was one of the two.
    assert_eq!(statuses, vec![200, 429, 429]);
    app.cleanup().await;
}

#[tokio::test]
async fn submissions_have_a_stricter_bucket() {
    let app = TestApp::spawn_with(|s| s.rate_limit.expensive_per_minute = 2).await;
    let dry = app
        .post_json("/api/v1/batches?dry_run=true", &batch_body(1))
        .await;
    assert_eq!(dry.status(), StatusCode::OK, "a dry run costs nothing");
    for _ in 0..2 {
        assert_eq!(
            app.post_json("/api/v1/batches", &batch_body(1))
                .await
                .status(),
            StatusCode::ACCEPTED
        );
    }
    let third = app.post_json("/api/v1/batches", &batch_body(1)).await;
    assert!(header(&third, "retry-after").unwrap() >= 1);
    assert_error(third, StatusCode::TOO_MANY_REQUESTS, "rate_limited", None).await;
    // Reads are unaffected.
    assert_eq!(app.get("/api/v1/batches").await.status(), StatusCode::OK);
    app.cleanup().await;
}

#[tokio::test]
async fn brute_forced_logins_get_429_and_leave_security_events() {
    let app = TestApp::spawn_with(|s| s.rate_limit.login_per_minute = 5).await;
    let owner = register(&app, "target@agency.example").await;
    for i in 0..5 {
        let resp = login(&app, "target@agency.example", &format!("guess number {i}!")).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    // The right password is refused too once the budget is spent.
    let resp = login(&app, "target@agency.example", PASSWORD).await;
    assert!(header(&resp, "retry-after").is_some());
    assert_error(resp, StatusCode::TOO_MANY_REQUESTS, "rate_limited", None).await;

    assert_eq!(
        security_events(&app, &owner.access, "login.failed")
            .await
            .len(),
        5
    );
    let limited = security_events(&app, &owner.access, "rate_limited").await;
    assert_eq!(limited.len(), 1, "{limited:?}");
    assert_eq!(limited[0]["route"], "/api/v1/auth/login");
    assert!(!limited[0]["body"].to_string().contains(PASSWORD));
    app.cleanup().await;
}

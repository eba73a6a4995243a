//! The audit log: every mutating request with who, where from and a redacted body; filters
//! and pages; retention.

use chrono::{Duration, Utc};
use reqwest::{Method, StatusCode};
use sea_orm::{ActiveValue::Set, EntityTrait};
use serde_json::{Value, json};

use bacowr_api::services::accounts;
use bacowr_shared::entities::audit_log;

use super::{PASSWORD, add_user, call, register};
use crate::helpers::TestApp;

async fn logs(app: &TestApp, token: &str, query: &str) -> Value {
    let resp = call(
        app,
        Method::GET,
        &format!("/api/v1/audit/logs?{query}"),
        Some(token),
        None,
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK, "{query}");
    resp.json().await.unwrap()
}

#[tokio::test]
async fn mutating_requests_are_logged_with_their_secrets_redacted() {
    let app = TestApp::spawn().await;
    let owner = register(&app, "audit@agency.example").await;
    let member = add_user(&app, &owner.access, "new@agency.example", "member").await;
    let secret_body = json!({
        "name": "smuggled",
        "links": [{
            "publisher_domain": "blogg.se",
            "target_url": "https://client.example/",
            "anchor_text": "x",
            "credentials": {"api_key": "sk-live-123456", "nested": [{"Refresh_Token": "bcr_deadbeef"}]},
            "note": "Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig"
        }]
    });
    let resp = app
        .client
        .post(app.url("/api/v1/batches"))
        .bearer_auth(&owner.access)
        .header("user-agent", "agency-sync/2.1")
        .json(&secret_body)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_client_error());
    let request_id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();

    let page = logs(&app, &owner.access, "limit=200").await;
    let entries = page["items"].as_array().unwrap();
    let text = page.to_string();
    for secret in [
        PASSWORD,
        "sk-live-123456",
        "bcr_deadbeef",
        "eyJhbGciOiJIUzI1NiJ9",
    ] {
        assert!(!text.contains(secret), "{secret} leaked into the audit log");
    }
    let batch = entries
        .iter()
        .find(|e| e["request_id"] == request_id.as_str())
        .unwrap();
    assert_eq!(batch["kind"], "request");
    assert_eq!(batch["method"], "POST");
    assert_eq!(batch["route"], "/api/v1/batches");
    assert_eq!(batch["actor"], owner.user_id.as_str());
    assert_eq!(batch["actor_type"], "user");
    assert_eq!(batch["ip"], "127.0.0.1");
    assert_eq!(batch["user_agent"], "agency-sync/2.1");
    let creds = &batch["body"]["links"][0]["credentials"];
    assert_eq!(creds, "[REDACTED]");
    assert_eq!(batch["body"]["links"][0]["note"], "[REDACTED]");
    assert_eq!(batch["body"]["links"][0]["publisher_domain"], "blogg.se");

    let created = entries
        .iter()
        .find(|e| e["route"] == "/api/v1/users" && e["status"] == 201)
        .unwrap();
    assert_eq!(created["body"]["password"], "[REDACTED]");
    assert_eq!(created["body"]["email"], "new@agency.example");

    // The register request is on record too, attributed to the new owner.
    let registered = logs(&app, &owner.access, "method=post&status=201").await;
    let routes: Vec<&str> = registered["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["route"].as_str().unwrap())
        .collect();
    assert!(routes.contains(&"/api/v1/auth/register"), "{routes:?}");
    assert!(routes.contains(&"/api/v1/users"), "{routes:?}");

    // Reads are not audited.
    call(
        &app,
        Method::GET,
        "/api/v1/batches",
        Some(&owner.access),
        None,
    )
    .await;
    let all = logs(&app, &owner.access, "limit=200").await;
    assert!(
        all["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["method"] != "GET")
    );

    // Filters by actor, and pages with a cursor.
    let by_actor = logs(&app, &owner.access, &format!("actor={}", owner.user_id)).await;
    assert!(
        by_actor["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["actor"] == owner.user_id.as_str())
    );
    let first = logs(&app, &owner.access, "limit=1").await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = logs(&app, &owner.access, &format!("limit=1&cursor={cursor}")).await;
    assert_ne!(first["items"][0]["id"], second["items"][0]["id"]);
    let bad = call(
        &app,
        Method::GET,
        "/api/v1/audit/logs?from=yesterday",
        Some(&owner.access),
        None,
    )
    .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert!(!member.is_empty());
    app.cleanup().await;
}

#[tokio::test]
async fn entries_past_their_retention_are_swept() {
    let app = TestApp::spawn().await;
    let owner = register(&app, "retention@agency.example").await;
    let org = bacowr_shared::ids::OrgId::parse(&owner.org_id)
        .unwrap()
        .uuid();
    let entry = |days: i64| audit_log::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        org_id: Set(Some(org)),
        kind: Set("request".into()),
        event: Set(format!("old {days}")),
        created_at: Set(Utc::now() - Duration::days(days)),
        ..Default::default()
    };
    audit_log::Entity::insert_many([entry(91), entry(89)])
        .exec(&app.db)
        .await
        .unwrap();
    assert!(accounts::sweep(&app.db, 90).await.unwrap() >= 1);
    let events: Vec<String> = audit_log::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect();
    assert!(events.contains(&"old 89".to_owned()));
    assert!(!events.contains(&"old 91".to_owned()));
    app.cleanup().await;
}

//! Endpoint CRUD, validation, pagination and tenancy.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, error_fields};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoints_are_validated_tenant_scoped_and_editable() {
    let app = TestApp::spawn_with(|s| s.webhooks.max_endpoints_per_org = 3).await;

    let resp = app
        .post_json(
            "/api/v1/webhooks",
            &json!({"url": "ftp://example.com/h", "event_types": ["job.failed", "job.done"],
                    "description": "x".repeat(501)}),
        )
        .await;
    let err = assert_error(
        resp,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("url"),
    )
    .await;
    assert_eq!(error_fields(&err), ["url", "description", "event_types[1]"]);
    let resp = app
        .post_json(
            "/api/v1/webhooks",
            &json!({"url": format!("https://e.com/{}", "a".repeat(2100))}),
        )
        .await;
    assert_error(
        resp,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("url"),
    )
    .await;
    let resp = app
        .post_json("/api/v1/webhooks", &json!({"event_types": []}))
        .await;
    assert_error(resp, StatusCode::BAD_REQUEST, "bad_request", Some("body")).await;

    let resp = app
        .post_json(
            "/api/v1/webhooks",
            &json!({"url": "https://hooks.example.com/a", "event_types": ["job.failed", "batch.completed"]}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let created: Value = resp.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("wh_"), "{created}");
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(
        secret.starts_with("whsec_") && secret.len() >= 6 + 32,
        "{created}"
    );
    assert_eq!(
        created["event_types"],
        json!(["job.failed", "batch.completed"])
    );
    assert_eq!(created["enabled"], true);

    let got = app.get_json(&format!("/api/v1/webhooks/{id}")).await;
    assert!(
        got.get("secret").is_none(),
        "the secret is shown once: {got}"
    );
    assert_eq!(got["url"], "https://hooks.example.com/a");

    // PATCH: a new filter, disabled; then enabled again.
    let resp = app
        .client
        .patch(app.url(&format!("/api/v1/webhooks/{id}")))
        .bearer_auth(&app.api_key)
        .json(&json!({"event_types": ["export.ready"], "enabled": false, "description": "ours"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let patched: Value = resp.json().await.unwrap();
    assert_eq!(patched["event_types"], json!(["export.ready"]));
    assert_eq!(patched["enabled"], false);
    assert_eq!(patched["description"], "ours");
    let resp = app
        .client
        .patch(app.url(&format!("/api/v1/webhooks/{id}")))
        .bearer_auth(&app.api_key)
        .json(&json!({"event_types": ["nope"]}))
        .send()
        .await
        .unwrap();
    assert_error(
        resp,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("event_types[0]"),
    )
    .await;

    // Rotation shows a new secret once.
    let resp = app
        .post_json(&format!("/api/v1/webhooks/{id}/rotate-secret"), &json!({}))
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let rotated: Value = resp.json().await.unwrap();
    assert!(rotated["secret"].as_str().unwrap().starts_with("whsec_"));
    assert_ne!(rotated["secret"], secret.as_str());

    // Pagination, newest first.
    for i in 0..2 {
        crate::webhooks::register(&app, &format!("https://hooks.example.com/{i}"), &[]).await;
    }
    let page = app.get_json("/api/v1/webhooks?limit=2").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    assert_eq!(page["items"][0]["url"], "https://hooks.example.com/1");
    let cursor = page["next_cursor"].as_str().unwrap();
    let rest = app
        .get_json(&format!("/api/v1/webhooks?limit=2&cursor={cursor}"))
        .await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert_eq!(rest["items"][0]["id"], id.as_str());
    assert!(rest["next_cursor"].is_null());

    // The organization's limit.
    let resp = app
        .post_json(
            "/api/v1/webhooks",
            &json!({"url": "https://hooks.example.com/4"}),
        )
        .await;
    assert_error(resp, StatusCode::CONFLICT, "conflict", Some("url")).await;

    // Another organization sees none of it.
    let other = app.other_org_key().await;
    for (method, path) in [
        ("GET", format!("/api/v1/webhooks/{id}")),
        ("DELETE", format!("/api/v1/webhooks/{id}")),
        ("PATCH", format!("/api/v1/webhooks/{id}")),
        ("GET", format!("/api/v1/webhooks/{id}/deliveries")),
        ("POST", format!("/api/v1/webhooks/{id}/rotate-secret")),
    ] {
        let resp = app
            .client
            .request(method.parse().unwrap(), app.url(&path))
            .bearer_auth(&other)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_error(resp, StatusCode::NOT_FOUND, "not_found", None).await;
    }
    let theirs = app
        .client
        .get(app.url("/api/v1/webhooks"))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(theirs["items"], json!([]));
    let resp = app
        .get("/api/v1/webhooks/batch_0192f0c4e5a27b6c8d9e0f1a2b3c4d5e")
        .await;
    assert_error(
        resp,
        StatusCode::BAD_REQUEST,
        "bad_request",
        Some("webhook_id"),
    )
    .await;

    let resp = app
        .client
        .delete(app.url(&format!("/api/v1/webhooks/{id}")))
        .bearer_auth(&app.api_key)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let resp = app.get(&format!("/api/v1/webhooks/{id}")).await;
    assert_error(resp, StatusCode::NOT_FOUND, "not_found", None).await;
    app.cleanup().await;
}

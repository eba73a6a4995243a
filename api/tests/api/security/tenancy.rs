//! Another organization's resources answer 404 on every route that names one, and never
//! appear in lists: batches, jobs, items and versions, exports, live streams, webhooks and
//! their deliveries, API keys, users.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use bacowr_api::access::{Access, MATRIX};
use bacowr_shared::testing::eventually;

use super::{add_user, call, register};
use crate::helpers::{TestApp, spawn_sim};

struct Ids {
    batch: String,
    job: String,
    item: String,
    webhook: String,
    msg: String,
    key: String,
    user: String,
}

fn fill(path: &str, ids: &Ids) -> String {
    let id = if path.contains("/ws/jobs/") {
        &ids.job
    } else {
        &ids.batch
    };
    path.replace("{batch_id}", &ids.batch)
        .replace("{item_id}", &ids.item)
        .replace("{version}", "1")
        .replace("{format}", "json")
        .replace("{id}", id)
        .replace("{job_id}", &ids.job)
        .replace("{webhook_id}", &ids.webhook)
        .replace("{msg_id}", &ids.msg)
        .replace("{key_id}", &ids.key)
        .replace("{user_id}", &ids.user)
}

/// A body that passes validation, so only ownership decides.
fn body_for(method: &str, path: &str, ids: &Ids) -> Option<Value> {
    if path.ends_with("/items/{item_id}/review") {
        return Some(json!({"decision": "approve"}));
    }
    if path.ends_with("{batch_id}/review") {
        return Some(json!({"decision": "approve", "item_ids": [ids.item]}));
    }
    match method {
        "PATCH" if path.contains("webhooks") => Some(json!({"description": "mine now"})),
        "PATCH" => Some(json!({"name": "mine now"})),
        "POST" => Some(json!({})),
        _ => None,
    }
}

#[tokio::test]
async fn another_organizations_resources_answer_404_on_every_route() {
    let app = TestApp::spawn_with(|s| s.webhooks.allow_hosts = vec!["127.0.0.0/8".into()]).await;
    let sim = spawn_sim().await;
    // Organization A: the test app's own (its key holds every scope).
    let resp = app
        .post_json(
            "/api/v1/webhooks",
            &json!({"url": "http://127.0.0.1:9/hook", "event_types": []}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let webhook = resp.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let batch = app.submit_batch(2).await["id"].as_str().unwrap().to_owned();
    app.drain_batch(&batch, &sim).await;
    let jobs = app.get_json(&format!("/api/v1/batches/{batch}/jobs")).await;
    let items = app
        .get_json(&format!("/api/v1/batches/{batch}/items"))
        .await;
    let msg = eventually(
        "a webhook delivery",
        std::time::Duration::from_secs(20),
        || async {
            let page = app
                .get_json(&format!("/api/v1/webhooks/{webhook}/deliveries"))
                .await;
            page["items"][0]["id"].as_str().map(str::to_owned)
        },
    )
    .await;
    let keys = app.get_json("/api/v1/api-keys").await;
    let ids = Ids {
        batch: batch.clone(),
        job: jobs["items"][0]["id"].as_str().unwrap().to_owned(),
        item: items["items"][0]["id"].as_str().unwrap().to_owned(),
        webhook,
        msg,
        key: keys["items"][0]["id"].as_str().unwrap().to_owned(),
        user: add_user(&app, &app.api_key, "a-user@a.example", "member").await,
    };

    // Organization B's owner holds every scope, in B only.
    let b = register(&app, "owner@b.example").await;
    let mut checked = 0;
    for r in MATRIX.iter().filter(|r| r.path.contains('{')) {
        assert!(
            matches!(r.access, Access::Scope(_)),
            "{} takes an id",
            r.path
        );
        let method = Method::from_bytes(r.method.as_bytes()).unwrap();
        let path = fill(r.path, &ids);
        let resp = call(
            &app,
            method,
            &path,
            Some(&b.access),
            body_for(r.method, r.path, &ids).as_ref(),
        )
        .await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{} {path}", r.method);
        checked += 1;
    }
    assert!(checked >= 25, "{checked} routes with ids");

    // Lists show B nothing of A's.
    for list in [
        "/api/v1/batches",
        "/api/v1/webhooks",
        "/api/v1/api-keys",
        "/api/v1/users",
        "/api/v1/usage",
        "/api/v1/analytics/jobs",
    ] {
        let resp = call(&app, Method::GET, list, Some(&b.access), None).await;
        assert_eq!(resp.status(), StatusCode::OK, "{list}");
        let text = resp.text().await.unwrap();
        for id in [&ids.batch, &ids.webhook, &ids.key, &ids.user, &ids.job] {
            assert!(!text.contains(id.as_str()), "{list} shows A's {id}");
        }
    }
    // B's audit log holds B's own attempts only.
    let resp = call(
        &app,
        Method::GET,
        "/api/v1/audit/logs?limit=200",
        Some(&b.access),
        None,
    )
    .await;
    let log: Value = resp.json().await.unwrap();
    let entries = log["items"].as_array().unwrap();
    assert!(!entries.is_empty());
    assert!(
        entries.iter().all(|e| e["actor"] == b.user_id.as_str()),
        "{entries:?}"
    );
    // A's key still works: B's DELETE touched nothing.
    assert_eq!(app.get("/api/v1/batches").await.status(), StatusCode::OK);
    app.cleanup().await;
}

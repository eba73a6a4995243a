use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{TestApp, assert_error, base_settings};

#[tokio::test]
async fn health_ready_and_request_ids() {
    let app = TestApp::spawn().await;
    let resp = app.client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .starts_with("req_")
    );
    let resp = app.client.get(app.url("/ready")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["status"], "ready");

    // A caller's own request id is kept, so traces join up.
    let resp = app
        .client
        .get(app.url("/health"))
        .header("x-request-id", "agency-trace-42")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-request-id"], "agency-trace-42");

    let resp = app
        .client
        .get(app.url("/api/v1/nothing-here"))
        .send()
        .await
        .unwrap();
    assert_error(resp, StatusCode::NOT_FOUND, "not_found", None).await;
    app.cleanup().await;
}

#[tokio::test]
async fn missing_wrong_and_malformed_keys_are_401() {
    let app = TestApp::spawn().await;
    let url = app.url("/api/v1/batches");
    let resp = app.client.get(&url).send().await.unwrap();
    assert_error(
        resp,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        Some("Authorization"),
    )
    .await;
    let resp = app
        .client
        .get(&url)
        .bearer_auth("bcw_wrong")
        .send()
        .await
        .unwrap();
    assert_error(
        resp,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        Some("Authorization"),
    )
    .await;
    let resp = app
        .client
        .get(&url)
        .header("authorization", "Basic abc")
        .send()
        .await
        .unwrap();
    assert_error(
        resp,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        Some("Authorization"),
    )
    .await;
    let resp = app
        .post_json("/api/v1/batches", &serde_json::json!({}))
        .await;
    assert_ne!(
        resp.status(),
        StatusCode::UNAUTHORIZED,
        "the right key passes"
    );
    app.cleanup().await;
}

#[tokio::test]
async fn refuses_to_start_on_an_unmigrated_database() {
    let db = bacowr_shared::testing::TestDatabase::create().await;
    let mut settings = base_settings();
    settings.database.url = db.url.clone();
    settings.database.auto_migrate = false;
    settings.api.listen = "127.0.0.1:0".parse().unwrap();
    let err = match bacowr_api::Application::build(settings).await {
        Ok(_) => panic!("started on an unmigrated database"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.contains("pending migration") && err.contains("bacowr-migrate up"),
        "{err}"
    );
    db.drop_database().await;
}

#[tokio::test]
async fn refuses_to_start_without_redis() {
    let app = TestApp::spawn().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let mut settings = app.settings.clone();
    settings.redis.url = format!("redis://127.0.0.1:{port}");
    settings.redis.connection_timeout_ms = 300;
    let err = match bacowr_api::Application::build(settings).await {
        Ok(_) => panic!("started without Redis"),
        Err(e) => e.to_string(),
    };
    assert!(err.starts_with("Redis"), "{err}");
    app.cleanup().await;
}

/// A fleet's processes never run on the embedded build's SQLite and in-process backplane:
/// another process could not share them, so the API and the worker refuse at start, naming
/// the commands that do run it.
#[tokio::test]
async fn the_fleet_binaries_refuse_a_sqlite_database() {
    let files = bacowr_shared::testing::TestSqlite::create();
    let mut settings = crate::helpers::base_settings();
    settings.database.url = files.url.clone();
    settings.api.listen = "127.0.0.1:0".parse().unwrap();
    let err = match bacowr_api::Application::build(settings.clone()).await {
        Ok(_) => panic!("the API started on SQLite"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.contains("bacowr up") && err.contains("Postgres and Redis"),
        "{err}"
    );
    let err = match bacowr_worker::start(settings, std::future::pending()).await {
        Ok(_) => panic!("the worker started on SQLite"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.contains("bacowr up") && err.contains("Postgres and Redis"),
        "{err}"
    );
    assert!(
        !files.dir.join("bacowr.db").exists(),
        "refused before creating anything"
    );
    files.remove();
}

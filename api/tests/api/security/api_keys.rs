//! API keys: shown once, listed without the secret, scopes no wider than the creator's,
//! expiry, last use, and revocation that holds at once on every API replica.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::{Value, json};

use bacowr_api::Application;
use bacowr_shared::{entities::api_key, ids::ApiKeyId, testing::eventually};

use super::{add_key, call, register};
use crate::helpers::{TestApp, assert_error};

#[tokio::test]
async fn a_revoked_key_stops_working_at_once_on_every_replica() {
    let app = TestApp::spawn().await;
    let owner = register(&app, "keys@agency.example").await;
    let (id, key) = add_key(&app, &owner.access, &["batches:read"]).await;
    assert!(key.starts_with("bcw_"));

    let mut settings = app.settings.clone();
    settings.api.listen = "127.0.0.1:0".parse().unwrap();
    let second = Application::build(settings).await.unwrap();
    let second_url = format!("http://127.0.0.1:{}", second.port());
    tokio::spawn(second.run_until_stopped());
    let get_on = |base: String| {
        let client = app.client.clone();
        let key = key.clone();
        async move {
            client
                .get(format!("{base}/api/v1/batches"))
                .bearer_auth(key)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(get_on(app.address.clone()).await, StatusCode::OK);
    assert_eq!(get_on(second_url.clone()).await, StatusCode::OK);

    let resp = call(
        &app,
        Method::DELETE,
        &format!("/api/v1/api-keys/{id}"),
        Some(&owner.access),
        None,
    )
    .await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(get_on(second_url).await, StatusCode::UNAUTHORIZED);
    assert_eq!(get_on(app.address.clone()).await, StatusCode::UNAUTHORIZED);

    // The list shows it revoked, and never the key itself.
    let list = call(
        &app,
        Method::GET,
        "/api/v1/api-keys",
        Some(&owner.access),
        None,
    )
    .await;
    let text = list.text().await.unwrap();
    assert!(!text.contains(&key), "the key is shown once only");
    let list: Value = serde_json::from_str(&text).unwrap();
    let entry = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == id.as_str())
        .unwrap();
    assert!(entry["revoked_at"].is_string());
    assert_eq!(entry["prefix"], key[..12]);
    assert_eq!(entry["scopes"], json!(["batches:read"]));
    assert_eq!(entry["created_by"], owner.user_id.as_str());
    app.cleanup().await;
}

#[tokio::test]
async fn keys_hold_only_their_scopes_expire_and_record_their_last_use() {
    let app = TestApp::spawn().await;
    let owner = register(&app, "scopes@agency.example").await;
    let (admin_id, admin_key) = add_key(&app, &owner.access, &["admin"]).await;
    // An admin-only key can manage keys, but can't mint scopes it doesn't hold.
    let resp = call(
        &app,
        Method::POST,
        "/api/v1/api-keys",
        Some(&admin_key),
        Some(&json!({"name": "wider", "scopes": ["batches:read"]})),
    )
    .await;
    assert_error(resp, StatusCode::FORBIDDEN, "forbidden", Some("scopes")).await;
    for (body, field) in [
        (json!({"name": "x", "scopes": ["batches:delete"]}), "scopes"),
        (json!({"name": "x", "scopes": []}), "scopes"),
        (json!({"name": " ", "scopes": ["admin"]}), "name"),
        (
            json!({"name": "x", "scopes": ["admin"], "expires_at": "2001-01-01T00:00:00Z"}),
            "expires_at",
        ),
    ] {
        let resp = call(
            &app,
            Method::POST,
            "/api/v1/api-keys",
            Some(&admin_key),
            Some(&body),
        )
        .await;
        assert_error(resp, StatusCode::BAD_REQUEST, "bad_request", Some(field)).await;
    }

    // The admin key reads no batches.
    let resp = call(&app, Method::GET, "/api/v1/batches", Some(&admin_key), None).await;
    let body = assert_error(resp, StatusCode::FORBIDDEN, "forbidden", None).await;
    assert!(
        body["detail"].as_str().unwrap().contains("batches:read"),
        "{body}"
    );

    let row = || async {
        api_key::Entity::find_by_id(ApiKeyId::parse(&admin_id).unwrap().uuid())
            .one(&app.db)
            .await
            .unwrap()
            .unwrap()
    };
    eventually("last use recorded", Duration::from_secs(10), || async {
        row().await.last_used_at
    })
    .await;

    // Past its expiry the key is refused.
    api_key::Entity::update_many()
        .col_expr(api_key::Column::ExpiresAt, Expr::value(chrono::Utc::now()))
        .filter(api_key::Column::Id.eq(row().await.id))
        .exec(&app.db)
        .await
        .unwrap();
    let resp = call(
        &app,
        Method::GET,
        "/api/v1/api-keys",
        Some(&admin_key),
        None,
    )
    .await;
    let body = assert_error(
        resp,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        Some("Authorization"),
    )
    .await;
    assert!(body["detail"].as_str().unwrap().contains("expired"));
    app.cleanup().await;
}

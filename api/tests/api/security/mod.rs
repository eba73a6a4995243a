//! Accounts and security (#7): sign-in and sessions, the access matrix, API keys, rate
//! limits, the audit log, hardening.

mod access;
mod accounts;
mod api_keys;
mod audit;
mod hardening;
mod limits;
mod tenancy;

use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::helpers::TestApp;

pub const PASSWORD: &str = "correct horse battery staple";

pub struct Session {
    pub access: String,
    pub refresh: String,
    pub user_id: String,
    pub org_id: String,
}

pub async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Response {
    let mut req = app.client.request(method, app.url(path));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    if let Some(body) = body {
        req = req.json(body);
    }
    req.send().await.unwrap()
}

/// A new organization and its signed-in owner.
pub async fn register(app: &TestApp, email: &str) -> Session {
    let resp = call(
        app,
        Method::POST,
        "/api/v1/auth/register",
        None,
        Some(&json!({"organization": format!("Org of {email}"), "email": email, "password": PASSWORD})),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let body: Value = resp.json().await.unwrap();
    Session {
        access: body["access_token"].as_str().unwrap().to_owned(),
        refresh: body["refresh_token"].as_str().unwrap().to_owned(),
        user_id: body["user_id"].as_str().unwrap().to_owned(),
        org_id: body["organization_id"].as_str().unwrap().to_owned(),
    }
}

pub async fn login(app: &TestApp, email: &str, password: &str) -> Response {
    call(
        app,
        Method::POST,
        "/api/v1/auth/login",
        None,
        Some(&json!({"email": email, "password": password})),
    )
    .await
}

/// Signs in and returns the access token.
pub async fn access_token(app: &TestApp, email: &str) -> String {
    let resp = login(app, email, PASSWORD).await;
    assert_eq!(resp.status(), StatusCode::OK, "login {email}");
    let body: Value = resp.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

/// Adds a user of `role` to the admin's organization; returns the user's id.
pub async fn add_user(app: &TestApp, admin: &str, email: &str, role: &str) -> String {
    let resp = call(
        app,
        Method::POST,
        "/api/v1/users",
        Some(admin),
        Some(&json!({"email": email, "password": PASSWORD, "role": role})),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CREATED, "add {role} {email}");
    let body: Value = resp.json().await.unwrap();
    body["id"].as_str().unwrap().to_owned()
}

/// A new API key with `scopes`; returns (id, key).
pub async fn add_key(app: &TestApp, admin: &str, scopes: &[&str]) -> (String, String) {
    let resp = call(
        app,
        Method::POST,
        "/api/v1/api-keys",
        Some(admin),
        Some(&json!({"name": format!("key {}", scopes.join(" ")), "scopes": scopes})),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let body: Value = resp.json().await.unwrap();
    (
        body["id"].as_str().unwrap().to_owned(),
        body["api_key"].as_str().unwrap().to_owned(),
    )
}

/// The organization's security events of `event`, read as its admin.
pub async fn security_events(app: &TestApp, admin: &str, event: &str) -> Vec<Value> {
    let resp = call(
        app,
        Method::GET,
        &format!("/api/v1/audit/security-events?event={event}&limit=200"),
        Some(admin),
        None,
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    body["items"].as_array().unwrap().clone()
}

//! Webhooks: endpoint CRUD, validation and tenancy; signed deliveries (checked with the
//! independent `standardwebhooks` crate), retries, 410 Gone, the SSRF guard, and events that
//! arrive after a batch runs through the real worker against the provider simulator.

mod crud;
mod delivery;
pub mod receiver;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::TestApp;

/// Registers an endpoint; returns (id, secret).
pub async fn register(app: &TestApp, url: &str, events: &[&str]) -> (String, String) {
    let resp = app
        .post_json(
            "/api/v1/webhooks",
            &json!({"url": url, "event_types": events, "description": "test receiver"}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let body: Value = resp.json().await.unwrap();
    (
        body["id"].as_str().unwrap().to_owned(),
        body["secret"].as_str().unwrap().to_owned(),
    )
}

/// The deliveries of an endpoint, newest first.
pub async fn deliveries(app: &TestApp, endpoint: &str) -> Vec<Value> {
    app.get_json(&format!("/api/v1/webhooks/{endpoint}/deliveries"))
        .await["items"]
        .as_array()
        .unwrap()
        .clone()
}

/// Checks a request's signature with the Standard Webhooks reference crate.
pub fn verify(secret: &str, hit: &receiver::Hit) {
    standardwebhooks::Webhook::new(secret)
        .unwrap()
        .verify(&hit.body, &hit.headers)
        .unwrap_or_else(|e| panic!("signature does not verify: {e:?}"));
}

//! Hardening: response headers, the CORS allow-list, unknown fields refused, production
//! refusing the development JWT secret, and no secret in the logs.

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    time::Duration,
};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use bacowr_shared::{
    config::{DEV_JWT_SECRET, Settings},
    testing::{TestDatabase, TestRedis, eventually, free_port},
};

use super::{PASSWORD, call};
use crate::helpers::{TestApp, base_settings, batch_body};

#[tokio::test]
async fn responses_carry_hardening_headers_and_cors_follows_the_allow_list() {
    let app = TestApp::spawn_with(|s| {
        s.http.cors_allowed_origins = vec!["https://app.agency.example".into()];
        s.http.hsts = true;
    })
    .await;
    let resp = app.get("/api/v1/batches").await;
    let h = resp.headers();
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert_eq!(h["cache-control"], "no-store");
    assert!(
        h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    assert!(
        h["strict-transport-security"]
            .to_str()
            .unwrap()
            .contains("max-age=")
    );

    let preflight = |origin: &'static str| {
        app.client
            .request(Method::OPTIONS, app.url("/api/v1/batches"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type",
            )
            .send()
    };
    let allowed = preflight("https://app.agency.example").await.unwrap();
    assert_eq!(allowed.status(), StatusCode::OK);
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://app.agency.example"
    );
    let refused = preflight("https://evil.example").await.unwrap();
    assert!(
        refused
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    app.cleanup().await;
}

#[tokio::test]
async fn unknown_fields_are_refused_where_they_could_hide_mistakes() {
    let app = TestApp::spawn().await;
    let mut body = batch_body(2);
    body["links"][1]["langauge"] = json!("sv");
    body["priority"] = json!("high");
    let resp = app.post_json("/api/v1/batches", &body).await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let err: Value = resp.json().await.unwrap();
    let fields: Vec<&str> = err["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"links[1].langauge"), "{fields:?}");
    assert!(fields.contains(&"priority"), "{fields:?}");
    let resp = app
        .post_json(
            "/api/v1/webhooks",
            &json!({"url": "https://h.example/x", "secret": "mine"}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    app.cleanup().await;
}

#[test]
fn production_refuses_to_start_with_the_development_secret() {
    assert_eq!(base_settings().auth.jwt_secret, DEV_JWT_SECRET);
    let figment = Settings::figment(None).merge(("telemetry.environment", "production"));
    let Err(err) = Settings::from_figment(figment) else {
        panic!("production started with the development secret");
    };
    let err = err.to_string();
    assert!(err.contains("auth.jwt_secret"), "{err}");
    let figment = Settings::figment(None)
        .merge(("telemetry.environment", "production"))
        .merge(("auth.jwt_secret", "x".repeat(48)));
    assert!(Settings::from_figment(figment).is_ok());
    let short = Settings::figment(None).merge(("auth.jwt_secret", "too-short"));
    assert!(Settings::from_figment(short).is_err());
}

/// Runs the real `bacowr-api` binary at debug level, drives every secret-bearing route, and
/// scans everything it logged.
#[tokio::test]
async fn no_secret_reaches_the_logs() {
    let db = TestDatabase::create().await;
    let redis = TestRedis::create().await;
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_bacowr-api"))
        .arg("serve")
        .env("BACOWR_DATABASE__URL", &db.url)
        .env("BACOWR_DATABASE__AUTO_MIGRATE", "true")
        .env("BACOWR_REDIS__URL", &redis.url)
        .env("BACOWR_REDIS__NAMESPACE", &redis.namespace)
        .env("BACOWR_API__LISTEN", format!("127.0.0.1:{port}"))
        .env("BACOWR_WEBHOOKS__ALLOW_HOSTS", "[\"127.0.0.0/8\"]")
        .env("BACOWR_TELEMETRY__LOG_FORMAT", "json")
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    for stream in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
    }
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    eventually("the API answers", Duration::from_secs(60), || async {
        client
            .get(format!("{base}/health"))
            .send()
            .await
            .ok()
            .filter(|r| r.status().is_success())
    })
    .await;
    let post = |path: &str, token: Option<&str>, body: Value| {
        let mut req = client.post(format!("{base}{path}")).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send()
    };
    let reg: Value = post(
        "/api/v1/auth/register",
        None,
        json!({"organization": "Log Test", "email": "logs@agency.example", "password": PASSWORD}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let access = reg["access_token"].as_str().unwrap().to_owned();
    let refresh = reg["refresh_token"].as_str().unwrap().to_owned();
    let rotated: Value = post(
        "/api/v1/auth/refresh",
        None,
        json!({"refresh_token": refresh}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    post(
        "/api/v1/auth/refresh",
        None,
        json!({"refresh_token": refresh}),
    )
    .await
    .unwrap();
    post(
        "/api/v1/auth/login",
        None,
        json!({"email": "logs@agency.example", "password": "wrong-password-123"}),
    )
    .await
    .unwrap();
    let fresh: Value = post(
        "/api/v1/auth/login",
        None,
        json!({"email": "logs@agency.example", "password": PASSWORD}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let token = fresh["access_token"].as_str().unwrap().to_owned();
    let key: Value = post(
        "/api/v1/api-keys",
        Some(&token),
        json!({"name": "k", "scopes": ["admin"]}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let api_key = key["api_key"].as_str().unwrap().to_owned();
    let hook: Value = post(
        "/api/v1/webhooks",
        Some(&api_key),
        json!({"url": "http://127.0.0.1:9/h"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let secret = hook["secret"].as_str().unwrap().to_owned();
    client
        .get(format!("{base}/api/v1/me"))
        .bearer_auth("bcw_0000notakey")
        .send()
        .await
        .unwrap();
    let _ = call; // the in-process helpers are not used: this test needs the real binary.
    child.kill().unwrap();
    child.wait().unwrap();
    let logs: Vec<String> = rx.try_iter().collect();
    assert!(logs.len() > 10, "captured {} log lines", logs.len());
    let all = logs.join("\n");
    assert!(all.contains("request_id"), "JSON logs with request ids");
    for (what, value) in [
        ("password", PASSWORD.to_owned()),
        ("wrong password", "wrong-password-123".to_owned()),
        ("access token", access),
        ("refresh token", refresh),
        (
            "rotated refresh token",
            rotated["refresh_token"].as_str().unwrap().to_owned(),
        ),
        ("api key", api_key),
        ("webhook secret", secret),
        ("jwt secret", DEV_JWT_SECRET.to_owned()),
        ("bad key", "bcw_0000notakey".to_owned()),
    ] {
        assert!(!all.contains(&value), "the {what} is in the logs");
    }
    db.drop_database().await;
    redis.clean().await;
}

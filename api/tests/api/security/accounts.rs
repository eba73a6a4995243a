//! Sign-up, sign-in, sessions and tokens: rotation, reuse detection, logout, and every way
//! an access token can be bad.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{PASSWORD, access_token, add_user, call, login, register, security_events};
use crate::helpers::{TestApp, assert_error};

async fn me(app: &TestApp, token: &str) -> reqwest::Response {
    call(app, Method::GET, "/api/v1/me", Some(token), None).await
}

async fn refresh(app: &TestApp, token: &str) -> reqwest::Response {
    call(
        app,
        Method::POST,
        "/api/v1/auth/refresh",
        None,
        Some(&json!({"refresh_token": token})),
    )
    .await
}

#[tokio::test]
async fn a_session_refreshes_by_rotation_and_a_reused_refresh_token_ends_it() {
    let app = TestApp::spawn().await;
    let owner = register(&app, "owner@agency.example").await;
    let who: Value = me(&app, &owner.access).await.json().await.unwrap();
    assert_eq!(who["kind"], "user");
    assert_eq!(who["role"], "owner");
    assert_eq!(who["organization_id"], owner.org_id.as_str());
    assert_eq!(who["scopes"].as_array().unwrap().len(), 4);

    // Rotation: each refresh answers a new pair; the new access token works.
    let first = refresh(&app, &owner.refresh).await;
    assert_eq!(first.status(), StatusCode::OK);
    let first: Value = first.json().await.unwrap();
    let second_refresh = first["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second_refresh, owner.refresh);
    let access2 = first["access_token"].as_str().unwrap().to_owned();
    assert_eq!(me(&app, &access2).await.status(), StatusCode::OK);

    // Reuse of the first refresh token: refused, and the whole session is over.
    let reused = refresh(&app, &owner.refresh).await;
    assert_error(
        reused,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        Some("refresh_token"),
    )
    .await;
    assert_eq!(me(&app, &access2).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        me(&app, &owner.access).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        refresh(&app, &second_refresh).await.status(),
        StatusCode::UNAUTHORIZED,
        "the rotated token of a revoked session is dead too"
    );

    // A new login works, and the audit log has the reuse.
    let fresh = access_token(&app, "owner@agency.example").await;
    let events = security_events(&app, &fresh, "refresh.reused").await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["actor"], owner.user_id.as_str());

    // Logout ends the session at once.
    let resp = call(
        &app,
        Method::POST,
        "/api/v1/auth/logout",
        Some(&fresh),
        None,
    )
    .await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(me(&app, &fresh).await.status(), StatusCode::UNAUTHORIZED);
    app.cleanup().await;
}

fn forge(claims: &Value, alg: Algorithm, secret: &[u8]) -> String {
    jsonwebtoken::encode(
        &Header::new(alg),
        claims,
        &EncodingKey::from_secret(secret).unwrap(),
    )
    .unwrap()
}

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

#[tokio::test]
async fn tampered_expired_foreign_and_wrong_algorithm_tokens_are_refused() {
    let app = TestApp::spawn().await;
    let owner = register(&app, "jwt@agency.example").await;
    let secret = app.settings.auth.jwt_secret.as_bytes().to_vec();
    let claims = claims_of(&owner.access);
    assert_eq!(
        me(&app, &forge(&claims, Algorithm::HS256, &secret))
            .await
            .status(),
        StatusCode::OK
    );

    // Another organization in the payload, signature left as it was.
    let mut parts: Vec<String> = owner.access.split('.').map(str::to_owned).collect();
    let mut evil = claims.clone();
    evil["org"] = json!("org_0000000000000000000000000000beef");
    parts[1] = URL_SAFE_NO_PAD.encode(evil.to_string());
    let tampered = parts.join(".");

    let mut expired = claims.clone();
    expired["exp"] = json!(chrono::Utc::now().timestamp() - 60);
    expired["iat"] = json!(chrono::Utc::now().timestamp() - 1000);
    let mut foreign_issuer = claims.clone();
    foreign_issuer["iss"] = json!("someone-else");
    let none_alg = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let bad = [
        ("tampered payload", tampered),
        ("expired", forge(&expired, Algorithm::HS256, &secret)),
        ("HS512", forge(&claims, Algorithm::HS512, &secret)),
        ("HS384", forge(&claims, Algorithm::HS384, &secret)),
        ("alg none", none_alg),
        (
            "other key",
            forge(
                &claims,
                Algorithm::HS256,
                b"some-other-secret-of-at-least-32-bytes!",
            ),
        ),
        (
            "other issuer",
            forge(&foreign_issuer, Algorithm::HS256, &secret),
        ),
        ("garbage", "eyJhbGciOi.not.atoken".to_owned()),
    ];
    for (what, token) in bad {
        let resp = me(&app, &token).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{what}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error_code"], "unauthorized", "{what}");
    }
    let failed = security_events(&app, &owner.access, "auth.failed").await;
    assert!(
        failed.is_empty(),
        "no organization is known for a refused token: {failed:?}"
    );
    app.cleanup().await;
}

#[tokio::test]
async fn disabling_a_user_or_changing_their_role_ends_their_sessions_at_once() {
    let app = TestApp::spawn().await;
    let owner = register(&app, "boss@agency.example").await;
    let member_id = add_user(&app, &owner.access, "writer@agency.example", "member").await;
    let member = access_token(&app, "writer@agency.example").await;
    assert_eq!(me(&app, &member).await.status(), StatusCode::OK);

    let patch = |body: Value| {
        let app = &app;
        let owner = owner.access.clone();
        let path = format!("/api/v1/users/{member_id}");
        async move { call(app, Method::PATCH, &path, Some(&owner), Some(&body)).await }
    };
    let resp = patch(json!({"role": "admin"})).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(me(&app, &member).await.status(), StatusCode::UNAUTHORIZED);

    let admin = access_token(&app, "writer@agency.example").await;
    let who: Value = me(&app, &admin).await.json().await.unwrap();
    assert_eq!(who["role"], "admin");
    let (_, admin_key) = super::add_key(&app, &admin, &["admin"]).await;
    let (_, read_key) = super::add_key(&app, &admin, &["batches:read"]).await;
    // An admin can't touch the owner role, and the last owner can't step down.
    let resp = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/users/{}", owner.user_id),
        Some(&admin),
        Some(&json!({"active": false})),
    )
    .await;
    assert_error(resp, StatusCode::FORBIDDEN, "forbidden", Some("role")).await;
    let resp = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/users/{}", owner.user_id),
        Some(&owner.access),
        Some(&json!({"role": "member"})),
    )
    .await;
    assert_error(resp, StatusCode::CONFLICT, "conflict", Some("role")).await;

    // Back to member: the admin key they made goes, the read key stays.
    assert_eq!(
        patch(json!({"role": "member"})).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        me(&app, &admin_key).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(me(&app, &read_key).await.status(), StatusCode::OK);
    let admin = access_token(&app, "writer@agency.example").await;

    let resp = patch(json!({"active": false})).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(me(&app, &admin).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        me(&app, &read_key).await.status(),
        StatusCode::UNAUTHORIZED,
        "keys go with the account"
    );
    assert_eq!(
        login(&app, "writer@agency.example", PASSWORD)
            .await
            .status(),
        StatusCode::UNAUTHORIZED,
        "a disabled account can't sign in"
    );
    app.cleanup().await;
}

#[tokio::test]
async fn failed_logins_answer_alike_and_are_security_events() {
    let app = TestApp::spawn().await;
    let owner = register(&app, "ana@agency.example").await;
    let wrong = login(&app, "ana@agency.example", "not the password at all").await;
    let wrong = assert_error(
        wrong,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        Some("password"),
    )
    .await;
    let unknown = login(&app, "nobody@agency.example", "not the password at all").await;
    let unknown = assert_error(
        unknown,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        Some("password"),
    )
    .await;
    assert_eq!(wrong["detail"], unknown["detail"], "no account enumeration");

    let events = security_events(&app, &owner.access, "login.failed").await;
    assert_eq!(
        events.len(),
        1,
        "the known account's failure is in its org's log"
    );
    assert_eq!(events[0]["actor"], owner.user_id.as_str());
    assert_eq!(events[0]["status"], 401);
    let body = events[0]["body"].to_string();
    assert!(
        !body.contains("not the password"),
        "password redacted: {body}"
    );
    assert!(body.contains("[REDACTED]"));
    app.cleanup().await;
}

#[tokio::test]
async fn registration_checks_its_input_and_can_be_disabled() {
    let app = TestApp::spawn().await;
    let post = |body: Value| {
        let app = &app;
        async move {
            call(
                app,
                Method::POST,
                "/api/v1/auth/register",
                None,
                Some(&body),
            )
            .await
        }
    };
    let base = json!({"organization": "Acme", "email": "a@acme.example", "password": PASSWORD});
    let mut short = base.clone();
    short["password"] = json!("short");
    assert_error(
        post(short).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
        Some("password"),
    )
    .await;
    let mut bad_email = base.clone();
    bad_email["email"] = json!("not-an-email");
    assert_error(
        post(bad_email).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
        Some("email"),
    )
    .await;
    let mut extra = base.clone();
    extra["role"] = json!("owner");
    let resp = post(extra).await;
    assert_eq!(
        resp.status(),
        StatusCode::BAD_REQUEST,
        "unknown fields are refused"
    );
    let body: Value = resp.json().await.unwrap();
    assert!(body["detail"].as_str().unwrap().contains("role"), "{body}");
    assert_eq!(post(base.clone()).await.status(), StatusCode::CREATED);
    assert_error(
        post(base).await,
        StatusCode::CONFLICT,
        "conflict",
        Some("email"),
    )
    .await;
    app.cleanup().await;

    let closed = TestApp::spawn_with(|s| s.auth.registration_enabled = false).await;
    let resp = call(
        &closed,
        Method::POST,
        "/api/v1/auth/register",
        None,
        Some(&json!({"organization": "Acme", "email": "b@acme.example", "password": PASSWORD})),
    )
    .await;
    assert_error(resp, StatusCode::FORBIDDEN, "forbidden", None).await;
    closed.cleanup().await;
}

//! The defects an outside probe found (fuzzer and hand), each pinned: control characters,
//! anonymous floods of the audit log, method labels, updates racing deletes, arrays for
//! objects, duplicate keys, invisible anchors, key scope ceilings, CSV line numbers, forged
//! tokens, duplicate rows.

use reqwest::{Method, StatusCode};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use bacowr_shared::entities::audit_log;

use crate::helpers::{TestApp, assert_error, batch_body, error_fields, link};

async fn send(app: &TestApp, method: Method, path: &str, body: &Value) -> reqwest::Response {
    app.client
        .request(method, app.url(path))
        .bearer_auth(&app.api_key)
        .json(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn nul_and_other_control_characters_are_a_422_naming_the_field_and_stay_on_record() {
    let app = TestApp::spawn().await;
    let nul = "bad\u{0}name";
    let mut batch = batch_body(2);
    batch["name"] = json!(nul);
    batch["links"][1]["target_url"] = json!("https://client.se/\u{0}");
    let webhook = json!({"url": "https://hooks.example.com/h", "description": nul});
    let cases: [(&str, Method, Value, &[&str]); 6] = [
        (
            "/api/v1/batches",
            Method::POST,
            batch,
            &["name", "links[1].target_url"],
        ),
        ("/api/v1/webhooks", Method::POST, webhook, &["description"]),
        (
            "/api/v1/api-keys",
            Method::POST,
            json!({"name": nul, "scopes": ["batches:read"]}),
            &["name"],
        ),
        (
            "/api/v1/users",
            Method::POST,
            json!({"email": "a@b.se", "password": "long enough pass", "role": "member", "name": nul}),
            &["name"],
        ),
        (
            "/api/v1/org",
            Method::PATCH,
            json!({"name": "\u{7}bell"}),
            &["name"],
        ),
        (
            "/api/v1/auth/register",
            Method::POST,
            json!({"organization": nul, "email": "n@b.se", "password": "long enough pass"}),
            &["organization"],
        ),
    ];
    for (path, method, body, fields) in cases {
        let resp = send(&app, method, path, &body).await;
        let err = assert_error(
            resp,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            None,
        )
        .await;
        let mut got = error_fields(&err);
        got.sort_unstable();
        let mut want = fields.to_vec();
        want.sort_unstable();
        assert_eq!(got, want, "{path}: {err}");
    }
    // Text that is merely unusual passes: tabs and line breaks in a name.
    let mut ok = batch_body(1);
    ok["name"] = json!("Acme\tNovember\n");
    assert_eq!(
        app.post_json("/api/v1/batches", &ok).await.status(),
        StatusCode::ACCEPTED
    );
    // The refused requests are on record all the same.
    let rows = audit_log::Entity::find()
        .filter(audit_log::Column::Path.eq("/api/v1/batches"))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(rows, 2, "both batch submissions are in the audit log");
    app.cleanup().await;
}

#[tokio::test]
async fn anonymous_requests_to_no_route_are_limited_and_kept_without_bodies() {
    let app = TestApp::spawn_with(|s| s.rate_limit.unauthenticated_per_minute = 20).await;
    let mut statuses = Vec::new();
    for i in 0..60 {
        let resp = app
            .client
            .post(app.url(&format!("/wp-admin/probe-{i}")))
            .json(&json!({"payload": "x".repeat(4000)}))
            .send()
            .await
            .unwrap();
        statuses.push(resp.status().as_u16());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 404).count(),
        20,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        40,
        "{statuses:?}"
    );
    let rows = audit_log::Entity::find()
        .filter(audit_log::Column::Path.starts_with("/wp-admin/"))
        .all(&app.db)
        .await
        .unwrap();
    assert!(rows.len() <= 21, "bounded: {} rows", rows.len());
    assert!(
        rows.iter()
            .all(|r| r.body.is_none() && r.kind == "security")
    );
    app.cleanup().await;
}

#[tokio::test]
async fn made_up_methods_share_one_metrics_label() {
    let app = TestApp::spawn().await;
    for m in ["FOOBAR", "BREW", "PROPFIND"] {
        app.client
            .request(
                Method::from_bytes(m.as_bytes()).unwrap(),
                app.url("/health"),
            )
            .send()
            .await
            .unwrap();
    }
    let body = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(body.contains("method=\"other\""), "{body}");
    assert!(!body.contains("FOOBAR") && !body.contains("BREW"), "{body}");
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_webhook_deleted_while_being_updated_is_a_404_not_a_500() {
    let app = TestApp::spawn_with(|s| s.webhooks.max_endpoints_per_org = 100).await;
    let mut fives = Vec::new();
    for _ in 0..20 {
        let created: Value = app
            .post_json(
                "/api/v1/webhooks",
                &json!({"url": "https://hooks.example.com/h"}),
            )
            .await
            .json()
            .await
            .unwrap();
        let path = format!("/api/v1/webhooks/{}", created["id"].as_str().unwrap());
        let (rename, empty) = (json!({"description": "renamed"}), json!({}));
        let (patch, delete) = tokio::join!(
            send(&app, Method::PATCH, &path, &rename),
            send(&app, Method::DELETE, &path, &empty),
        );
        for s in [patch.status(), delete.status()] {
            assert!(
                [200, 204, 404].contains(&s.as_u16()),
                "an update racing a delete: {s}"
            );
            if s.is_server_error() {
                fives.push(s);
            }
        }
    }
    assert!(fives.is_empty());
    app.cleanup().await;
}

#[tokio::test]
async fn bodies_are_objects_with_each_key_once() {
    let app = TestApp::spawn().await;
    let before = app.get_json("/api/v1/org").await;
    let resp = send(&app, Method::PATCH, "/api/v1/org", &json!(["name", 7])).await;
    assert_error(resp, StatusCode::BAD_REQUEST, "bad_request", Some("body")).await;
    assert_eq!(app.get_json("/api/v1/org").await["name"], before["name"]);

    let twice = format!(
        r#"{{"links": [{}], "links": [{}, {}]}}"#,
        link(0),
        link(1),
        link(2)
    );
    let resp = app
        .post_raw("/api/v1/batches", "application/json", twice)
        .await;
    let err = assert_error(resp, StatusCode::BAD_REQUEST, "bad_request", Some("links")).await;
    assert!(err["detail"].as_str().unwrap().contains("twice"), "{err}");
    app.cleanup().await;
}

#[tokio::test]
async fn an_anchor_nobody_can_see_is_refused() {
    let app = TestApp::spawn().await;
    let mut body = batch_body(1);
    body["links"][0]["anchor_text"] = json!("\u{200B}\u{200D}\u{FEFF}");
    let resp = app.post_json("/api/v1/batches", &body).await;
    let err = assert_error(
        resp,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        None,
    )
    .await;
    assert_eq!(error_fields(&err), ["links[0].anchor_text"]);
    app.cleanup().await;
}

#[tokio::test]
async fn a_key_cannot_make_a_user_more_powerful_than_itself() {
    let app = TestApp::spawn().await;
    let created: Value = app
        .post_json(
            "/api/v1/api-keys",
            &json!({"name": "user admin", "scopes": ["admin"]}),
        )
        .await
        .json()
        .await
        .unwrap();
    let key = created["api_key"].as_str().unwrap().to_owned();
    let user = |role: &str| json!({"email": format!("{role}@b.se"), "password": "long enough pass", "role": role});
    let post = |body: Value| {
        let (client, url, key) = (app.client.clone(), app.url("/api/v1/users"), key.clone());
        async move {
            client
                .post(url)
                .bearer_auth(key)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let resp = post(user("admin")).await;
    assert_error(resp, StatusCode::FORBIDDEN, "forbidden", Some("role")).await;
    let resp = post(user("member")).await;
    assert_eq!(
        resp.status(),
        StatusCode::FORBIDDEN,
        "a member writes batches, which this key can't"
    );
    app.cleanup().await;
}

#[tokio::test]
async fn csv_errors_point_at_the_line_a_spreadsheet_shows() {
    let app = TestApp::spawn().await;
    let good = |i: usize| format!("news{i}.com,https://client.com/p{i},anchor {i},en");
    // CRLF, a blank line, then the bad row on line 5 of the sheet.
    let csv = format!(
        "publisher,target,anchor,language\r\n{}\r\n{}\r\n\r\nnews.com,not a url,anchor,en\r\n",
        good(1),
        good(2)
    );
    let resp = app.post_csv(&csv).await;
    let err = assert_error(
        resp,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        None,
    )
    .await;
    assert_eq!(err["errors"][0]["line"], 5, "{err}");
    assert_eq!(err["errors"][0]["row"], 2, "{err}");
    // LF, first data row bad: line 2.
    let resp = app
        .post_csv("publisher,target,anchor\nnews.com,nope,anchor\n")
        .await;
    let err: Value = resp.json().await.unwrap();
    assert_eq!(err["errors"][0]["line"], 2, "{err}");
    app.cleanup().await;
}

#[tokio::test]
async fn repeated_rows_are_accepted_and_named() {
    let app = TestApp::spawn().await;
    let mut body = batch_body(4);
    body["links"][3] = body["links"][1].clone();
    let resp = app.post_json("/api/v1/batches", &body).await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let batch: Value = resp.json().await.unwrap();
    assert_eq!(batch["duplicates"], json!([[1, 3]]), "{batch}");
    assert_eq!(batch["total_jobs"], 4);
    let once = app.submit_batch(3).await;
    assert!(once.get("duplicates").is_none(), "{once}");
    app.cleanup().await;
}

#[test]
fn the_api_binary_answers_help_and_version() {
    for (flag, expect) in [
        ("--help", "usage: bacowr-api"),
        ("--version", "bacowr-api "),
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_bacowr-api"))
            .arg(flag)
            .output()
            .unwrap();
        assert!(out.status.success(), "{flag}");
        assert!(
            String::from_utf8_lossy(&out.stdout).starts_with(expect),
            "{flag}"
        );
    }
}

//! The authorization matrix, exhaustively: every route of the OpenAPI document is in
//! `access::MATRIX` (and vice versa), and every route answers every kind of caller as the
//! matrix says: owner, admin and member sessions, a key per scope, and no credential.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use bacowr_api::access::{Access, MATRIX, markdown_table, role_may};
use bacowr_shared::domain::{Role, Scope};

use super::{access_token, add_key, add_user, call, register};
use crate::helpers::TestApp;

#[test]
fn the_matrix_covers_exactly_the_documented_routes_and_the_readme_shows_it() {
    let doc: Value = serde_json::from_str(&bacowr_api::openapi::document()).unwrap();
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.insert((method.to_uppercase(), path.clone()));
        }
    }
    let matrix: BTreeSet<(String, String)> = MATRIX
        .iter()
        .map(|r| (r.method.to_owned(), r.path.to_owned()))
        .collect();
    assert_eq!(matrix.len(), MATRIX.len(), "a route is listed twice");
    assert_eq!(documented, matrix, "OpenAPI routes vs the access matrix");
    // The document says what each operation needs.
    for r in MATRIX {
        let op = &doc["paths"][r.path][r.method.to_lowercase()];
        let security = op["security"].as_array().unwrap();
        match r.access {
            Access::Public => assert_eq!(security, &vec![json!({})], "{} {}", r.method, r.path),
            Access::Authenticated => assert_eq!(security.len(), 2),
            Access::Scope(s) => {
                assert_eq!(security[0]["api_key"], json!([s.as_str()]));
                assert_eq!(security[1]["jwt"], json!([s.as_str()]));
            }
        }
    }
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    assert!(
        readme.contains(&markdown_table()),
        "README's access matrix is stale; paste bacowr_api::access::markdown_table():\n{}",
        markdown_table()
    );
}

/// A syntactically valid id for each path parameter: resources don't exist (404 is fine),
/// only 401/403 decide.
fn concrete(path: &str) -> String {
    let zero = "0".repeat(32);
    path.replace("{batch_id}", &format!("batch_{zero}"))
        .replace("{item_id}", &format!("item_{zero}"))
        .replace("{version}", "1")
        .replace("{id}", &format!("batch_{zero}"))
        .replace("/ws/jobs/batch_", "/ws/jobs/job_")
        .replace("{job_id}", &format!("job_{zero}"))
        .replace("{webhook_id}", &format!("wh_{zero}"))
        .replace("{msg_id}", &format!("msg_{zero}"))
        .replace("{key_id}", &format!("key_{zero}"))
        .replace("{user_id}", &format!("user_{zero}"))
}

struct Who {
    name: String,
    token: Option<String>,
    allowed: Box<dyn Fn(Access) -> bool>,
}

#[tokio::test]
async fn every_route_answers_every_kind_of_caller_as_the_matrix_says() {
    let app = TestApp::spawn().await;
    let owner = register(&app, "owner@matrix.example").await;
    add_user(&app, &owner.access, "admin@matrix.example", "admin").await;
    add_user(&app, &owner.access, "member@matrix.example", "member").await;
    let mut callers = vec![Who {
        name: "anonymous".into(),
        token: None,
        allowed: Box::new(|a| a == Access::Public),
    }];
    for (role, email) in [
        (Role::Owner, "owner@matrix.example"),
        (Role::Admin, "admin@matrix.example"),
        (Role::Member, "member@matrix.example"),
    ] {
        callers.push(Who {
            name: format!("{role} session"),
            token: Some(access_token(&app, email).await),
            allowed: Box::new(move |a| role_may(role, a)),
        });
    }
    for scope in Scope::ALL {
        let (_, key) = add_key(&app, &owner.access, &[scope.as_str()]).await;
        callers.push(Who {
            name: format!("key with {scope}"),
            token: Some(key),
            allowed: Box::new(move |a| match a {
                Access::Public | Access::Authenticated => true,
                Access::Scope(s) => s == scope,
            }),
        });
    }
    // Logging out ends a session: those routes go last.
    let mut routes: Vec<_> = MATRIX.iter().collect();
    routes.sort_by_key(|r| r.path == "/api/v1/auth/logout");
    let mut checked = 0;
    for r in routes {
        for who in &callers {
            let method = Method::from_bytes(r.method.as_bytes()).unwrap();
            let body = (r.method != "GET" && r.method != "DELETE").then(|| json!({}));
            let resp = call(
                &app,
                method,
                &concrete(r.path),
                who.token.as_deref(),
                body.as_ref(),
            )
            .await;
            let status = resp.status();
            let refused = status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN;
            let expected = (who.allowed)(r.access);
            assert_eq!(
                !refused, expected,
                "{} {} as {}: got {status}",
                r.method, r.path, who.name
            );
            if !expected {
                let wanted = if who.token.is_none() {
                    StatusCode::UNAUTHORIZED
                } else {
                    StatusCode::FORBIDDEN
                };
                assert_eq!(status, wanted, "{} {} as {}", r.method, r.path, who.name);
            }
            checked += 1;
        }
    }
    assert_eq!(checked, MATRIX.len() * callers.len());
    app.cleanup().await;
}

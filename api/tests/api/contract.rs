//! The OpenAPI document as a contract (#20): what generators need of it (unique snake_case
//! operation ids, a tag, a one-line summary and a described answer everywhere, the error
//! statuses the server can send), and that the server answers as it says: every declared
//! operation is routed, every other method of a declared path is a 405 naming the declared
//! ones in `Allow`, and an unknown path is still a 404.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::{Method, StatusCode};
use serde_json::Value;

use bacowr_api::access::{Access, MATRIX};

use crate::helpers::TestApp;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

fn document() -> Value {
    serde_json::from_str(&bacowr_api::openapi::document()).expect("the document is JSON")
}

/// Every operation: (method in upper case, path, operation).
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("a path item") {
            assert!(
                METHODS.contains(&method.as_str()),
                "{method} {path}: only GET, POST, PUT, PATCH and DELETE are routed"
            );
            out.push((method.to_uppercase(), path.clone(), op.clone()));
        }
    }
    out
}

fn statuses(op: &Value) -> BTreeSet<String> {
    op["responses"]
        .as_object()
        .expect("responses")
        .keys()
        .cloned()
        .collect()
}

fn access(method: &str, path: &str) -> Access {
    MATRIX
        .iter()
        .find(|r| r.method == method && r.path == path)
        .unwrap_or_else(|| panic!("{method} {path} is not in the access matrix"))
        .access
}

fn is_snake_case(s: &str) -> bool {
    !s.is_empty()
        && s.split('_').all(|w| {
            !w.is_empty()
                && w.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
        && s.starts_with(|c: char| c.is_ascii_lowercase())
}

#[test]
fn operation_ids_are_unique_snake_case_method_names() {
    let doc = document();
    let mut seen = BTreeMap::new();
    for (method, path, op) in operations(&doc) {
        let id = op["operationId"]
            .as_str()
            .unwrap_or_else(|| panic!("{method} {path} has no operationId"));
        assert!(
            is_snake_case(id),
            "{method} {path}: {id:?} is not snake_case"
        );
        assert!(
            id.contains('_') || ["register", "login", "logout"].contains(&id),
            "{method} {path}: {id:?} should say what it acts on (verb_noun)"
        );
        if let Some(other) = seen.insert(id.to_owned(), format!("{method} {path}")) {
            panic!("operationId {id:?} is used by {other} and {method} {path}");
        }
    }
    assert_eq!(
        seen.len(),
        MATRIX.len(),
        "every route of the matrix has an operation"
    );
}

#[test]
fn every_operation_has_a_tag_and_a_one_line_summary() {
    let doc = document();
    let tags: BTreeSet<&str> = doc["tags"]
        .as_array()
        .expect("tags")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    for (method, path, op) in operations(&doc) {
        let tag = op["tags"][0]
            .as_str()
            .unwrap_or_else(|| panic!("{method} {path} has no tag"));
        assert!(
            tags.contains(tag),
            "{method} {path}: tag {tag:?} is not declared"
        );
        let summary = op["summary"]
            .as_str()
            .unwrap_or_else(|| panic!("{method} {path} has no summary"));
        assert!(
            !summary.is_empty() && !summary.contains('\n') && summary.chars().count() <= 100,
            "{method} {path}: the summary should be one short line: {summary:?}"
        );
    }
}

#[test]
fn every_response_has_a_description() {
    let doc = document();
    let mut missing = Vec::new();
    for (method, path, op) in operations(&doc) {
        for (status, response) in op["responses"].as_object().expect("responses") {
            if response["description"]
                .as_str()
                .is_none_or(|d| d.trim().is_empty())
            {
                missing.push(format!("{method} {path} {status}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "responses without a description: {missing:#?}"
    );
}

#[test]
fn error_answers_are_documented_with_the_error_body() {
    let doc = document();
    for (method, path, op) in operations(&doc) {
        let have = statuses(&op);
        let mut need: Vec<&str> = Vec::new();
        match access(&method, &path) {
            Access::Public => {}
            Access::Authenticated => need.extend(["401", "429", "503"]),
            Access::Scope(_) => need.extend(["401", "403", "429", "503"]),
        }
        if op["requestBody"]["content"]["application/json"].is_object() {
            need.extend(["400", "413", "415", "422"]);
        }
        if op["parameters"]
            .as_array()
            .is_some_and(|ps| ps.iter().any(|p| p["in"] == "path"))
        {
            need.extend(["400", "404"]);
        }
        for status in need {
            assert!(
                have.contains(status),
                "{method} {path} doesn't document {status}"
            );
        }
        for (status, response) in op["responses"].as_object().expect("responses") {
            if status.starts_with(['4', '5']) {
                assert_eq!(
                    response["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/ErrorBody",
                    "{method} {path} {status} is not an ErrorBody"
                );
            }
            if status == "429" || status == "503" {
                assert!(
                    response["headers"]["Retry-After"].is_object(),
                    "{method} {path} {status} doesn't document Retry-After"
                );
            }
        }
    }
}

#[test]
fn live_routes_are_an_event_stream_and_websocket_upgrades() {
    let doc = document();
    let sse = &doc["paths"]["/api/v1/batches/{id}/events"]["get"]["responses"]["200"];
    let content = sse["content"].as_object().expect("content");
    assert_eq!(content.keys().collect::<Vec<_>>(), ["text/event-stream"]);
    let description = sse["description"].as_str().unwrap();
    for kind in doc["components"]["schemas"]["EventKind"]["enum"]
        .as_array()
        .unwrap()
    {
        let kind = kind.as_str().unwrap();
        assert!(
            description.contains(kind),
            "the SSE answer doesn't name {kind}"
        );
    }
    for path in ["/api/v1/ws/batches/{id}", "/api/v1/ws/jobs/{id}"] {
        let responses = &doc["paths"][path]["get"]["responses"];
        assert!(responses["101"].is_object(), "{path} is not a 101 upgrade");
        assert!(
            responses["101"]["content"].is_null(),
            "{path}: a 101 has no body"
        );
        assert!(responses["200"].is_null(), "{path} answers 101, not 200");
    }
}

#[test]
fn closed_sets_are_enums_that_match_the_code() {
    let doc = document();
    let schemas = &doc["components"]["schemas"];
    let profiles: BTreeSet<&str> = bacowr_shared::qc::profile_names().into_iter().collect();
    let documented: BTreeSet<&str> = schemas["QcInput"]["properties"]["profile"]["enum"]
        .as_array()
        .expect("qc.profile is an enum")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(documented, profiles, "qc.profile");
    for (name, prefix) in [
        ("BatchId", "batch"),
        ("JobId", "job"),
        ("ReviewItemId", "item"),
        ("WebhookEndpointId", "wh"),
    ] {
        assert_eq!(
            schemas[name]["pattern"],
            format!("^{prefix}_[0-9a-f]{{32}}$"),
            "{name}"
        );
    }
    let item_ids = &schemas["BulkReviewBody"]["properties"]["item_ids"];
    assert_eq!(item_ids["minItems"], 1);
    assert_eq!(item_ids["maxItems"], 1000);
    let limit = doc["paths"]["/api/v1/batches"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "limit")
        .expect("limit")
        .clone();
    assert_eq!(limit["schema"]["minimum"], 1);
    assert_eq!(
        limit["schema"]["maximum"],
        bacowr_api::routes::params::MAX_LIMIT
    );
}

/// A concrete path for a template: every `{parameter}` filled in.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|s| if s.starts_with('{') { "x1" } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

fn method(name: &str) -> Method {
    Method::from_bytes(name.as_bytes()).unwrap()
}

#[tokio::test]
async fn every_declared_method_is_routed_and_every_other_is_405_with_allow() {
    let app = TestApp::spawn().await;
    let doc = document();
    let mut declared: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (m, path, _) in operations(&doc) {
        declared.entry(path).or_default().insert(m);
    }
    for (path, methods) in &declared {
        let url = app.url(&concrete(path));
        for m in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
            let resp = app.client.request(method(m), &url).send().await.unwrap();
            let status = resp.status();
            if methods.contains(m) {
                assert!(
                    status != StatusCode::METHOD_NOT_ALLOWED && status != StatusCode::NOT_FOUND
                        || path.contains('{') && status == StatusCode::NOT_FOUND,
                    "{m} {path} is declared but answered {status}"
                );
                if status == StatusCode::NOT_FOUND {
                    let body: Value = resp.json().await.unwrap();
                    assert_ne!(body["detail"], "no such route", "{m} {path} is not routed");
                }
                continue;
            }
            assert_eq!(
                status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{m} {path} is not declared"
            );
            let allow = resp.headers()["allow"].to_str().unwrap().to_owned();
            let listed: BTreeSet<String> = allow.split(", ").map(str::to_owned).collect();
            assert_eq!(&listed, methods, "Allow of {path}");
            let body: Value = resp.json().await.unwrap();
            assert_eq!(body["error_code"], "method_not_allowed", "{m} {path}");
        }
    }
    app.cleanup().await;
}

#[tokio::test]
async fn undeclared_methods_answer_405_naming_the_allowed_ones() {
    let app = TestApp::spawn().await;
    for (m, path, token, allow) in [
        (Method::DELETE, "/api/v1/batches", None, "GET, POST"),
        (
            Method::DELETE,
            "/api/v1/batches",
            Some(app.api_key.clone()),
            "GET, POST",
        ),
        (Method::PUT, "/health", None, "GET"),
        (
            Method::PUT,
            "/api/v1/webhooks/wh_0192f0c4e5a27b6c8d9e0f1a2b3c4d5e",
            None,
            "GET, PATCH, DELETE",
        ),
    ] {
        let mut req = app.client.request(m.clone(), app.url(path));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED, "{m} {path}");
        assert_eq!(resp.headers()["allow"], allow, "{m} {path}");
        let request_id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error_code"], "method_not_allowed");
        assert_eq!(body["request_id"], request_id);
        assert!(
            body["detail"].as_str().unwrap().contains(allow),
            "{}",
            body["detail"]
        );
    }
    app.cleanup().await;
}

#[tokio::test]
async fn unknown_paths_are_still_404() {
    let app = TestApp::spawn().await;
    for (m, path) in [
        (Method::GET, "/api/v1/nope"),
        (Method::DELETE, "/api/v1/nope"),
        (Method::GET, "/api/v1/batches/"),
        (Method::GET, "/api/v1/batches/x/nope"),
        (Method::POST, "/nope"),
    ] {
        let resp = app
            .client
            .request(m.clone(), app.url(path))
            .bearer_auth(&app.api_key)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{m} {path}");
        assert!(resp.headers().get("allow").is_none(), "{m} {path}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error_code"], "not_found", "{m} {path}");
    }
    app.cleanup().await;
}

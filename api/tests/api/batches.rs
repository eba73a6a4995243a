use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_error, batch_body, error_fields, link};

#[tokio::test]
async fn submit_json_batch_answers_202_with_counts() {
    let app = TestApp::spawn().await;
    let batch = app.submit_batch(3).await;
    assert!(batch["id"].as_str().unwrap().starts_with("batch_"));
    assert_eq!(batch["status"], "queued");
    assert_eq!(batch["total_jobs"], 3);
    assert_eq!(batch["counts"]["queued"], 3);
    assert_eq!(batch["progress"], 0.0);

    let id = batch["id"].as_str().unwrap();
    let fetched = app.get_json(&format!("/api/v1/batches/{id}")).await;
    assert_eq!(fetched["id"], id);
    assert_eq!(fetched["name"], "3 links");
    app.cleanup().await;
}

#[tokio::test]
async fn submit_csv_batch_in_both_header_styles() {
    let app = TestApp::spawn().await;
    let resp = app
        .post_csv("publisher,target,anchor,language\nbloggen.se,https://client.se/a,bästa cyklarna,sv\nexample.com,https://client.se/b,great bikes,\n")
        .await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let batch: Value = resp.json().await.unwrap();
    assert_eq!(batch["total_jobs"], 2);

    let resp = app
        .post_csv("publisher_domain,target_url,anchor_text\nBLOGGEN.se,https://client.se/a,x\n")
        .await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let batch: Value = resp.json().await.unwrap();
    let jobs = app
        .get_json(&format!(
            "/api/v1/batches/{}/jobs",
            batch["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(
        jobs["items"][0]["publisher_domain"], "bloggen.se",
        "lower-cased"
    );
    app.cleanup().await;
}

#[tokio::test]
async fn invalid_links_get_one_422_naming_every_row_and_field() {
    let app = TestApp::spawn().await;
    let mut body = batch_body(5);
    body["links"][1]["target_url"] = json!("not a url");
    body["links"][3]["anchor_text"] = json!("   ");
    body["links"][3]["publisher_domain"] = json!("https://withscheme.se");
    body["links"][4]["language"] = json!("xx");
    let resp = app.post_json("/api/v1/batches", &body).await;
    let err = assert_error(
        resp,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("links[1].target_url"),
    )
    .await;
    let fields = error_fields(&err);
    assert_eq!(
        fields,
        [
            "links[1].target_url",
            "links[3].publisher_domain",
            "links[3].anchor_text",
            "links[4].language"
        ]
    );
    // All-or-nothing: nothing was written.
    let list = app.get_json("/api/v1/batches").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0);
    app.cleanup().await;
}

#[tokio::test]
async fn batch_size_limits_are_enforced() {
    let app = TestApp::spawn_with(|s| s.api.max_body_bytes = 4 * 1024 * 1024).await;
    let resp = app.post_json("/api/v1/batches", &batch_body(1001)).await;
    let err = assert_error(
        resp,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("links"),
    )
    .await;
    assert!(err["detail"].as_str().unwrap().contains("1000"), "{err}");

    let resp = app
        .post_json("/api/v1/batches", &json!({"links": []}))
        .await;
    assert_error(
        resp,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("links"),
    )
    .await;

    let resp = app.post_json("/api/v1/batches", &batch_body(1000)).await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    app.cleanup().await;
}

#[tokio::test]
async fn oversized_body_is_413() {
    let app = TestApp::spawn_with(|s| s.api.max_body_bytes = 64 * 1024).await;
    let mut body = batch_body(1);
    body["name"] = json!("x".repeat(100 * 1024));
    let resp = app.post_json("/api/v1/batches", &body).await;
    assert_error(
        resp,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        Some("body"),
    )
    .await;
    let resp = app
        .post_json(
            "/api/v1/jobs",
            &json!({"publisher_domain": "x".repeat(100 * 1024)}),
        )
        .await;
    assert_error(
        resp,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        Some("body"),
    )
    .await;
    app.cleanup().await;
}

#[tokio::test]
async fn malformed_bodies_are_400_or_415() {
    let app = TestApp::spawn().await;
    let resp = app
        .post_raw("/api/v1/batches", "application/json", "{not json")
        .await;
    assert_error(resp, StatusCode::BAD_REQUEST, "bad_request", Some("body")).await;

    let resp = app.post_csv("site,url,text\na.se,https://a.se/,x\n").await;
    let err = assert_error(resp, StatusCode::BAD_REQUEST, "bad_request", Some("header")).await;
    assert!(err["detail"].as_str().unwrap().contains("site"), "{err}");

    let resp = app
        .post_csv("publisher,target,anchor\na.se,https://a.se/\nb.se,https://b.se/,ok\n")
        .await;
    let err = assert_error(
        resp,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        Some("links[0]"),
    )
    .await;
    assert_eq!(err["errors"][0]["line"], 2);

    let resp = app
        .post_raw("/api/v1/batches", "application/xml", "<links/>")
        .await;
    assert_error(
        resp,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        Some("Content-Type"),
    )
    .await;
    app.cleanup().await;
}

#[tokio::test]
async fn idempotency_key_replays_and_conflicts() {
    let app = TestApp::spawn().await;
    let send = |body: Value| {
        app.client
            .post(app.url("/api/v1/batches"))
            .bearer_auth(&app.api_key)
            .header("Idempotency-Key", "order-2026-11")
            .json(&body)
            .send()
    };
    let first = send(batch_body(2)).await.unwrap();
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    let first: Value = first.json().await.unwrap();
    let again = send(batch_body(2)).await.unwrap();
    assert_eq!(again.status(), StatusCode::ACCEPTED);
    let again: Value = again.json().await.unwrap();
    assert_eq!(first, again, "same key, same answer");

    let other = send(batch_body(3)).await.unwrap();
    assert_error(
        other,
        StatusCode::CONFLICT,
        "idempotency_conflict",
        Some("Idempotency-Key"),
    )
    .await;
    let list = app.get_json("/api/v1/batches").await;
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        1,
        "one batch created"
    );
    app.cleanup().await;
}

#[tokio::test]
async fn list_batches_paginates_newest_first() {
    let app = TestApp::spawn().await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(app.submit_batch(1).await["id"].as_str().unwrap().to_owned());
    }
    ids.reverse();
    let page1 = app.get_json("/api/v1/batches?limit=2").await;
    let page2 = app
        .get_json(&format!(
            "/api/v1/batches?limit=2&cursor={}",
            page1["next_cursor"].as_str().unwrap()
        ))
        .await;
    let page3 = app
        .get_json(&format!(
            "/api/v1/batches?limit=2&cursor={}",
            page2["next_cursor"].as_str().unwrap()
        ))
        .await;
    let seen: Vec<String> = [&page1, &page2, &page3]
        .iter()
        .flat_map(|p| {
            p["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b["id"].as_str().unwrap().to_owned())
        })
        .collect();
    assert_eq!(seen, ids);
    assert!(page3["next_cursor"].is_null());

    let resp = app.get("/api/v1/batches?limit=0").await;
    assert_error(resp, StatusCode::BAD_REQUEST, "bad_request", Some("limit")).await;
    let resp = app.get("/api/v1/batches?cursor=job_123").await;
    assert_error(resp, StatusCode::BAD_REQUEST, "bad_request", Some("cursor")).await;
    app.cleanup().await;
}

#[tokio::test]
async fn batch_jobs_filter_and_paginate_in_submission_order() {
    let app = TestApp::spawn().await;
    let batch = app.submit_batch(7).await;
    let id = batch["id"].as_str().unwrap();
    let page1 = app
        .get_json(&format!("/api/v1/batches/{id}/jobs?limit=4"))
        .await;
    let cursor = page1["next_cursor"].as_str().unwrap();
    let page2 = app
        .get_json(&format!(
            "/api/v1/batches/{id}/jobs?limit=4&cursor={cursor}"
        ))
        .await;
    let rows: Vec<i64> = [&page1, &page2]
        .iter()
        .flat_map(|p| {
            p["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|j| j["row_index"].as_i64().unwrap())
        })
        .collect();
    assert_eq!(rows, (0..7).collect::<Vec<_>>());
    assert_eq!(page1["items"][1]["target_url"], link(1)["target_url"]);

    let queued = app
        .get_json(&format!("/api/v1/batches/{id}/jobs?status=queued"))
        .await;
    assert_eq!(queued["items"].as_array().unwrap().len(), 7);
    let done = app
        .get_json(&format!("/api/v1/batches/{id}/jobs?status=succeeded"))
        .await;
    assert_eq!(done["items"].as_array().unwrap().len(), 0);
    let resp = app
        .get(&format!("/api/v1/batches/{id}/jobs?status=done"))
        .await;
    assert_error(resp, StatusCode::BAD_REQUEST, "bad_request", Some("status")).await;
    app.cleanup().await;
}

#[tokio::test]
async fn tenants_cannot_see_each_other() {
    let app = TestApp::spawn().await;
    let batch = app.submit_batch(1).await;
    let id = batch["id"].as_str().unwrap();
    let other = app.other_org_key().await;
    for path in [
        format!("/api/v1/batches/{id}"),
        format!("/api/v1/batches/{id}/jobs"),
    ] {
        let resp = app
            .client
            .get(app.url(&path))
            .bearer_auth(&other)
            .send()
            .await
            .unwrap();
        assert_error(resp, StatusCode::NOT_FOUND, "not_found", None).await;
    }
    let list: Value = app
        .client
        .get(app.url("/api/v1/batches"))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 0);
    app.cleanup().await;
}

#[tokio::test]
async fn unknown_and_malformed_ids() {
    let app = TestApp::spawn().await;
    let resp = app
        .get(&format!(
            "/api/v1/batches/{}",
            bacowr_shared::ids::BatchId::new()
        ))
        .await;
    assert_error(resp, StatusCode::NOT_FOUND, "not_found", None).await;
    let resp = app.get("/api/v1/batches/nope").await;
    assert_error(
        resp,
        StatusCode::BAD_REQUEST,
        "bad_request",
        Some("batch_id"),
    )
    .await;
    app.cleanup().await;
}

#[tokio::test]
async fn idempotency_covers_the_query_string() {
    let app = TestApp::spawn().await;
    let csv = "publisher,target,anchor\nexample.com,https://a.se/x,ankare\n";
    let send = |query: &'static str| {
        app.client
            .post(app.url(&format!("/api/v1/batches{query}")))
            .bearer_auth(&app.api_key)
            .header("Idempotency-Key", "csv-1")
            .header("content-type", "text/csv")
            .body(csv)
            .send()
    };
    assert_eq!(send("").await.unwrap().status(), StatusCode::ACCEPTED);
    let other = send("?qc_profile=long_form").await.unwrap();
    assert_error(
        other,
        StatusCode::CONFLICT,
        "idempotency_conflict",
        Some("Idempotency-Key"),
    )
    .await;
    app.cleanup().await;
}

use crate::helpers::TestApp;

#[test]
fn checked_in_openapi_matches_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi/openapi.json");
    let checked_in = std::fs::read_to_string(path).unwrap_or_default();
    let generated = bacowr_api::openapi::document();
    assert!(
        checked_in == generated,
        "openapi/openapi.json is out of date with the code; regenerate it with `just openapi` \
         (cargo run -p bacowr-api -- openapi > openapi/openapi.json) and commit it"
    );
}

#[tokio::test]
async fn served_document_lists_every_route() {
    let app = TestApp::spawn().await;
    let doc: serde_json::Value = app
        .client
        .get(app.url("/api-docs/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let paths: Vec<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for route in [
        "/api/v1/batches",
        "/api/v1/batches/{batch_id}",
        "/api/v1/batches/{batch_id}/jobs",
        "/api/v1/batches/{batch_id}/export",
        "/api/v1/analytics/jobs",
        "/api/v1/analytics/backlinks",
        "/api/v1/analytics/costs",
        "/api/v1/jobs",
        "/api/v1/jobs/{job_id}",
        "/health",
        "/ready",
    ] {
        assert!(paths.contains(&route), "{route} missing from {paths:?}");
    }
    app.cleanup().await;
}

/// Swagger UI at /docs, from vendored assets (no CDN), with a CSP that allows only them.
#[tokio::test]
async fn swagger_ui_is_served_offline_at_docs() {
    let app = TestApp::spawn().await;
    let page = app.client.get(app.url("/docs")).send().await.unwrap();
    assert_eq!(page.status(), reqwest::StatusCode::OK);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    let html = page.text().await.unwrap();
    assert!(!html.contains("https://"), "no external assets: {html}");
    for asset in [
        "/docs/swagger-ui-bundle.js",
        "/docs/swagger-ui.css",
        "/docs/initializer.js",
    ] {
        assert!(html.contains(asset), "{asset}");
        let resp = app.client.get(app.url(asset)).send().await.unwrap();
        assert_eq!(resp.status(), reqwest::StatusCode::OK, "{asset}");
        assert!(!resp.bytes().await.unwrap().is_empty());
    }
    let init = app
        .client
        .get(app.url("/docs/initializer.js"))
        .send()
        .await
        .unwrap();
    assert!(
        init.text()
            .await
            .unwrap()
            .contains("/api-docs/openapi.json")
    );
    let missing = app
        .client
        .get(app.url("/docs/nope.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), reqwest::StatusCode::NOT_FOUND);
    app.cleanup().await;
}

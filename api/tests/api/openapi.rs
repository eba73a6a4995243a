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

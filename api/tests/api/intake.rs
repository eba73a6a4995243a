//! Inputs an agency really sends: spreadsheets saved with semicolons, BOMs, trailing blank
//! lines, unicode anchors, quoted commas.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::TestApp;

#[tokio::test]
async fn spreadsheet_exports_are_accepted() {
    let app = TestApp::spawn().await;
    let csv = "\u{feff}Publisher;Target;Anchor;Language\r\nbloggen.se;https://client.se/a?x=1&y=2;\"cyklar; bästa\";SV\r\nexample.de;https://client.de/b;Schöne Grüße;de-DE\r\n\r\n";
    let resp = app.post_csv(csv).await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let batch: Value = resp.json().await.unwrap();
    let jobs = app
        .get_json(&format!(
            "/api/v1/batches/{}/jobs",
            batch["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(jobs["items"][0]["anchor_text"], "cyklar; bästa");
    assert_eq!(jobs["items"][0]["language"], "sv");
    assert_eq!(
        jobs["items"][0]["target_url"],
        "https://client.se/a?x=1&y=2"
    );
    assert_eq!(jobs["items"][1]["language"], "de");
    app.cleanup().await;
}

#[tokio::test]
async fn json_saved_with_a_byte_order_mark_is_accepted() {
    let app = TestApp::spawn().await;
    let mut body = b"\xef\xbb\xbf".to_vec();
    body.extend_from_slice(crate::helpers::batch_body(2).to_string().as_bytes());
    let resp = app
        .post_raw("/api/v1/batches", "application/json; charset=utf-8", body)
        .await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    app.cleanup().await;
}

//! The API through a Postgres outage, on a throwaway cluster of the test's own.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use bacowr_shared::testing::{PgCluster, eventually};

use crate::helpers::{TestApp, assert_error};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_answers_503_while_postgres_is_down() {
    let cluster = PgCluster::start().await;
    let app = TestApp::spawn_on_database(&cluster.url).await;
    let ready = || async {
        let resp = app.client.get(app.url("/ready")).send().await.unwrap();
        let status = resp.status();
        (status, resp)
    };
    let (status, resp) = ready().await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(resp.json::<Value>().await.unwrap()["status"], "ready");

    cluster.stop_server();
    let resp = eventually(
        "/ready reports the outage",
        Duration::from_secs(10),
        || async {
            let (status, resp) = ready().await;
            (status == StatusCode::SERVICE_UNAVAILABLE).then_some(resp)
        },
    )
    .await;
    assert_eq!(resp.headers()["retry-after"], "5");
    let err = assert_error(
        resp,
        StatusCode::SERVICE_UNAVAILABLE,
        "service_unavailable",
        None,
    )
    .await;
    assert!(err["field"].is_null(), "{err}");
    assert!(
        err["detail"].as_str().unwrap().contains("Postgres"),
        "names the dependency: {err}"
    );

    cluster.start_server().await;
    let body = eventually("/ready recovers", Duration::from_secs(30), || async {
        let (status, resp) = ready().await;
        if status == StatusCode::OK {
            resp.json::<Value>().await.ok()
        } else {
            None
        }
    })
    .await;
    assert_eq!(body["status"], "ready");
    app.cleanup().await;
    drop(cluster);
}

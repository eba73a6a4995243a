//! The embedded build keeps what it accepted through a crash: `bacowr up` killed with -9 in
//! the middle of a batch, then started again on its files, finishes every job, each once.

use std::time::Duration;

use bacowr_shared::testing::{eventually, free_port};

use crate::{
    helpers::{run, scratch_dir, stderr, stdout},
    up::{banner, embedded_up, stop},
};

/// Short leases and heartbeats, so the work the dead process held comes back within seconds.
const QUICK_RECOVERY: &[(&str, &str)] = &[
    ("BACOWR_WORKER__LEASE_SECS", "3"),
    ("BACOWR_WORKER__HEARTBEAT_SECS", "1"),
    ("BACOWR_WORKER__MISSED_HEARTBEATS", "2"),
    ("BACOWR_DISPATCH__REDISPATCH_AFTER_SECS", "3"),
    ("BACOWR_DISPATCH__TICK_MS", "200"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_embedded_up_killed_mid_batch_finishes_it_after_a_restart() {
    let dir = scratch_dir("up-crash");
    let data = dir.join("data");
    let listen = format!("127.0.0.1:{}", free_port());
    let server = format!("http://{listen}");
    let mut child = embedded_up(&listen, &data, QUICK_RECOVERY);
    let (key, _) = banner(&mut child, &listen).await;
    let key = key.expect("a first key on a new database");
    let env = [("BACOWR_SERVER", server.as_str()), ("BACOWR_API_KEY", &key)];

    let csv = dir.join("links.csv");
    let mut rows = String::from("publisher,target,anchor,language\n");
    for i in 0..30 {
        rows.push_str(&format!(
            "site{i}.example.com,https://client.example.com/p{i},best bikes {i},en\n"
        ));
    }
    std::fs::write(&csv, rows).unwrap();
    let out = run(&["submit", csv.to_str().unwrap()], &env).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let batch = stdout(&out).trim().to_owned();
    assert!(batch.starts_with("batch_"), "{batch}");

    // Killed while jobs run: no drain, no release, the files as a crash leaves them.
    let status = || async {
        let out = run(&["status", &batch, "--json"], &env).await;
        serde_json::from_str::<serde_json::Value>(&stdout(&out)).ok()
    };
    eventually("jobs running", Duration::from_secs(60), || async {
        let s = status().await?;
        (s["counts"]["running"].as_i64()? > 0).then_some(())
    })
    .await;
    child.kill().await.unwrap();
    let before = status().await;
    assert!(before.is_none(), "the server is gone: {before:?}");

    let mut child = embedded_up(&listen, &data, QUICK_RECOVERY);
    let (again, lines) = banner(&mut child, &listen).await;
    assert_eq!(again, None, "the same database: {lines:?}");
    let out = run(
        &["status", &batch, "--wait", "--timeout", "150", "--json"],
        &env,
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let done = status().await.expect("status after the wait");
    assert_eq!(done["status"], "ready_for_review", "{done}");
    let counts = &done["counts"];
    assert_eq!(
        counts["succeeded"].as_i64().unwrap() + counts["needs_review"].as_i64().unwrap(),
        30,
        "{done}"
    );
    // Each job once: one article version each, however often it was started.
    let http = reqwest::Client::new();
    let get = |path: String| {
        let request = http.get(format!("{server}/api/v1{path}")).bearer_auth(&key);
        async move {
            let response = request.send().await.unwrap();
            assert!(response.status().is_success(), "{path}");
            response.json::<serde_json::Value>().await.unwrap()
        }
    };
    let jobs = get(format!("/batches/{batch}/jobs?limit=100")).await;
    let jobs = jobs["items"].as_array().unwrap();
    assert_eq!(jobs.len(), 30);
    for job in jobs {
        let full = get(format!("/jobs/{}", job["id"].as_str().unwrap())).await;
        assert_eq!(full["versions"].as_array().unwrap().len(), 1, "{full}");
    }
    stop(child).await;
    std::fs::remove_dir_all(&dir).unwrap();
}

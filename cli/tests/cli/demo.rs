//! `bacowr demo` in its short mode (what CI can afford): 20 links, no simulated latency, the
//! primary down for the whole run. The summary must add up and the failover must show, on
//! the embedded build (the default: nothing installed) and against Postgres and Redis.

use crate::helpers::{run, scratch_dir, stderr, stdout};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_demo_runs_embedded_by_default_with_a_failover() {
    let err = demo(&[]).await;
    assert!(
        err.contains("embedded: a scratch SQLite database and queue"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_demo_runs_against_postgres_and_redis_with_a_failover() {
    let admin = bacowr_shared::testing::admin_database_url();
    let redis = bacowr_shared::testing::redis_url();
    let err = demo(&["--postgres", &admin, "--redis", &redis]).await;
    assert!(!err.contains("embedded"), "{err}");
}

/// Runs the short demo with `extra` arguments, checks its report, and returns its stderr.
async fn demo(extra: &[&str]) -> String {
    let dir = scratch_dir("demo");
    let summary = dir.join("summary.json");
    let out_dir = dir.join("out");
    let mut args = vec![
        "demo",
        "--links",
        "20",
        "--latency-ms",
        "0",
        "--jitter-ms",
        "0",
        "--outage-after",
        "0",
        "--outage-secs",
        "600",
        "--out",
        out_dir.to_str().unwrap(),
        "--summary-json",
        summary.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = run(&args, &[]).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&summary).unwrap()).unwrap();
    let s = &report["summary"];
    assert_eq!(s["links"], 20, "{report}");
    let (done, review, failed) = (
        s["done"].as_i64().unwrap(),
        s["needs_review"].as_i64().unwrap(),
        s["failed"].as_i64().unwrap(),
    );
    assert_eq!(done + review + failed, 20, "{report}");
    assert_eq!(failed, 0, "{report}");
    assert!(done >= 10, "{report}");
    assert_eq!(report["approved"].as_i64().unwrap(), done, "{report}");
    assert!(s["cost_usd"].as_f64().unwrap() > 0.0, "{report}");
    assert!(s["latency_p95_secs"].as_f64().is_some(), "{report}");
    // The failover: the primary was called and failed, the fallback wrote the articles.
    let providers = report["providers"].as_array().unwrap();
    let claude = &providers[0][1];
    let gpt = &providers[1][1];
    assert_eq!(providers[0][0], "claude");
    assert!(claude["faulted"].as_u64().unwrap() > 0, "{report}");
    assert_eq!(claude["ok"], 0, "{report}");
    assert!(gpt["ok"].as_u64().unwrap() >= 20, "{report}");
    // Every format written.
    let exports = report["exports"].as_array().unwrap();
    assert_eq!(exports.len(), 5, "{report}");
    for path in exports {
        assert!(std::fs::metadata(path.as_str().unwrap()).unwrap().len() > 0);
    }
    let table = stdout(&out);
    assert!(
        table.contains("job latency p50") && table.contains("claude"),
        "{table}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
    stderr(&out)
}

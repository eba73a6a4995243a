//! submit → status → review → export, as a script would chain them.

use crate::helpers::{Server, scratch_dir, stderr, stdout};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn submit_wait_review_and_export_through_the_binary() {
    let server = Server::start().await;
    let dir = scratch_dir("flow");
    let csv = dir.join("links.csv");
    std::fs::write(&csv, server.csv()).unwrap();

    let out = server
        .bacowr(&[
            "submit",
            csv.to_str().unwrap(),
            "--wait",
            "--timeout",
            "120",
        ])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let batch_id = text.lines().next().unwrap().trim().to_owned();
    assert!(batch_id.starts_with("batch_"), "{text}");
    assert!(text.contains("done (passed QC)"), "{text}");
    assert!(text.contains("job latency p95"), "{text}");

    let out = server.bacowr(&["status", &batch_id, "--json"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let batch: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(batch["total_jobs"], 5);
    assert_eq!(batch["status"], "ready_for_review");
    let passed = batch["qc"]["passed"].as_i64().unwrap();
    assert!(passed >= 3, "{batch}");

    let out = server.bacowr(&["review", &batch_id]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let listing = stdout(&out);
    assert_eq!(
        listing.lines().filter(|l| l.contains("item_")).count(),
        5,
        "{listing}"
    );

    let out = server
        .bacowr(&["review", &batch_id, "--approve-passing"])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(&format!("approve: {passed} applied, 0 refused")),
        "{}",
        stdout(&out)
    );

    // Approving an approved item again is refused by the server, and the exit code says so.
    let out = server
        .bacowr(&["review", &batch_id, "--status", "approved", "--json"])
        .await;
    let approved: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let first = approved[0]["id"].as_str().unwrap();
    let out = server
        .bacowr(&["review", &batch_id, "--approve", first])
        .await;
    assert_eq!(out.status.code(), Some(6), "{}", stdout(&out));
    assert!(
        stdout(&out).contains(&format!("refused {first}")),
        "{}",
        stdout(&out)
    );

    for (format, ext) in [("csv", "csv"), ("docx", "zip"), ("json", "json")] {
        let out = server
            .bacowr(&[
                "export",
                &batch_id,
                "--format",
                format,
                "--out",
                dir.to_str().unwrap(),
            ])
            .await;
        assert_eq!(out.status.code(), Some(0), "{format}: {}", stderr(&out));
        let path = std::path::PathBuf::from(stdout(&out).trim());
        assert!(
            path.starts_with(&dir) && path.extension().unwrap() == ext,
            "{path:?}"
        );
        let bytes = std::fs::read(&path).unwrap();
        match format {
            "csv" => {
                let text = String::from_utf8(bytes).unwrap();
                assert_eq!(text.lines().count() as i64, passed + 1, "{text}");
            }
            "docx" => assert_eq!(&bytes[..2], b"PK"),
            _ => {
                let doc: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
                assert!(doc.is_object());
            }
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
    server.stop().await;
}

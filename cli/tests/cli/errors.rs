//! What a script sees when things go wrong: the server's own words, and exit codes.

use crate::helpers::{Server, run, scratch_dir, stderr};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn server_errors_are_shown_as_written_with_exit_codes() {
    let server = Server::start().await;
    let dir = scratch_dir("errors");
    let bad = dir.join("bad.csv");
    std::fs::write(
        &bad,
        "publisher,target,anchor\nok.se,https://client.se/a,fine anchor\nbad.se,not a url,anchor\nhttps://x.se,https://client.se/b,\n",
    )
    .unwrap();

    // Validation: 3, every bad row and field named, with the server's request id.
    let out = server.bacowr(&["submit", bad.to_str().unwrap()]).await;
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("422") || err.contains("400"), "{err}");
    assert!(err.contains("links[1].target_url"), "{err}");
    assert!(err.contains("row 1") && err.contains("line 3"), "{err}");
    assert!(err.contains("links[2].publisher_domain"), "{err}");
    assert!(err.contains("links[2].anchor_text"), "{err}");
    assert!(
        err.contains("request id: req_") || err.contains("request id: "),
        "{err}"
    );

    // A wrong key: 4.
    let out = run(
        &["status", "batch_0192f0c4e5a27b6c8d9e0f1a2b3c4d5e"],
        &[
            ("BACOWR_SERVER", &server.url),
            ("BACOWR_API_KEY", "bcw_wrong"),
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(stderr(&out).contains("401"), "{}", stderr(&out));

    // No such batch: 5; a malformed id: 3 (the server's 400 names the field).
    let out = server
        .bacowr(&["status", "batch_0192f0c4e5a27b6c8d9e0f1a2b3c4d5e"])
        .await;
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    let out = server.bacowr(&["status", "nonsense"]).await;
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("batch_id"), "{}", stderr(&out));

    // Local mistakes: a missing file, no key, an unknown format: 3; bad usage: 2.
    let out = server.bacowr(&["submit", "/nonexistent/links.csv"]).await;
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let out = run(&["status", "batch_x"], &[("BACOWR_SERVER", &server.url)]).await;
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("BACOWR_API_KEY"), "{}", stderr(&out));
    let out = server
        .bacowr(&["export", "batch_x", "--format", "pdf"])
        .await;
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let out = server.bacowr(&["frobnicate"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));

    // Nothing listening: 7.
    let port = bacowr_shared::testing::free_port();
    let url = format!("http://127.0.0.1:{port}");
    let out = run(
        &["status", "batch_0192f0c4e5a27b6c8d9e0f1a2b3c4d5e"],
        &[("BACOWR_SERVER", &url), ("BACOWR_API_KEY", "bcw_x")],
    )
    .await;
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("cannot reach the server"),
        "{}",
        stderr(&out)
    );

    std::fs::remove_dir_all(&dir).unwrap();
    server.stop().await;
}

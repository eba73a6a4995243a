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

/// A stand-in for a proxy in front of BACOWR: answers every request with `answers` in turn
/// (the last one repeats) and counts what it got.
async fn proxy(answers: Vec<String>) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        let mut n = 0;
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buf = vec![0u8; 65536];
            let read = socket.read(&mut buf).await.unwrap_or(0);
            let head = String::from_utf8_lossy(&buf[..read]);
            log.lock()
                .unwrap()
                .push(head.lines().next().unwrap_or_default().to_owned());
            let answer = &answers[n.min(answers.len() - 1)];
            n += 1;
            let _ = socket.write_all(answer.as_bytes()).await;
            let _ = socket.shutdown().await;
        }
    });
    (url, seen)
}

const GATEWAY_TIMEOUT: &str = "HTTP/1.1 504 Gateway Timeout\r\ncontent-type: text/html\r\ncontent-length: 24\r\nconnection: close\r\n\r\n<html>504 timeout</html>";
const SLOW_DOWN: &str = "HTTP/1.1 429 Too Many Requests\r\nretry-after: 1\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_review_decision_is_never_sent_twice_and_retry_after_is_honoured() {
    // A lost answer to a decision: sent once, the proxy's words shown, exit 7.
    let (url, seen) = proxy(vec![GATEWAY_TIMEOUT.to_owned()]).await;
    let env = [("BACOWR_SERVER", url.as_str()), ("BACOWR_API_KEY", "bcw_x")];
    let batch = "batch_0192f0c4e5a27b6c8d9e0f1a2b3c4d5e";
    let out = run(
        &[
            "review",
            batch,
            "--reject",
            "item_0192f0c4e5a27b6c8d9e0f1a2b3c4d5e",
        ],
        &env,
    )
    .await;
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("504") && stderr(&out).contains("timeout"),
        "{}",
        stderr(&out)
    );
    assert_eq!(seen.lock().unwrap().len(), 1, "{:?}", seen.lock().unwrap());

    // A read through the same trouble is retried (it is safe to repeat).
    let (url, seen) = proxy(vec![GATEWAY_TIMEOUT.to_owned()]).await;
    let env = [("BACOWR_SERVER", url.as_str()), ("BACOWR_API_KEY", "bcw_x")];
    let out = run(&["status", batch], &env).await;
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    assert_eq!(seen.lock().unwrap().len(), 5, "{:?}", seen.lock().unwrap());

    // A 429 is waited out as long as Retry-After says, then the server's 404 is shown.
    let body = r#"{"detail":"no such batch","error_code":"not_found","timestamp":"2026-11-30T00:00:00Z","request_id":"req_1"}"#;
    let not_found = format!(
        "HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let (url, seen) = proxy(vec![SLOW_DOWN.to_owned(), not_found]).await;
    let env = [("BACOWR_SERVER", url.as_str()), ("BACOWR_API_KEY", "bcw_x")];
    let started = std::time::Instant::now();
    let out = run(&["status", batch], &env).await;
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(started.elapsed() >= std::time::Duration::from_millis(950));
    assert!(
        stderr(&out).contains("not_found: no such batch"),
        "{}",
        stderr(&out)
    );
    assert_eq!(seen.lock().unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_pipe_ends_quietly() {
    let server = Server::start().await;
    let dir = scratch_dir("pipe");
    let csv = dir.join("links.csv");
    std::fs::write(&csv, server.csv()).unwrap();
    let out = server.bacowr(&["submit", csv.to_str().unwrap()]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let batch = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    // `bacowr status … | head -0`: the reader is gone before anything is written.
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_bacowr"))
        .args(["status", &batch, "--json"])
        .env("BACOWR_SERVER", &server.url)
        .env("BACOWR_API_KEY", &server.key)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().await.unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    std::fs::remove_dir_all(&dir).unwrap();
    server.stop().await;
}

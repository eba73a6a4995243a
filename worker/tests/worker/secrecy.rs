//! No article text in logs, Sentry or the call log: an OpenAI-compatible answer whose
//! envelope can't be deserialized (async-openai logs such a body whole, at ERROR) is a failed
//! call with a short, body-free error, and the real worker process's output and Sentry
//! traffic never carry the article.

use std::{
    process::{Command, Stdio},
    sync::{Arc, Mutex},
    time::Duration,
};

use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
};

use bacowr_migrations::{Migrator, MigratorTrait};
use bacowr_shared::{
    domain::JobStatus,
    entities::{job, llm_call},
    testing::{TestDatabase, TestRedis},
};
use llm_sim::{FaultProfile, Protocol, SimConfig};

const MARKER: &str = "Zebraquokka harbour lanterns";

/// A stand-in Sentry ingest endpoint: keeps every request it is sent.
async fn sentry_collector() -> (String, Arc<Mutex<Vec<u8>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let keep = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let keep = keep.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 1 << 16];
                // One read per request is enough for the small envelopes sent here; answer
                // each so the transport moves on.
                while let Ok(n) = stream.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    keep.lock().unwrap().extend_from_slice(&buf[..n]);
                    let _ = stream
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}")
                        .await;
                }
            });
        }
    });
    (format!("http://public@127.0.0.1:{port}/1"), seen)
}

fn worker(
    db_url: &str,
    redis: &TestRedis,
    sim: &llm_sim::SimHandle,
    dsn: &str,
    log: &std::path::Path,
) -> std::process::Child {
    // To a file: a pipe nobody reads would fill and stall the worker mid-log.
    let out = std::fs::File::create(log).unwrap();
    let mut cmd = crate::fleet::worker_command(db_url, redis);
    crate::fleet::deployment(&mut cmd, "gpt", "openai", &sim.openai_base_url());
    crate::fleet::deployment(&mut cmd, "claude", "anthropic", &sim.base_url());
    cmd.env("BACOWR_ROUTER__CHAIN", "[\"gpt\",\"claude\"]")
        // Everything, so nothing could hide below the level.
        .env("BACOWR_TELEMETRY__LOG_LEVEL", "trace")
        .env("BACOWR_TELEMETRY__SENTRY_DSN", dsn)
        .env_remove("RUST_LOG")
        .stdout(Stdio::from(out.try_clone().unwrap()))
        .stderr(Stdio::from(out))
        .spawn()
        .expect("start bacowr-worker")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unparseable_envelope_keeps_the_article_out_of_logs_sentry_and_the_call_log() {
    let test_db = TestDatabase::create().await;
    let redis = TestRedis::create().await;
    let db = test_db.connect().await;
    Migrator::up(&db, None).await.unwrap();
    let sim = llm_sim::spawn(SimConfig {
        api_key: Some("k".into()),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    // A chat completion with a finish reason no client knows: the envelope doesn't
    // deserialize, and the article it carries is what a careless client would log.
    let article = format!(
        "# {MARKER}\n\n{}",
        format!("{MARKER} by the quay. ").repeat(200)
    );
    sim.set_faults(
        Protocol::OpenAi,
        FaultProfile {
            replay: Some(json!({
                "status": 200,
                "body": {
                    "id": "chatcmpl-1", "object": "chat.completion", "created": 1,
                    "model": "sim",
                    "choices": [{"index": 0, "finish_reason": "not_a_reason",
                        "message": {"role": "assistant", "content": article}}],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 900, "total_tokens": 910}
                }
            })),
            ..FaultProfile::default()
        },
    );
    let (dsn, sentry) = sentry_collector().await;
    let (_org, batch_id, _ids) = crate::store::seed(&db, 3).await;
    crate::fleet::relax_qc(&db, batch_id).await;
    let dir = std::env::temp_dir().join(format!("bacowr-secrecy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut child = worker(&test_db.url, &redis, &sim, &dsn, &dir.join("worker.log"));
    crate::fleet::wake_dispatcher(&redis).await;
    crate::fleet::wait_until_finished(&db, Duration::from_secs(60)).await;
    let _ = child.kill();
    let _ = child.wait();
    let logs = std::fs::read_to_string(dir.join("worker.log")).unwrap();
    assert!(
        logs.contains("provider call failed"),
        "the failed call is logged"
    );
    assert!(!logs.contains("Zebraquokka"), "article text in the logs");
    let calls = llm_call::Entity::find()
        .filter(llm_call::Column::Provider.eq("gpt"))
        .all(&db)
        .await
        .unwrap();
    assert!(!calls.is_empty());
    for c in &calls {
        assert_ne!(c.outcome, "ok", "{c:?}");
        let error = c.error.as_deref().unwrap_or_default();
        assert!(!error.is_empty() && error.len() <= 300, "{c:?}");
        assert!(
            !error.contains("Zebraquokka"),
            "article text in llm_calls: {c:?}"
        );
    }
    let done = job::Entity::find()
        .filter(job::Column::Status.eq(JobStatus::Succeeded))
        .count(&db)
        .await
        .unwrap();
    assert_eq!(done, 3, "the fallback wrote every job");

    // The same Sentry set-up does send: a worker that can't start reports it there.
    let before = sentry.lock().unwrap().len();
    let mut failing = worker(
        "postgres://postgres@127.0.0.1:1/none",
        &redis,
        &sim,
        &dsn,
        &dir.join("failing.log"),
    );
    let _ = tokio::task::spawn_blocking(move || failing.wait()).await;
    let sent = String::from_utf8_lossy(&sentry.lock().unwrap()).into_owned();
    assert!(
        sent.len() > before && sent.contains("worker failed to start"),
        "the collector hears Sentry events"
    );
    assert!(!sent.contains("Zebraquokka"), "article text sent to Sentry");
    let _ = std::fs::remove_dir_all(&dir);
    sim.shutdown().await;
    drop(db);
    test_db.drop_database().await;
    redis.clean().await;
}

/// `--help` must never start a worker (it would join the fleet and take jobs).
#[test]
fn the_worker_binary_answers_help_and_version_without_starting() {
    for (flag, expect) in [
        ("--help", "usage: bacowr-worker"),
        ("--version", "bacowr-worker "),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_bacowr-worker"))
            .arg(flag)
            // Nowhere to connect: a worker that started would fail, not print and exit 0.
            .env(
                "BACOWR_DATABASE__URL",
                "postgres://postgres@127.0.0.1:1/none",
            )
            .output()
            .unwrap();
        assert!(out.status.success(), "{flag}");
        assert!(
            String::from_utf8_lossy(&out.stdout).starts_with(expect),
            "{flag}"
        );
    }
    let out = Command::new(env!("CARGO_BIN_EXE_bacowr-worker"))
        .arg("--bogus")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

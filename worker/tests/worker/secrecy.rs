//! No article text in logs, Sentry or the call log: an OpenAI-compatible answer whose
//! envelope can't be deserialized (async-openai logs such a body whole, at ERROR) is a failed
//! call with a short, body-free error, and the real worker process's output and Sentry
//! traffic never carry the article.

use std::{
    process::{Command, Stdio},
    sync::{Arc, Mutex},
    time::Duration,
};

use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, sea_query::Expr};
use serde_json::json;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
};

use bacowr_migrations::{Migrator, MigratorTrait};
use bacowr_shared::{
    config::Settings,
    db::connect_redis,
    domain::JobStatus,
    entities::{batch, job, llm_call},
    queue,
    testing::{TestDatabase, TestRedis, eventually},
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
    Command::new(env!("CARGO_BIN_EXE_bacowr-worker"))
        .env("BACOWR_DATABASE__URL", db_url)
        .env("BACOWR_REDIS__URL", &redis.url)
        .env("BACOWR_REDIS__NAMESPACE", &redis.namespace)
        .env("BACOWR_WORKER__POLL_INTERVAL_MS", "50")
        .env("BACOWR_CONTEXT__ENABLED", "false")
        .env("BACOWR_ROUTER__CHAIN", "[\"gpt\",\"claude\"]")
        .env("BACOWR_DEPLOYMENTS__GPT__KIND", "openai")
        .env("BACOWR_DEPLOYMENTS__GPT__MODEL", "sim")
        .env("BACOWR_DEPLOYMENTS__GPT__PRICE_PROVIDER", "llm-sim")
        .env("BACOWR_DEPLOYMENTS__GPT__BASE_URL", sim.openai_base_url())
        .env("BACOWR_DEPLOYMENTS__GPT__API_KEY", "k")
        .env("BACOWR_DEPLOYMENTS__CLAUDE__KIND", "anthropic")
        .env("BACOWR_DEPLOYMENTS__CLAUDE__MODEL", "sim")
        .env("BACOWR_DEPLOYMENTS__CLAUDE__PRICE_PROVIDER", "llm-sim")
        .env("BACOWR_DEPLOYMENTS__CLAUDE__BASE_URL", sim.base_url())
        .env("BACOWR_DEPLOYMENTS__CLAUDE__API_KEY", "k")
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
    let mut relaxed = bacowr_shared::qc::profile("standard").unwrap().clone();
    relaxed.min_trust_links = 0;
    relaxed.max_regenerations = 0;
    batch::Entity::update_many()
        .col_expr(
            batch::Column::QcThresholds,
            Expr::value(serde_json::to_value(&relaxed).unwrap()),
        )
        .filter(batch::Column::Id.eq(batch_id.uuid()))
        .exec(&db)
        .await
        .unwrap();
    let dir = std::env::temp_dir().join(format!("bacowr-secrecy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut child = worker(&test_db.url, &redis, &sim, &dsn, &dir.join("worker.log"));
    let mut settings = Settings::from_figment(Settings::figment(None)).unwrap();
    settings.redis.url = redis.url.clone();
    queue::wake_dispatcher(
        &connect_redis(&settings.redis).await.unwrap(),
        &redis.namespace,
    )
    .await;
    eventually("every job finished", Duration::from_secs(60), || async {
        let open = job::Entity::find()
            .filter(job::Column::Status.is_in([JobStatus::Queued, JobStatus::Running]))
            .count(&db)
            .await
            .unwrap();
        (open == 0).then_some(())
    })
    .await;
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

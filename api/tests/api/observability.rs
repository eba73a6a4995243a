//! Operating it: one trace from the HTTP request through the queue and the worker to the
//! provider calls and the stored article; `/metrics` on the API and on a worker, with values
//! checked against what the database recorded.

use std::{collections::HashMap, time::Duration};

use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry_sdk::trace::SpanData;
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use bacowr_shared::testing::{eventually, free_port};
use llm_sim::Violation;

use crate::helpers::{SPANS, TestApp, batch_body, spawn_sim, spawn_sim_with};

fn attr(span: &SpanData, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.to_string())
}

/// The topmost ancestor of `span` among the collected spans.
fn root<'a>(by_id: &HashMap<SpanId, &'a SpanData>, mut span: &'a SpanData) -> &'a SpanData {
    while let Some(parent) = by_id.get(&span.parent_span_id) {
        span = parent;
    }
    span
}

fn spans_of(trace: TraceId) -> Vec<SpanData> {
    SPANS
        .get_finished_spans()
        .unwrap()
        .into_iter()
        .filter(|s| s.span_context.trace_id() == trace)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_trace_spans_the_request_the_queue_the_worker_and_the_provider_calls() {
    let app = TestApp::spawn().await;
    let sim = spawn_sim().await;
    let trace = TraceId::from_bytes(rand::random::<[u8; 16]>());
    let caller_span = SpanId::from_bytes(rand::random::<[u8; 8]>());
    let resp = app
        .client
        .post(app.url("/api/v1/batches"))
        .bearer_auth(&app.api_key)
        .header("traceparent", format!("00-{trace}-{caller_span}-01"))
        .json(&batch_body(2))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let batch: Value = resp.json().await.unwrap();
    let done = app.drain_batch(batch["id"].as_str().unwrap(), &sim).await;
    assert_eq!(done["counts"]["succeeded"], 2, "{done}");

    // The jobs carry the request's trace context through Postgres and the queue.
    let rows = app
        .db
        .query_all_raw(Statement::from_string(
            app.db.get_database_backend(),
            "SELECT traceparent FROM jobs",
        ))
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    for row in rows {
        let tp: String = row.try_get("", "traceparent").unwrap();
        assert!(tp.contains(&trace.to_string()), "{tp}");
    }

    let spans = eventually("the workers' spans", Duration::from_secs(10), || async {
        let spans = spans_of(trace);
        let count = |name: &str| spans.iter().filter(|s| s.name == name).count();
        (count("generate_article") == 2 && count("store_outcome") == 2).then_some(spans)
    })
    .await;
    let by_id: HashMap<SpanId, &SpanData> = spans
        .iter()
        .map(|s| (s.span_context.span_id(), s))
        .collect();
    let named = |name: &'static str| spans.iter().filter(move |s| s.name == name);
    let root_of = |span: &SpanData| root(&by_id, span).span_context.span_id();

    // The API's request span continues the caller's trace.
    let request = named("http_request")
        .find(|s| attr(s, "method").as_deref() == Some("POST"))
        .expect("the POST's span is in the trace");
    assert_eq!(request.parent_span_id, caller_span);
    assert!(attr(request, "request_id").is_some_and(|r| r.starts_with("req_")));

    // Each job's worker span descends from that request, and so does every provider call and
    // the write of the article.
    for job in named("generate_article") {
        assert_eq!(root_of(job), request.span_context.span_id(), "{job:?}");
    }
    let calls: Vec<&SpanData> = named("provider_call").collect();
    assert_eq!(calls.len(), 2, "one call per job: {calls:?}");
    for call in &calls {
        assert_eq!(root_of(call), request.span_context.span_id());
        let parent = by_id[&call.parent_span_id];
        assert!(
            parent.name == "generate_article" || root_of(parent) == request.span_context.span_id(),
            "the call hangs under the job: {call:?}"
        );
        assert_eq!(attr(call, "deployment").as_deref(), Some("llm-sim"));
        assert_eq!(attr(call, "outcome").as_deref(), Some("ok"));
        assert_eq!(attr(call, "http_status").as_deref(), Some("200"));
        for figure in ["tokens_in", "tokens_out", "latency_ms"] {
            let n: f64 = attr(call, figure).unwrap().parse().unwrap();
            assert!(n >= 0.0, "{figure}");
        }
        let cost: f64 = attr(call, "cost_usd").unwrap().parse().unwrap();
        assert!(cost > 0.0);
    }
    for store in named("store_outcome") {
        assert_eq!(root_of(store), request.span_context.span_id());
        assert_eq!(attr(store, "status").as_deref(), Some("Succeeded"));
    }
    sim.shutdown().await;
    app.cleanup().await;
}

/// `name{labels} value` lines of an exposition, keyed by name plus labels as written.
fn samples(body: &str) -> HashMap<String, f64> {
    body.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| {
            let (key, value) = l.rsplit_once(' ')?;
            Some((key.to_owned(), value.parse().ok()?))
        })
        .collect()
}

/// The sum of every sample of `family` (its full sample name) whose labels contain `with`.
fn total(samples: &HashMap<String, f64>, name: &str, with: &[&str]) -> f64 {
    samples
        .iter()
        .filter(|(k, _)| {
            (k.as_str() == name || k.starts_with(&format!("{name}{{")))
                && with.iter().all(|w| k.contains(w))
        })
        .map(|(_, v)| v)
        .sum()
}

async fn scalar(app: &TestApp, sql: &str) -> f64 {
    let row = app
        .db
        .query_one_raw(Statement::from_string(app.db.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<f64>("", "v").unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_on_the_api_and_the_worker_add_up_after_a_batch() {
    let app = TestApp::spawn().await;
    // Every first draft is too short; the regeneration (with QC feedback) passes.
    let sim = spawn_sim_with(|c| {
        c.violation = Some(Violation::Short);
        c.violate_once = true;
    })
    .await;
    let n = 3;
    let resp = app.post_json("/api/v1/batches", &batch_body(n)).await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let batch: Value = resp.json().await.unwrap();
    let id = batch["id"].as_str().unwrap().to_owned();
    let port = free_port();
    let worker = app
        .start_worker(&sim, |s| s.worker.http_listen = format!("127.0.0.1:{port}"))
        .await;
    let done = app.wait_for_batch(&id, Duration::from_secs(60)).await;
    assert_eq!(done["counts"]["succeeded"], n, "{done}");
    let _ = app.get(&format!("/api/v1/batches/{id}")).await;
    let _ = app.get("/api/v1/no-such-route/batch_0123").await;

    let body = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let w = samples(&body);
    assert_eq!(
        total(&w, "jobs_total", &["status=\"succeeded\""]),
        n as f64,
        "{body}"
    );
    assert_eq!(total(&w, "active_jobs", &[]), 0.0);
    assert_eq!(total(&w, "queue_depth", &[]), 0.0);
    assert_eq!(
        total(&w, "llm_breaker_state", &["deployment=\"llm-sim\""]),
        0.0
    );
    // Two calls per job (the short draft, then the regeneration), as the database has them.
    let calls = scalar(&app, "SELECT COUNT(*)::float8 AS v FROM llm_calls").await;
    assert_eq!(calls, 2.0 * n as f64);
    let ok = [
        "provider=\"openai\"",
        "deployment=\"llm-sim\"",
        "outcome=\"ok\"",
    ];
    assert_eq!(
        total(&w, "llm_generation_duration_seconds_count", &ok),
        calls,
        "{body}"
    );
    assert_eq!(total(&w, "llm_generation_cost_dollars_count", &ok), calls);
    let cost = scalar(
        &app,
        "SELECT SUM(cost_micros)::float8 / 1e6 AS v FROM llm_calls",
    )
    .await;
    let cost_seen = total(&w, "llm_generation_cost_dollars_sum", &ok);
    assert!((cost_seen - cost).abs() < 1e-9, "{cost_seen} vs {cost}");
    let out = scalar(&app, "SELECT SUM(tokens_out)::float8 AS v FROM llm_calls").await;
    assert_eq!(
        total(&w, "llm_tokens_total", &["direction=\"output\""]),
        out
    );
    let input = scalar(
        &app,
        // tokens_in counts the cached ones too.
        "SELECT SUM(tokens_in)::float8 AS v FROM llm_calls",
    )
    .await;
    assert_eq!(
        total(&w, "llm_tokens_total", &["direction=\"input\""]),
        input
    );
    assert_eq!(
        total(&w, "qc_checks_failed_total", &["check=\"word_count\""]),
        n as f64,
        "one short first draft per job: {body}"
    );
    assert!(
        !body.contains(&id) && !body.contains("job_"),
        "no batch or job ids on worker metrics"
    );
    worker.stop().await;

    // The API: route templates, never raw paths; the review progress of the batch.
    let resp = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let body = resp.text().await.unwrap();
    let a = samples(&body);
    let post = [
        "route=\"/api/v1/batches\"",
        "method=\"POST\"",
        "status=\"202\"",
    ];
    assert_eq!(total(&a, "api_requests_total", &post), 1.0, "{body}");
    assert_eq!(total(&a, "api_request_duration_seconds_count", &post), 1.0);
    let get = ["route=\"/api/v1/batches/{batch_id}\"", "method=\"GET\""];
    assert!(total(&a, "api_requests_total", &get) >= 2.0, "{body}");
    assert_eq!(
        total(
            &a,
            "api_requests_total",
            &["route=\"unmatched\"", "status=\"404\""]
        ),
        1.0
    );
    let progress = format!("batch_review_progress_percent{{batch_id=\"{id}\"}}");
    assert_eq!(a.get(&progress), Some(&0.0), "{body}");
    assert!(
        !body
            .lines()
            .any(|l| l.starts_with("api_request") && (l.contains(&id) || l.contains("batch_0123"))),
        "no ids in request labels"
    );

    // One decision of three, then the rest.
    let items = app
        .get_json(&format!("/api/v1/batches/{id}/items?limit=10"))
        .await;
    let first = items["items"][0]["id"].as_str().unwrap();
    let resp = app
        .post_json(
            &format!("/api/v1/batches/{id}/items/{first}/review"),
            &json!({"decision": "approve"}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let read = |app: &TestApp| {
        let url = app.url("/metrics");
        let client = app.client.clone();
        async move { samples(&client.get(url).send().await.unwrap().text().await.unwrap()) }
    };
    let third = read(&app).await[&progress];
    assert!((third - 100.0 / 3.0).abs() < 1e-6, "{third}");
    let resp = app
        .post_json(
            &format!("/api/v1/batches/{id}/review"),
            &json!({"decision": "approve", "all_passing_qc": true}),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(read(&app).await[&progress], 100.0);
    sim.shutdown().await;
    app.cleanup().await;
}

#[tokio::test]
async fn metrics_token_guards_the_api_metrics() {
    let app = TestApp::spawn_with(|s| s.telemetry.metrics_token = "scrape-secret-123".into()).await;
    let resp = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let resp = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let resp = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth("scrape-secret-123")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.text().await.unwrap().contains("api_requests_total"));
    app.cleanup().await;
}

#[tokio::test]
async fn the_health_subcommand_probes_a_running_api() {
    let app = TestApp::spawn().await;
    let port: u16 = app.address.rsplit(':').next().unwrap().parse().unwrap();
    let probe = |listen: String| {
        std::process::Command::new(env!("CARGO_BIN_EXE_bacowr-api"))
            .arg("health")
            .env("BACOWR_API__LISTEN", listen)
            .output()
            .unwrap()
    };
    // A wildcard listen address is probed on loopback, as in a container.
    let up = probe(format!("0.0.0.0:{port}"));
    assert!(up.status.success(), "{up:?}");
    let down = probe(format!("127.0.0.1:{}", free_port()));
    assert_eq!(down.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&down.stderr).contains("unhealthy"));
    app.cleanup().await;
}

//! Recorded provider answers (`tools/llm-sim/recorded/<protocol>/*.json`), each shaped as the
//! provider's API reference documents it, replayed through the real router: the primary's
//! calls must carry the fixture's class (with a short, body-free error), its token usage as
//! the provider documents it, and its retry hint; a usable answer is the job's, and any other
//! leaves the job to the fallback. Every mismatch of every fixture is listed in one failure.

use std::path::PathBuf;

use bacowr_shared::testing::TestRedis;
use bacowr_worker::{
    pipeline::CallRecord,
    provider::{Action, ErrorClass},
};
use llm_sim::{FaultProfile, Protocol};
use serde_json::Value;

use crate::router::{deployment, request, router, sim};

const RECORDED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tools/llm-sim/recorded");

/// Each protocol's folder, and the protocol of the fallback that must write the job instead.
const PROTOCOLS: [(&str, Protocol, &str); 3] = [
    ("openai", Protocol::OpenAi, "anthropic"),
    ("anthropic", Protocol::Anthropic, "openai"),
    ("gemini", Protocol::Gemini, "openai"),
];

/// `router()` in router.rs allows this many attempts per deployment.
const MAX_ATTEMPTS: usize = 3;

const CLASSES: [ErrorClass; 16] = [
    ErrorClass::RateLimited,
    ErrorClass::Overloaded,
    ErrorClass::Server,
    ErrorClass::Timeout,
    ErrorClass::Connection,
    ErrorClass::Malformed,
    ErrorClass::BadRequest,
    ErrorClass::ModelNotFound,
    ErrorClass::Auth,
    ErrorClass::QuotaExhausted,
    ErrorClass::ContentPolicy,
    ErrorClass::ContextTooLong,
    ErrorClass::Truncated,
    ErrorClass::EmptyResponse,
    ErrorClass::Unparseable,
    ErrorClass::WrongShape,
];

/// Token usage of a call: prompt (cached and cache-written included), cached, cache-written,
/// output (reasoning included), reasoning.
type Usage = [i64; 5];

fn usage_of(c: &CallRecord) -> Usage {
    [
        c.tokens_in,
        c.tokens_cached,
        c.tokens_cache_write,
        c.tokens_out,
        c.tokens_reasoning,
    ]
}

/// The usage a body reports, read as each provider documents its fields.
fn documented_usage(kind: &str, body: &Value) -> Usage {
    let n = |v: &Value| v.as_i64().unwrap_or(0);
    match kind {
        // prompt_tokens includes the cached ones; completion_tokens the reasoning ones.
        "openai" => {
            let u = &body["usage"];
            [
                n(&u["prompt_tokens"]),
                n(&u["prompt_tokens_details"]["cached_tokens"]),
                0,
                n(&u["completion_tokens"]),
                n(&u["completion_tokens_details"]["reasoning_tokens"]),
            ]
        }
        // input_tokens excludes cache reads and writes; thinking is billed within
        // output_tokens, which the API does not split.
        "anthropic" => {
            let u = &body["usage"];
            let (read, write) = (
                n(&u["cache_read_input_tokens"]),
                n(&u["cache_creation_input_tokens"]),
            );
            [
                n(&u["input_tokens"]) + read + write,
                read,
                write,
                n(&u["output_tokens"]),
                0,
            ]
        }
        // promptTokenCount includes the cached content; thoughts are billed as output but
        // counted outside candidatesTokenCount.
        _ => {
            let u = &body["usageMetadata"];
            let thoughts = n(&u["thoughtsTokenCount"]);
            [
                n(&u["promptTokenCount"]),
                n(&u["cachedContentTokenCount"]),
                0,
                n(&u["candidatesTokenCount"]) + thoughts,
                thoughts,
            ]
        }
    }
}

/// The provider's retry hint in a fixture: a `retry-after` header in seconds, or Gemini's
/// `RetryInfo.retryDelay`.
fn documented_hint_ms(fixture: &Value) -> Option<i64> {
    if let Some(secs) = fixture["headers"]["retry-after"].as_str() {
        return secs.trim().parse::<f64>().ok().map(|s| (s * 1000.0) as i64);
    }
    fixture["body"]["error"]["details"]
        .as_array()?
        .iter()
        .find(|d| {
            d["@type"]
                .as_str()
                .is_some_and(|t| t.ends_with("RetryInfo"))
        })?["retryDelay"]
        .as_str()?
        .strip_suffix('s')?
        .parse::<f64>()
        .ok()
        .map(|s| (s * 1000.0) as i64)
}

/// How many calls the router makes to a deployment that answers `class` every time: its
/// documented action (retry with backoff, one more try at once, or fall back at once).
fn calls_there(class: Option<ErrorClass>) -> usize {
    match class.map(ErrorClass::action) {
        None => 1,
        Some(Action::Retry) => MAX_ATTEMPTS,
        Some(Action::RetryOnce) => 2,
        Some(Action::FallBack) => 1,
    }
}

fn fixtures(kind: &str) -> Vec<PathBuf> {
    let dir = PathBuf::from(RECORDED).join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

/// What the simulator writes for `request()`: the article every replay's placeholders carry.
async fn article_snippets(redis: &TestRedis) -> Vec<String> {
    let sim = sim().await;
    let r = router(redis, vec![("plain", deployment(&sim, "openai"))]).await;
    let g = r.generate(&request(), &mut Vec::new()).await.unwrap();
    sim.shutdown().await;
    let article: Value = serde_json::from_str(&g.text).unwrap();
    let body: String = article["body_markdown"]
        .as_str()
        .unwrap()
        .chars()
        .take(40)
        .collect();
    vec![article["title"].as_str().unwrap().to_owned(), body]
}

/// Replays one fixture on a primary of `protocol` with a healthy fallback; the problems found.
async fn replay(
    redis: &TestRedis,
    (kind, protocol, fallback): (&str, Protocol, &str),
    fixture: &Value,
    article: &[String],
) -> Vec<String> {
    let mut problems = Vec::new();
    let expect = fixture["expect"].as_str().unwrap_or_default();
    let class = CLASSES.into_iter().find(|c| c.as_str() == expect);
    if expect != "ok" && class.is_none() {
        return vec![format!("`expect` {expect:?} is no error class")];
    }
    for field in ["description", "source"] {
        if fixture[field].as_str().is_none_or(str::is_empty) {
            problems.push(format!("no `{field}`"));
        }
    }
    if !fixture["source"]
        .as_str()
        .is_some_and(|s| s.starts_with("https://"))
    {
        problems.push("`source` is not a URL".into());
    }
    let sim = sim().await;
    sim.set_faults(
        protocol,
        FaultProfile {
            replay: Some(fixture.clone()),
            ..FaultProfile::default()
        },
    );
    let r = router(
        redis,
        vec![
            ("primary", deployment(&sim, kind)),
            ("fallback", deployment(&sim, fallback)),
        ],
    )
    .await;
    let mut calls = Vec::new();
    let result = r.generate(&request(), &mut calls).await;
    sim.shutdown().await;

    let seen: Vec<_> = calls
        .iter()
        .map(|c| format!("{}:{}", c.provider, c.outcome))
        .collect();
    let primary: Vec<&CallRecord> = calls.iter().filter(|c| c.provider == "primary").collect();
    let outcomes: Vec<_> = primary.iter().map(|c| c.outcome).collect();
    if primary.is_empty() || outcomes.iter().any(|o| *o != expect) {
        problems.push(format!(
            "primary outcomes {outcomes:?}, expected {expect:?}"
        ));
    }
    if primary.len() != calls_there(class) {
        problems.push(format!(
            "{} calls to the primary, expected {} for {expect}",
            primary.len(),
            calls_there(class)
        ));
    }
    let status = fixture["status"]
        .as_u64()
        .and_then(|s| u16::try_from(s).ok());
    let usage = documented_usage(kind, &fixture["body"]);
    let hint = documented_hint_ms(fixture);
    for c in &primary {
        if c.http_status != status {
            problems.push(format!(
                "http_status {:?}, recorded {status:?}",
                c.http_status
            ));
        }
        if usage_of(c) != usage {
            problems.push(format!(
                "usage [in, cached, cache_write, out, reasoning] {:?}, documented {usage:?}",
                usage_of(c)
            ));
        }
        if c.retry_after_ms != hint {
            problems.push(format!(
                "retry_after_ms {:?}, hinted {hint:?}",
                c.retry_after_ms
            ));
        }
        match (&c.error, expect) {
            (None, "ok") => {}
            (Some(e), "ok") => problems.push(format!("an error on an ok answer: {e}")),
            (None, _) => problems.push("no error recorded".into()),
            (Some(e), _) => {
                if e.chars().count() > 300 {
                    problems.push(format!("error of {} chars", e.chars().count()));
                }
                if article.iter().any(|a| e.contains(a.as_str())) {
                    problems.push(format!("the error carries the article: {e}"));
                }
            }
        }
    }
    // The job's outcome: a usable answer is the primary's. Anything else is a failed call of
    // the primary, and the router goes on down the chain: even a request-specific refusal
    // (bad request, content policy, context length) only ends the job once every deployment
    // refused it (`Router::generate_with`), and here the fallback is healthy.
    let writer = if expect == "ok" {
        "primary"
    } else {
        "fallback"
    };
    match (&result, calls.last()) {
        (Ok(_), Some(last)) if last.provider == writer && last.outcome == "ok" => {}
        _ => problems.push(format!(
            "expected {writer} to write the job: {:?}, calls {seen:?}",
            result
                .as_ref()
                .map(|g| g.model.clone())
                .map_err(|e| e.to_string())
        )),
    }
    problems
}

#[tokio::test]
async fn recorded_answers_land_in_their_documented_class() {
    let redis = TestRedis::create().await;
    let article = article_snippets(&redis).await;
    let mut problems = Vec::new();
    let mut replayed = 0;
    for case in PROTOCOLS {
        let files = fixtures(case.0);
        assert!(!files.is_empty(), "no recorded answers for {}", case.0);
        for path in files {
            let name = format!("{}/{}", case.0, path.file_name().unwrap().to_string_lossy());
            let fixture: Value = match std::fs::read_to_string(&path)
                .map_err(|e| e.to_string())
                .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
            {
                Ok(v) => v,
                Err(e) => {
                    problems.push(format!("{name}: unreadable: {e}"));
                    continue;
                }
            };
            for p in replay(&redis, case, &fixture, &article).await {
                problems.push(format!("{name}: {p}"));
            }
            replayed += 1;
        }
    }
    redis.clean().await;
    println!("replayed {replayed} recorded answers");
    assert!(
        problems.is_empty(),
        "{} problem(s) in the recorded answers:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

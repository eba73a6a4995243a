//! The provider router against llm-sim's three protocols and their faults: which error class
//! leads to a retry, a fallback or a failure; retry hints; breakers; the fleet-wide limit.

use std::time::{Duration, Instant};

use bacowr_shared::{
    backplane::Backplane,
    config::{DeploymentSettings, RedisSettings, Settings},
    db::connect_redis,
    pricing::PriceTable,
    testing::TestRedis,
};
use bacowr_worker::{pipeline::CallRecord, provider::GenerationRequest, router::Router};
use llm_sim::{FaultProfile, Protocol, ScriptStep, SimConfig, SimHandle};

pub async fn sim() -> SimHandle {
    llm_sim::spawn(SimConfig {
        api_key: Some("k".into()),
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

pub fn deployment(sim: &SimHandle, kind: &str) -> DeploymentSettings {
    DeploymentSettings {
        base_url: if kind == "openai" {
            sim.openai_base_url()
        } else {
            sim.base_url()
        },
        api_key: "k".into(),
        timeout_secs: 5,
        price_provider: "llm-sim".into(),
        ..DeploymentSettings::new(kind.parse().unwrap(), &format!("{kind}-model"))
    }
}

pub async fn router(redis: &TestRedis, chain: Vec<(&str, DeploymentSettings)>) -> Router {
    let conn = connect_redis(&RedisSettings {
        url: redis.url.clone(),
        ..Settings::from_figment(Settings::figment(None))
            .unwrap()
            .redis
    })
    .await
    .unwrap();
    router_on(Backplane::Redis(conn), &redis.namespace, chain)
}

/// A router on `backplane`: Redis, or the embedded build's in-process one.
pub fn router_on(
    backplane: Backplane,
    namespace: &str,
    chain: Vec<(&str, DeploymentSettings)>,
) -> Router {
    let mut s = Settings::from_figment(Settings::figment(None)).unwrap();
    s.redis.namespace = namespace.to_owned();
    s.provider.backoff_initial_ms = 10;
    s.provider.backoff_max_ms = 3000;
    s.provider.max_attempts = 3;
    s.router.breaker_cooldown_secs = 1;
    s.router.breaker_min_calls = 3;
    s.router.breaker_window = 5;
    s.router.max_wait_secs = 20;
    s.router.chain = chain.iter().map(|(n, _)| n.to_string()).collect();
    s.deployments = chain.into_iter().map(|(n, d)| (n.to_string(), d)).collect();
    Router::new(&s, backplane, PriceTable::embedded()).unwrap()
}

pub fn request() -> GenerationRequest {
    GenerationRequest {
        system: "You write.".into(),
        user: "Publisher: a.se\nTarget URL: https://b.se/x\nAnchor text: good things\nLanguage: en\nAnswer as JSON with body_markdown".into(),
        max_output_tokens: 2000,
        temperature: 0.7,
        structured: true,
    }
}

fn script(fault: &str, times: u32) -> FaultProfile {
    FaultProfile {
        script: vec![ScriptStep {
            fault: fault.into(),
            times,
            ..ScriptStep::default()
        }],
        ..FaultProfile::default()
    }
}

fn outcomes(calls: &[CallRecord]) -> Vec<(String, &'static str)> {
    calls
        .iter()
        .map(|c| (c.provider.clone(), c.outcome))
        .collect()
}

#[tokio::test]
async fn server_errors_are_retried_on_the_same_deployment() {
    let (redis, sim) = (TestRedis::create().await, sim().await);
    sim.set_faults(Protocol::OpenAi, script("500", 2));
    let r = router(&redis, vec![("gpt", deployment(&sim, "openai"))]).await;
    let mut calls = Vec::new();
    r.generate(&request(), &mut calls).await.unwrap();
    assert_eq!(
        outcomes(&calls),
        [
            ("gpt".into(), "server_error"),
            ("gpt".into(), "server_error"),
            ("gpt".into(), "ok")
        ]
    );
    assert_eq!(sim.served(Protocol::OpenAi).requests, 3);
    redis.clean().await;
}

#[tokio::test]
async fn overload_falls_back_at_once_and_quota_is_never_retried() {
    let (redis, sim) = (TestRedis::create().await, sim().await);
    sim.set_faults(Protocol::Anthropic, script("529", 1));
    sim.set_faults(
        Protocol::OpenAi,
        FaultProfile {
            quota_exhausted: true,
            ..FaultProfile::default()
        },
    );
    let r = router(
        &redis,
        vec![
            ("claude", deployment(&sim, "anthropic")),
            ("gpt", deployment(&sim, "openai")),
            ("gemini", deployment(&sim, "gemini")),
        ],
    )
    .await;
    let mut calls = Vec::new();
    r.generate(&request(), &mut calls).await.unwrap();
    assert_eq!(
        outcomes(&calls),
        [
            ("claude".into(), "overloaded"),
            ("gpt".into(), "quota_exhausted"),
            ("gemini".into(), "ok")
        ]
    );
    // The quota-exhausted deployment rests; the next job does not knock on it again.
    let mut calls = Vec::new();
    r.generate(&request(), &mut calls).await.unwrap();
    assert_eq!(sim.served(Protocol::OpenAi).requests, 1);
    assert!(
        calls.iter().all(|c| c.provider != "gpt"),
        "{:?}",
        outcomes(&calls)
    );
    redis.clean().await;
}

#[tokio::test]
async fn a_bad_key_falls_back_without_retrying() {
    let (redis, sim) = (TestRedis::create().await, sim().await);
    let mut bad = deployment(&sim, "anthropic");
    bad.api_key = "wrong".into();
    let r = router(
        &redis,
        vec![("claude", bad), ("gpt", deployment(&sim, "openai"))],
    )
    .await;
    let mut calls = Vec::new();
    r.generate(&request(), &mut calls).await.unwrap();
    assert_eq!(
        outcomes(&calls),
        [("claude".into(), "auth_error"), ("gpt".into(), "ok")]
    );
    assert_eq!(calls[0].http_status, Some(401));
    redis.clean().await;
}

#[tokio::test]
async fn retry_hints_are_honoured_when_no_other_deployment_is_left() {
    let (redis, sim) = (TestRedis::create().await, sim().await);
    sim.set_faults(
        Protocol::OpenAi,
        FaultProfile {
            retry_after_secs: Some(2),
            ..script("429", 1)
        },
    );
    sim.set_faults(
        Protocol::Gemini,
        FaultProfile {
            retry_after_secs: Some(1),
            ..script("429", 1)
        },
    );
    for (kind, hint) in [("openai", 2), ("gemini", 1)] {
        let r = router(&redis, vec![(kind, deployment(&sim, kind))]).await;
        let started = Instant::now();
        let mut calls = Vec::new();
        r.generate(&request(), &mut calls).await.unwrap();
        let waited = started.elapsed();
        assert_eq!(calls[0].outcome, "rate_limited");
        assert_eq!(calls[0].retry_after_ms, Some(hint * 1000));
        assert!(
            waited >= Duration::from_millis(hint as u64 * 1000 - 50)
                && waited < Duration::from_millis(hint as u64 * 1000 + 1500),
            "{kind}: waited {waited:?} for a {hint}s hint"
        );
    }
    redis.clean().await;
}

#[tokio::test]
async fn a_failing_primary_trips_its_breaker_and_comes_back_after_recovery() {
    let (redis, sim) = (TestRedis::create().await, sim().await);
    sim.set_faults(Protocol::Anthropic, script("503", 8));
    let r = router(
        &redis,
        vec![
            ("claude", deployment(&sim, "anthropic")),
            ("gpt", deployment(&sim, "openai")),
        ],
    )
    .await;
    let mut used = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    // One job every 100 ms, so the breaker's 1 s cooldown passes during the run.
    let mut pace = tokio::time::interval(Duration::from_millis(100));
    loop {
        pace.tick().await;
        let mut calls = Vec::new();
        r.generate(&request(), &mut calls).await.unwrap();
        used.push(calls.last().unwrap().provider.clone());
        if used.len() > 3 && used.last().unwrap() == "claude" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "primary never came back: {used:?}"
        );
    }
    assert!(
        used.contains(&"gpt".to_owned()),
        "the fallback served meanwhile: {used:?}"
    );
    // While open, the breaker kept calls off the primary: far fewer than one per job.
    assert!(sim.served(Protocol::Anthropic).faulted == 8);
    redis.clean().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_share_one_fleet_wide_limit() {
    let (redis, sim) = (TestRedis::create().await, sim().await);
    let mut limited = deployment(&sim, "openai");
    limited.rpm = 120; // one call every 500 ms for the whole fleet
    let a = router(&redis, vec![("gpt", limited.clone())]).await;
    let b = router(&redis, vec![("gpt", limited)]).await;
    share_one_limit(a, b, &sim).await;
    redis.clean().await;
}

/// The embedded build's worker runtimes share its in-process backplane, and one limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_embedded_runtimes_share_one_limit() {
    let sim = sim().await;
    let mut limited = deployment(&sim, "openai");
    limited.rpm = 120;
    let backplane = Backplane::local();
    let a = router_on(backplane.clone(), "t", vec![("gpt", limited.clone())]);
    let b = router_on(backplane, "t", vec![("gpt", limited)]);
    share_one_limit(a, b, &sim).await;
}

/// Eight calls split over two routers limited to 120 a minute together.
async fn share_one_limit(a: Router, b: Router, sim: &SimHandle) {
    let (a, b) = (std::sync::Arc::new(a), std::sync::Arc::new(b));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let r = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            let mut calls = Vec::new();
            r.generate(&request(), &mut calls).await.unwrap();
            started.elapsed()
        }));
    }
    let mut done: Vec<Duration> = Vec::new();
    for t in tasks {
        done.push(t.await.unwrap());
    }
    done.sort();
    assert_eq!(sim.served(Protocol::OpenAi).requests, 8);
    // Eight calls at 120 per minute take at least 3.5 s, however many processes share them.
    assert!(done[7] >= Duration::from_millis(3400), "{done:?}");
}

/// Every protocol's own error shapes land in the right class.
#[tokio::test]
async fn each_protocol_maps_its_errors_to_the_taxonomy() {
    let redis = TestRedis::create().await;
    let cases: &[(&str, &str, &str)] = &[
        ("openai", "429", "rate_limited"),
        ("openai", "500", "server_error"),
        ("openai", "quota", "quota_exhausted"),
        ("openai", "malformed", "malformed_response"),
        ("openai", "truncated", "malformed_response"),
        ("openai", "hang", "timeout"),
        ("anthropic", "429", "rate_limited"),
        ("anthropic", "529", "overloaded"),
        ("anthropic", "502", "server_error"),
        ("anthropic", "quota", "quota_exhausted"),
        ("anthropic", "truncated", "malformed_response"),
        ("gemini", "429", "rate_limited"),
        ("gemini", "503", "overloaded"),
        ("gemini", "500", "server_error"),
        ("gemini", "quota", "quota_exhausted"),
        ("gemini", "malformed", "malformed_response"),
    ];
    for (kind, fault, class) in cases {
        let sim = sim().await;
        let protocol = match *kind {
            "openai" => Protocol::OpenAi,
            "anthropic" => Protocol::Anthropic,
            _ => Protocol::Gemini,
        };
        sim.set_faults(protocol, script(fault, 1));
        let mut d = deployment(&sim, kind);
        d.timeout_secs = 1;
        let mut s = Settings::from_figment(Settings::figment(None)).unwrap();
        s.redis.url = redis.url.clone();
        s.redis.namespace = redis.namespace.clone();
        s.provider.max_attempts = 1;
        s.router.max_wait_secs = 0;
        s.router.chain = vec![kind.to_string()];
        s.deployments = [(kind.to_string(), d)].into();
        let r = Router::new(
            &s,
            bacowr_shared::backplane::Backplane::Redis(connect_redis(&s.redis).await.unwrap()),
            PriceTable::embedded(),
        )
        .unwrap();
        let mut calls = Vec::new();
        let result = r.generate(&request(), &mut calls).await;
        assert!(result.is_err(), "{kind} {fault}");
        assert_eq!(calls.len(), 1, "{kind} {fault}: {:?}", outcomes(&calls));
        assert_eq!(calls[0].outcome, *class, "{kind} {fault}: {:?}", calls[0]);
        sim.shutdown().await;
    }
    redis.clean().await;
}

#[tokio::test]
async fn refusals_of_the_request_end_after_one_pass_and_missing_models_fall_back() {
    let (redis, sim) = (TestRedis::create().await, sim().await);
    sim.set_faults(Protocol::OpenAi, script("400", 5));
    sim.set_faults(Protocol::Anthropic, script("400", 5));
    let r = router(
        &redis,
        vec![
            ("gpt", deployment(&sim, "openai")),
            ("claude", deployment(&sim, "anthropic")),
        ],
    )
    .await;
    let started = Instant::now();
    let mut calls = Vec::new();
    assert!(r.generate(&request(), &mut calls).await.is_err());
    assert_eq!(
        outcomes(&calls),
        [
            ("gpt".into(), "bad_request"),
            ("claude".into(), "bad_request")
        ],
        "each deployment asked once, then the job gives up"
    );
    assert!(started.elapsed() < Duration::from_secs(2));

    sim.set_faults(Protocol::Gemini, script("404", 1));
    let r = router(
        &redis,
        vec![
            ("gemini", deployment(&sim, "gemini")),
            ("claude", deployment(&sim, "anthropic")),
        ],
    )
    .await;
    sim.set_faults(Protocol::Anthropic, FaultProfile::default());
    let mut calls = Vec::new();
    r.generate(&request(), &mut calls).await.unwrap();
    assert_eq!(
        outcomes(&calls),
        [
            ("gemini".into(), "model_not_found"),
            ("claude".into(), "ok")
        ]
    );
    redis.clean().await;
}

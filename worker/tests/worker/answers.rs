//! Answers that arrive as HTTP 200 and can't be used: each protocol's own stop reasons and
//! unusable content are failed calls of their deployment (classed, counted by its breaker),
//! retried at most once there, and the job goes on down the chain. Also the fleet-wide
//! breaker: one process's opening keeps every process's calls away.

use std::time::{Duration, Instant};

use bacowr_shared::testing::TestRedis;
use bacowr_worker::router::Route;
use llm_sim::{FaultProfile, Protocol};

use crate::router::{deployment, request, router, sim};

fn content(kind: &str) -> FaultProfile {
    FaultProfile {
        content: [(kind.to_owned(), 1.0)].into(),
        ..FaultProfile::default()
    }
}

fn protocol(kind: &str) -> Protocol {
    match kind {
        "openai" => Protocol::OpenAi,
        "anthropic" => Protocol::Anthropic,
        _ => Protocol::Gemini,
    }
}

/// Every kind of unusable content, in each protocol's shape, gets its class; the job is then
/// written by the next deployment, and the first is not asked a third time.
#[tokio::test]
async fn unusable_answers_are_failed_calls_and_the_chain_goes_on() {
    let redis = TestRedis::create().await;
    let cases = [
        ("prose", "unparseable", 2),
        ("broken_json", "unparseable", 2),
        ("wrong_shape", "wrong_shape", 2),
        ("truncated", "truncated", 2),
        ("empty", "empty_response", 2),
        ("refusal", "content_policy", 1),
        ("safety", "content_policy", 1),
    ];
    for kind in ["openai", "anthropic", "gemini"] {
        let fallback = if kind == "openai" {
            "anthropic"
        } else {
            "openai"
        };
        for (fault, class, calls_there) in cases {
            let sim = sim().await;
            sim.set_faults(protocol(kind), content(fault));
            let r = router(
                &redis,
                vec![
                    ("primary", deployment(&sim, kind)),
                    ("fallback", deployment(&sim, fallback)),
                ],
            )
            .await;
            let mut calls = Vec::new();
            let g = r.generate(&request(), &mut calls).await;
            let seen: Vec<_> = calls
                .iter()
                .map(|c| (c.provider.as_str(), c.outcome))
                .collect();
            assert!(g.is_ok(), "{kind}/{fault}: {seen:?} {g:?}");
            let primary: Vec<_> = calls.iter().filter(|c| c.provider == "primary").collect();
            assert_eq!(primary.len(), calls_there, "{kind}/{fault}: {seen:?}");
            assert!(
                primary
                    .iter()
                    .all(|c| c.outcome == class && c.error.is_some()),
                "{kind}/{fault}: {seen:?}"
            );
            assert!(
                primary
                    .iter()
                    .all(|c| c.error.as_ref().unwrap().len() <= 300),
                "short, body-free errors"
            );
            assert_eq!(calls.last().unwrap().provider, "fallback");
            assert_eq!(calls.last().unwrap().outcome, "ok");
            sim.shutdown().await;
        }
    }
    redis.clean().await;
}

/// A truncated answer is tried once more with a larger output budget, which a real model
/// would then finish within; the retry asks for twice the tokens.
#[tokio::test]
async fn a_truncated_answer_is_retried_once_with_a_larger_budget() {
    let redis = TestRedis::create().await;
    let sim = sim().await;
    sim.set_faults(
        Protocol::OpenAi,
        FaultProfile {
            script: vec![llm_sim::ScriptStep {
                fault: "content:truncated".into(),
                times: 1,
                ..Default::default()
            }],
            ..FaultProfile::default()
        },
    );
    let r = router(&redis, vec![("gpt", deployment(&sim, "openai"))]).await;
    let mut calls = Vec::new();
    r.generate(&request(), &mut calls).await.unwrap();
    let outcomes: Vec<_> = calls.iter().map(|c| c.outcome).collect();
    assert_eq!(outcomes, ["truncated", "ok"]);
    redis.clean().await;
}

/// Only when every deployment gave unusable output does the generation fail, and its error
/// says what each one did; a later generation of the same job skips them at once.
#[tokio::test]
async fn every_deployment_unusable_fails_with_what_each_did() {
    let redis = TestRedis::create().await;
    let sim = sim().await;
    sim.set_faults(Protocol::OpenAi, content("prose"));
    sim.set_faults(Protocol::Anthropic, content("truncated"));
    sim.set_faults(Protocol::Gemini, content("safety"));
    let r = router(
        &redis,
        vec![
            ("gpt", deployment(&sim, "openai")),
            ("claude", deployment(&sim, "anthropic")),
            ("gemini", deployment(&sim, "gemini")),
        ],
    )
    .await;
    let mut route = Route::default();
    let mut calls = Vec::new();
    let stop = bacowr_worker::router::Stop::default();
    let e = r
        .generate_with(&request(), &mut route, &mut calls, &stop, None)
        .await
        .unwrap_err();
    assert!(e.class.is_unusable_output(), "{e:?}");
    for part in [
        "gpt: unparseable",
        "claude: truncated",
        "gemini: content_policy",
    ] {
        assert!(e.message.contains(part), "{}", e.message);
    }
    let made = calls.len();
    assert_eq!(made, 2 + 2 + 1, "one retry each, none after a refusal");
    let again = r
        .generate_with(&request(), &mut route, &mut calls, &stop, None)
        .await;
    assert!(again.is_err());
    assert_eq!(
        calls.len(),
        made,
        "no deployment is asked again for this job"
    );
    redis.clean().await;
}

/// The breaker counts unusable answers: a deployment that only writes prose opens.
#[tokio::test]
async fn unusable_answers_open_the_breaker() {
    let redis = TestRedis::create().await;
    let sim = sim().await;
    sim.set_faults(Protocol::OpenAi, content("prose"));
    let r = router(
        &redis,
        vec![
            ("gpt", deployment(&sim, "openai")),
            ("claude", deployment(&sim, "anthropic")),
        ],
    )
    .await;
    for _ in 0..6 {
        let mut calls = Vec::new();
        r.generate(&request(), &mut calls).await.unwrap();
    }
    let status = r.status();
    let gpt = status.iter().find(|s| s.name == "gpt").unwrap();
    assert_eq!(
        gpt.breaker,
        bacowr_worker::router::breaker::BreakerState::Open,
        "{status:?}"
    );
    assert!(
        sim.served(Protocol::OpenAi).requests < 12,
        "the open breaker kept calls away"
    );
    redis.clean().await;
}

/// Two processes (routers) on one Redis: when one's breaker opens, the other's is open within
/// a second, before it has made a call of its own.
#[tokio::test]
async fn a_breaker_opened_in_one_process_is_open_in_every_process() {
    let redis = TestRedis::create().await;
    let sim = sim().await;
    sim.set_faults(
        Protocol::Anthropic,
        FaultProfile {
            error_rate: 1.0,
            error_status: 529,
            ..FaultProfile::default()
        },
    );
    let chain = || {
        vec![
            ("claude", deployment(&sim, "anthropic")),
            ("gpt", deployment(&sim, "openai")),
        ]
    };
    let (a, b) = (router(&redis, chain()).await, router(&redis, chain()).await);
    let mut calls = Vec::new();
    a.generate(&request(), &mut calls).await.unwrap();
    assert_eq!(calls[0].outcome, "overloaded");
    let opened = Instant::now();
    loop {
        b.sync_breakers().await;
        let claude = b.status().into_iter().find(|s| s.name == "claude").unwrap();
        if claude.breaker == bacowr_worker::router::breaker::BreakerState::Open {
            break;
        }
        assert!(
            opened.elapsed() < Duration::from_secs(1),
            "not shared within 1 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut calls = Vec::new();
    b.generate(&request(), &mut calls).await.unwrap();
    assert_eq!(calls.len(), 1, "b went straight to the fallback: {calls:?}");
    assert_eq!(calls[0].provider, "gpt");
    assert_eq!(
        sim.served(Protocol::Anthropic).requests,
        1,
        "only a's call reached it"
    );
    redis.clean().await;
}

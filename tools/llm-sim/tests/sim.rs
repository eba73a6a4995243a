//! The simulator over real HTTP, as a provider client sees it.

use llm_sim::{SimConfig, spawn};
use serde_json::{Value, json};

#[tokio::test]
async fn answers_chat_completions_with_usage() {
    let sim = spawn(SimConfig {
        api_key: Some("sk-test".into()),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let client = reqwest::Client::new();
    let url = format!("{}/chat/completions", sim.openai_base_url());
    let body = json!({
        "model": "sim-1",
        "messages": [
            {"role": "system", "content": "You write articles."},
            {"role": "user", "content": "Publisher: example.de\nTarget URL: https://shop.de/x\nAnchor text: gute Schuhe\nLanguage: de"}
        ]
    });
    let unauthorized = client.post(&url).json(&body).send().await.unwrap();
    assert_eq!(unauthorized.status(), 401);

    let resp: Value = client
        .post(&url)
        .bearer_auth("sk-test")
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let content = resp["choices"][0]["message"]["content"].as_str().unwrap();
    assert_eq!(
        content.matches("[gute Schuhe](https://shop.de/x)").count(),
        1
    );
    assert!(content.contains("Leser"), "German bank used");
    assert!(resp["usage"]["completion_tokens"].as_u64().unwrap() > 500);
    assert_eq!(sim.requests(), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn speaks_anthropic_and_gemini_with_their_own_auth_and_usage() {
    let sim = spawn(SimConfig {
        api_key: Some("k".into()),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let client = reqwest::Client::new();
    let user = "Publisher: a.se\nTarget URL: https://b.se/x\nAnchor text: bra saker\nLanguage: sv\nAnswer with body_markdown";
    let resp: Value = client
        .post(format!("{}/v1/messages", sim.base_url()))
        .header("x-api-key", "k")
        .header("anthropic-version", "2023-06-01")
        .json(&json!({"model": "claude-x", "max_tokens": 4000, "system": "sys", "messages": [{"role": "user", "content": user}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(resp["type"], "message");
    let text = resp["content"][0]["text"].as_str().unwrap();
    let article: Value = serde_json::from_str(text).unwrap();
    assert!(
        article["body_markdown"]
            .as_str()
            .unwrap()
            .contains("[bra saker](https://b.se/x)")
    );
    assert!(resp["usage"]["output_tokens"].as_u64().unwrap() > 500);

    let gemini = format!("{}/v1beta/models/gemini-x:generateContent", sim.base_url());
    let body = json!({"systemInstruction": {"parts": [{"text": "sys"}]}, "contents": [{"role": "user", "parts": [{"text": user}]}], "generationConfig": {"responseMimeType": "application/json"}});
    let denied = client.post(&gemini).json(&body).send().await.unwrap();
    assert_eq!(
        denied.status(),
        400,
        "Gemini answers a bad key with 400 API_KEY_INVALID"
    );
    let resp: Value = client
        .post(&gemini)
        .header("x-goog-api-key", "k")
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        resp["usageMetadata"]["candidatesTokenCount"]
            .as_u64()
            .unwrap()
            > 500
    );
    assert_eq!(sim.served(llm_sim::Protocol::Gemini).ok, 1);
    assert_eq!(sim.served(llm_sim::Protocol::Anthropic).ok, 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn faults_follow_the_profile_and_the_admin_endpoint() {
    let sim = spawn(SimConfig::default()).await.unwrap();
    let client = reqwest::Client::new();
    let set = json!({"route": "all", "profile": {"script": [{"fault": "429", "times": 1}, {"fault": "529", "times": 1}, {"fault": "quota", "times": 1}], "retry_after_secs": 7}});
    let resp = client
        .post(format!("{}/admin/faults", sim.base_url()))
        .json(&set)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let url = format!("{}/v1/messages", sim.base_url());
    let body =
        json!({"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]});
    let first = client.post(&url).json(&body).send().await.unwrap();
    assert_eq!(first.status(), 429);
    assert_eq!(first.headers()["retry-after"], "7");
    let second = client.post(&url).json(&body).send().await.unwrap();
    assert_eq!(second.status().as_u16(), 529);
    let third: Value = client
        .post(&url)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        third["error"]["message"]
            .as_str()
            .unwrap()
            .contains("credit balance")
    );
    assert_eq!(
        client.post(&url).json(&body).send().await.unwrap().status(),
        200,
        "script over: recovered"
    );
    let stats: Value = client
        .get(format!("{}/admin/stats", sim.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["anthropic"]["faulted"], 3);
    assert_eq!(stats["anthropic"]["ok"], 1);

    // Gemini's rate limit carries RetryInfo.retryDelay.
    sim.set_faults(
        llm_sim::Protocol::Gemini,
        llm_sim::FaultProfile {
            error_rate: 1.0,
            error_status: 429,
            retry_after_secs: Some(12),
            ..Default::default()
        },
    );
    let g: Value = client
        .post(format!(
            "{}/v1beta/models/g:generateContent",
            sim.base_url()
        ))
        .json(&json!({"contents": [{"parts": [{"text": "hi"}]}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(g["error"]["status"], "RESOURCE_EXHAUSTED");
    assert_eq!(g["error"]["details"][1]["retryDelay"], "12s");
    sim.shutdown().await;
}

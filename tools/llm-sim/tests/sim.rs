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

//! What the native-protocol clients (Anthropic, Gemini) share: one reqwest call, its failures
//! classified.

use std::time::Duration;

use serde_json::Value;

use super::error::{ErrorClass, ProviderError, retry_after};

pub fn client(timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(10))
        .build()
}

pub fn transport(e: reqwest::Error) -> ProviderError {
    let class = if e.is_timeout() {
        ErrorClass::Timeout
    } else if e.is_decode() || e.is_body() {
        ErrorClass::Malformed
    } else {
        ErrorClass::Connection
    };
    ProviderError::new(class, e.status().map(|s| s.as_u16()), e.to_string())
}

/// Sends `request` and returns the JSON body of a 2xx answer, or the error with the body's
/// JSON (if any) for the protocol to classify.
pub async fn send(
    request: reqwest::RequestBuilder,
) -> Result<Value, (ProviderError, Option<Value>)> {
    let response = request.send().await.map_err(|e| (transport(e), None))?;
    let status = response.status();
    let hint = retry_after(response.headers());
    let text = response.text().await.map_err(|e| (transport(e), None))?;
    let json: Option<Value> = serde_json::from_str(&text).ok();
    if status.is_success() {
        return json.ok_or_else(|| {
            let cut: String = text.chars().take(200).collect();
            (
                ProviderError::new(
                    ErrorClass::Malformed,
                    Some(status.as_u16()),
                    format!("not JSON: {cut}"),
                ),
                None,
            )
        });
    }
    let message = json
        .as_ref()
        .and_then(|j| j["error"]["message"].as_str())
        .map(str::to_owned)
        .unwrap_or_else(|| text.chars().take(300).collect());
    let mut error = ProviderError::new(
        ErrorClass::from_status(status.as_u16(), &message),
        Some(status.as_u16()),
        format!("HTTP {}: {message}", status.as_u16()),
    );
    error.retry_after = hint;
    Err((error, json))
}

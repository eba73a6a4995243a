//! One signed POST to a receiver through the SSRF guard: http(s) only, no redirects (a
//! receiver that moved must be updated, not followed), a whole-request timeout, and at most
//! 1 KB of the answer kept.

use std::{net::IpAddr, sync::Arc, time::Instant};

use chrono::Utc;

use bacowr_shared::{
    config::WebhookSettings,
    webhooks::{check_url, signing},
};

use super::store::AttemptRecord;
use crate::context::guard::{Cidr, Guard};

/// Most of a receiver's answer kept with the attempt.
const BODY_EXCERPT: usize = 1024;

#[derive(Clone)]
pub struct Sender {
    client: reqwest::Client,
    guard: Guard,
}

impl Sender {
    pub fn new(settings: &WebhookSettings) -> Result<Self, String> {
        let allow = settings
            .allow_hosts
            .iter()
            .map(|s| Cidr::parse(s))
            .collect::<Result<Vec<_>, _>>()?;
        let guard = Guard::new(allow);
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::new(guard.clone()))
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(settings.timeout())
            .connect_timeout(settings.timeout())
            .user_agent(settings.user_agent.clone())
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self { client, guard })
    }

    /// POSTs `body` as message `msg_id`, signed with `secret`. Never errs: what went wrong is
    /// the attempt's `error`.
    pub async fn post(&self, url: &str, secret: &str, msg_id: &str, body: &[u8]) -> AttemptRecord {
        let started_at = Utc::now();
        let clock = Instant::now();
        let result = self.try_post(url, secret, msg_id, body).await;
        let duration_ms = i32::try_from(clock.elapsed().as_millis()).unwrap_or(i32::MAX);
        let (status_code, error, response_body) = match result {
            Ok((status, excerpt)) => {
                let error = (!(200..300).contains(&status)).then(|| format!("HTTP {status}"));
                (Some(status), error, Some(excerpt))
            }
            Err(e) => (None, Some(e), None),
        };
        AttemptRecord {
            started_at,
            duration_ms,
            status_code,
            error,
            response_body,
        }
    }

    async fn try_post(
        &self,
        url: &str,
        secret: &str,
        msg_id: &str,
        body: &[u8],
    ) -> Result<(u16, String), String> {
        let url = check_url(url).map_err(|e| format!("bad URL: {e}"))?;
        // IP literals never reach the resolver, so the guard looks at them here.
        let literal = match url.host() {
            Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            _ => None,
        };
        if let Some(ip) = literal.filter(|ip| !self.guard.permits(*ip)) {
            return Err(format!(
                "refused by the SSRF guard: {ip} is a private or reserved address"
            ));
        }
        let timestamp = Utc::now().timestamp();
        let signature =
            signing::sign(secret, msg_id, timestamp, body).map_err(|e| e.to_string())?;
        let mut response = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header(signing::HEADER_ID, msg_id)
            .header(signing::HEADER_TIMESTAMP, timestamp.to_string())
            .header(signing::HEADER_SIGNATURE, signature)
            .body(body.to_vec())
            .send()
            .await
            .map_err(describe)?;
        let status = response.status().as_u16();
        let mut kept = Vec::new();
        // The status decides; a body that breaks off or never ends costs no more than 1 KB.
        while kept.len() < BODY_EXCERPT {
            match response.chunk().await {
                Ok(Some(chunk)) => kept.extend_from_slice(&chunk),
                Ok(None) | Err(_) => break,
            }
        }
        Ok((status, excerpt(&kept)))
    }
}

/// At most [`BODY_EXCERPT`] bytes of text, cut on a character boundary.
fn excerpt(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(BODY_EXCERPT)]);
    let mut end = text.len().min(BODY_EXCERPT);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// The error with its causes: the guard's refusal arrives wrapped in a connect error.
fn describe(e: reqwest::Error) -> String {
    if e.is_timeout() {
        return "timed out".to_owned();
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text = format!("{text}: {more}");
        }
        source = s.source();
    }
    if text.contains("private or reserved") {
        text = format!("refused by the SSRF guard: {text}");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_stay_within_a_kilobyte() {
        assert_eq!(excerpt(b"ok"), "ok");
        let long = "é".repeat(800);
        let cut = excerpt(long.as_bytes());
        assert!(cut.len() <= BODY_EXCERPT && cut.chars().all(|c| c == 'é'));
        assert!(excerpt(&[0xff; 2000]).len() <= BODY_EXCERPT);
    }
}

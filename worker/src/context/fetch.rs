//! The guarded HTTP client: timeouts, a body cap, at most N redirects (each hop checked by the
//! guard), HTML only for pages. Used for context pages and for trust-link checks alike.

use std::{net::IpAddr, sync::Arc, time::Duration};

use reqwest::{StatusCode, Url, header};

use super::guard::{Cidr, Guard};
use bacowr_shared::config::ContextSettings;

#[derive(Debug, Clone, thiserror::Error)]
pub enum FetchError {
    #[error("refused by the SSRF guard: {0}")]
    Refused(String),
    #[error("unreachable: {0}")]
    Network(String),
    #[error("answered HTTP {0}")]
    Status(u16),
    #[error("not an HTML page ({0})")]
    NotHtml(String),
    #[error("more than {0} redirects")]
    TooManyRedirects(usize),
    #[error("not an http(s) URL: {0}")]
    BadUrl(String),
}

#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    guard: Guard,
    max_redirects: usize,
    max_body_bytes: usize,
    /// `context.simulate_web`: where every request goes instead, when set.
    simulate_web: Option<Url>,
}

#[derive(Debug)]
pub struct Page {
    pub final_url: Url,
    pub html: String,
}

impl Fetcher {
    pub fn new(settings: &ContextSettings) -> Result<Self, String> {
        let allow = settings
            .allow_hosts
            .iter()
            .map(|s| Cidr::parse(s))
            .collect::<Result<Vec<_>, _>>()?;
        let guard = Guard::new(allow);
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::new(guard.clone()))
            .no_proxy()
            // Redirects are followed by hand so every hop passes the guard.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_millis(settings.connect_timeout_ms))
            .read_timeout(Duration::from_millis(settings.read_timeout_ms))
            .timeout(Duration::from_millis(settings.total_timeout_ms))
            .user_agent(settings.user_agent.clone())
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self {
            client,
            guard,
            max_redirects: settings.max_redirects,
            max_body_bytes: settings.max_body_bytes,
            simulate_web: (!settings.simulate_web.is_empty())
                .then(|| Url::parse(&settings.simulate_web))
                .transpose()
                .map_err(|e| format!("context.simulate_web: {e}"))?,
        })
    }

    fn check_url(&self, url: &Url) -> Result<(), FetchError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(FetchError::BadUrl(url.to_string()));
        }
        // IP literals never reach the resolver, so the guard looks at them here.
        let literal = match url.host() {
            Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            Some(url::Host::Domain(_)) => None,
            None => return Err(FetchError::BadUrl(url.to_string())),
        };
        match literal {
            Some(ip) if !self.guard.permits(ip) => Err(FetchError::Refused(format!(
                "{ip} is a private or reserved address"
            ))),
            _ => Ok(()),
        }
    }

    /// Where a request for `url` goes: the URL itself, or its page on the simulated web
    /// (`{simulate_web}/web/{scheme}/{host}{path}?{query}`).
    fn destination(&self, url: &Url) -> Url {
        let Some(base) = &self.simulate_web else {
            return url.clone();
        };
        let mut to = base.clone();
        to.set_path(&format!(
            "/web/{}/{}{}",
            url.scheme(),
            url.host_str().unwrap_or_default(),
            url.path()
        ));
        to.set_query(url.query());
        to
    }

    /// The response to `url` and the URL it finally came from, after redirects.
    async fn get(&self, url: &str) -> Result<(Url, reqwest::Response), FetchError> {
        let mut url = Url::parse(url).map_err(|_| FetchError::BadUrl(url.to_owned()))?;
        for _ in 0..=self.max_redirects {
            self.check_url(&url)?;
            let response = self
                .client
                .get(self.destination(&url))
                .send()
                .await
                .map_err(classify)?;
            if !response.status().is_redirection() {
                return Ok((url, response));
            }
            let Some(location) = response
                .headers()
                .get(header::LOCATION)
                .and_then(|v| v.to_str().ok())
            else {
                return Ok((url, response));
            };
            url = url
                .join(location)
                .map_err(|_| FetchError::BadUrl(location.to_owned()))?;
        }
        Err(FetchError::TooManyRedirects(self.max_redirects))
    }

    /// An HTML page, its body cut at the size cap.
    pub async fn page(&self, url: &str) -> Result<Page, FetchError> {
        let (final_url, mut response) = self.get(url).await?;
        if response.status() != StatusCode::OK {
            return Err(FetchError::Status(response.status().as_u16()));
        }
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        if !(content_type.starts_with("text/html") || content_type.starts_with("application/xhtml"))
        {
            return Err(FetchError::NotHtml(content_type));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(classify)? {
            let room = self.max_body_bytes.saturating_sub(body.len());
            body.extend_from_slice(&chunk[..room.min(chunk.len())]);
            if body.len() >= self.max_body_bytes {
                break;
            }
        }
        Ok(Page {
            final_url,
            html: String::from_utf8_lossy(&body).into_owned(),
        })
    }

    /// The final status of a GET after redirects (the body is not read).
    pub async fn probe(&self, url: &str) -> Result<u16, FetchError> {
        Ok(self.get(url).await?.1.status().as_u16())
    }
}

fn classify(e: reqwest::Error) -> FetchError {
    // The resolver's refusal arrives wrapped in a connect error; keep its words.
    let mut source: Option<&dyn std::error::Error> = Some(&e);
    while let Some(s) = source {
        let text = s.to_string();
        if text.contains("private or reserved") {
            return FetchError::Refused(text);
        }
        source = s.source();
    }
    FetchError::Network(e.to_string())
}

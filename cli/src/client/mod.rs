//! A typed client for the BACOWR HTTP API (the routes the CLI uses, checked against
//! `openapi/openapi.json` by the tests). Transient failures (no connection, 429, 502-504)
//! are retried with backoff; submissions carry an `Idempotency-Key`, so a retried submission
//! never creates a second batch.

pub mod models;
mod wire;

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use reqwest::{Method, RequestBuilder, Response, header};
use serde::de::DeserializeOwned;

use crate::exit::CliError;
use models::{
    BatchView, BulkReviewBody, BulkReviewResult, JobPage, JobView, ProvidersView, ReviewItemPage,
    ReviewItemView,
};
use wire::{READ_TIMEOUT, Replay, attachment_name, causes, check, segment, transient};

/// Every (method, path template) this client calls: the spec test checks each exists.
pub const ROUTES: &[(&str, &str)] = &[
    ("post", "/api/v1/batches"),
    ("get", "/api/v1/batches/{batch_id}"),
    ("get", "/api/v1/batches/{batch_id}/jobs"),
    ("get", "/api/v1/batches/{batch_id}/items"),
    ("post", "/api/v1/batches/{batch_id}/items/{item_id}/review"),
    ("post", "/api/v1/batches/{batch_id}/review"),
    ("get", "/api/v1/batches/{batch_id}/export"),
    ("get", "/api/v1/providers"),
];

/// Export formats the server offers (`Format` in the spec).
pub const EXPORT_FORMATS: &[&str] = &["json", "csv", "markdown", "html", "docx"];

#[derive(Clone)]
pub struct Client {
    base: String,
    key: String,
    http: reqwest::Client,
}

/// Options of a CSV submission (the query parameters of `POST /batches`).
#[derive(Debug, Default, Clone)]
pub struct SubmitOptions {
    pub providers: Option<String>,
    pub qc_profile: Option<String>,
    pub default_language: Option<String>,
    pub idempotency_key: Option<String>,
}

/// A page of a cursor-paginated list.
trait Page: DeserializeOwned {
    type Item;
    fn into_parts(self) -> (Vec<Self::Item>, Option<String>);
}

impl Page for JobPage {
    type Item = JobView;
    fn into_parts(self) -> (Vec<JobView>, Option<String>) {
        (self.items, self.next_cursor)
    }
}

impl Page for ReviewItemPage {
    type Item = ReviewItemView;
    fn into_parts(self) -> (Vec<ReviewItemView>, Option<String>) {
        (self.items, self.next_cursor)
    }
}

/// A downloaded export.
pub struct Download {
    pub file_name: String,
    pub bytes: Vec<u8>,
}

impl Client {
    pub fn new(server: &str, key: &str) -> Result<Self, CliError> {
        let url = url::Url::parse(server)
            .map_err(|e| CliError::Input(format!("--server {server:?} is not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(CliError::Input(format!(
                "--server {server:?} must be an http:// or https:// URL"
            )));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(300))
            .user_agent(concat!("bacowr-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| CliError::Local(format!("HTTP client: {e}")))?;
        Ok(Self {
            base: server.trim_end_matches('/').to_owned(),
            key: key.to_owned(),
            http,
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if !self.key.is_empty() {
            req = req.bearer_auth(&self.key);
        }
        req
    }

    /// Sends what `build` makes. A request that never left (no connection) and a 429 are sent
    /// again; other transient failures (timeouts, 502-504) only when `replay` says the request
    /// is safe to repeat: a review decision whose answer was lost may already be applied.
    /// A 429's `Retry-After` is honoured (up to a minute).
    async fn send(
        &self,
        replay: Replay,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<Response, CliError> {
        let mut delays = ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(300))
            .with_max_delay(Duration::from_secs(5))
            .with_max_times(4)
            .with_jitter()
            .build();
        loop {
            let err = match build().send().await {
                Ok(response) => match check(response).await {
                    Ok(response) => return Ok(response),
                    Err(e) => e,
                },
                Err(e) if e.is_connect() => CliError::NotSent(causes(&e)),
                Err(e) => CliError::Unreachable(causes(&e)),
            };
            let again = match &err {
                CliError::NotSent(_) => true,
                e if e.status() == Some(429) => true,
                e => replay == Replay::Safe && transient(e),
            };
            let Some(delay) = delays.next().filter(|_| again) else {
                return Err(err);
            };
            let hinted = err.retry_after().map(|s| Duration::from_secs(s.min(60)));
            tokio::time::sleep(hinted.unwrap_or(delay)).await;
        }
    }

    async fn json<T: DeserializeOwned>(
        &self,
        replay: Replay,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<T, CliError> {
        let response = self.send(replay, build).await?;
        let status = response.status().as_u16();
        let text = response
            .text()
            .await
            .map_err(|e| CliError::Unreachable(e.to_string()))?;
        serde_json::from_str(&text).map_err(|e| CliError::ServerText {
            status,
            text: format!("unexpected answer ({e}): {text}"),
            retry_after: None,
        })
    }

    /// `POST /api/v1/batches` with a CSV body.
    pub async fn submit_csv(
        &self,
        csv: Vec<u8>,
        options: &SubmitOptions,
    ) -> Result<BatchView, CliError> {
        let key = options
            .idempotency_key
            .clone()
            .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
        let mut query = Vec::new();
        for (name, value) in [
            ("providers", &options.providers),
            ("qc_profile", &options.qc_profile),
            ("default_language", &options.default_language),
        ] {
            if let Some(v) = value {
                query.push((name, v.clone()));
            }
        }
        self.json(Replay::Safe, || {
            self.request(Method::POST, "/api/v1/batches")
                .query(&query)
                .header(header::CONTENT_TYPE, "text/csv; charset=utf-8")
                .header("Idempotency-Key", &key)
                .body(csv.clone())
        })
        .await
    }

    /// `POST /api/v1/batches` with a JSON body (`SubmitBatch`).
    pub async fn submit_json(
        &self,
        body: &serde_json::Value,
        idempotency_key: Option<&str>,
    ) -> Result<BatchView, CliError> {
        let key = idempotency_key
            .map(str::to_owned)
            .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
        self.json(Replay::Safe, || {
            self.request(Method::POST, "/api/v1/batches")
                .header("Idempotency-Key", &key)
                .json(body)
        })
        .await
    }

    pub async fn batch(&self, batch_id: &str) -> Result<BatchView, CliError> {
        let path = format!("/api/v1/batches/{}", segment(batch_id));
        self.json(Replay::Safe, || {
            self.request(Method::GET, &path).timeout(READ_TIMEOUT)
        })
        .await
    }

    /// Every page of a list (`items` + `next_cursor`), following the cursor.
    async fn all_pages<P: Page>(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<Vec<P::Item>, CliError> {
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page: P = self
                .json(Replay::Safe, || {
                    let req = self
                        .request(Method::GET, path)
                        .timeout(READ_TIMEOUT)
                        .query(&[("limit", "200")]);
                    let req = req.query(query);
                    match &cursor {
                        Some(c) => req.query(&[("cursor", c)]),
                        None => req,
                    }
                })
                .await?;
            let (items, next) = page.into_parts();
            all.extend(items);
            match next {
                Some(next) => cursor = Some(next),
                None => return Ok(all),
            }
        }
    }

    /// Every job of a batch, in sheet order.
    pub async fn jobs(&self, batch_id: &str) -> Result<Vec<JobView>, CliError> {
        let path = format!("/api/v1/batches/{}/jobs", segment(batch_id));
        self.all_pages::<JobPage>(&path, &[]).await
    }

    /// Every review item of a batch in sheet order, optionally only those in `status`.
    pub async fn items(
        &self,
        batch_id: &str,
        status: Option<&str>,
    ) -> Result<Vec<ReviewItemView>, CliError> {
        let path = format!("/api/v1/batches/{}/items", segment(batch_id));
        let mut query = vec![("sort", "row")];
        if let Some(s) = status {
            query.push(("status", s));
        }
        self.all_pages::<ReviewItemPage>(&path, &query).await
    }

    pub async fn review_bulk(
        &self,
        batch_id: &str,
        body: &BulkReviewBody,
    ) -> Result<BulkReviewResult, CliError> {
        let path = format!("/api/v1/batches/{}/review", segment(batch_id));
        self.json(Replay::IfUnsent, || {
            self.request(Method::POST, &path).json(body)
        })
        .await
    }

    pub async fn review_item(
        &self,
        batch_id: &str,
        item_id: &str,
        decision: &str,
        notes: Option<&str>,
    ) -> Result<ReviewItemView, CliError> {
        let path = format!(
            "/api/v1/batches/{}/items/{}/review",
            segment(batch_id),
            segment(item_id)
        );
        let body = serde_json::json!({ "decision": decision, "notes": notes });
        self.json(Replay::IfUnsent, || {
            self.request(Method::POST, &path).json(&body)
        })
        .await
    }

    pub async fn export(&self, batch_id: &str, format: &str) -> Result<Download, CliError> {
        let path = format!("/api/v1/batches/{}/export", segment(batch_id));
        let response = self
            .send(Replay::Safe, || {
                self.request(Method::GET, &path)
                    .query(&[("format", format)])
            })
            .await?;
        let file_name = response
            .headers()
            .get(header::CONTENT_DISPOSITION)
            .and_then(|v| v.to_str().ok())
            .and_then(attachment_name)
            .unwrap_or_else(|| {
                let ext = match format {
                    "json" | "csv" => format,
                    _ => "zip",
                };
                format!("{batch_id}_{format}.{ext}")
            });
        let bytes = response
            .bytes()
            .await
            .map_err(|e| CliError::Unreachable(e.to_string()))?;
        Ok(Download {
            file_name,
            bytes: bytes.to_vec(),
        })
    }

    pub async fn providers(&self) -> Result<ProvidersView, CliError> {
        self.json(Replay::Safe, || {
            self.request(Method::GET, "/api/v1/providers")
                .timeout(READ_TIMEOUT)
        })
        .await
    }
}

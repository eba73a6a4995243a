//! What the writer knows about the two pages: the target (the client page that gets the link)
//! and the publisher's home page. Fetched through an SSRF-guarded client, extracted, and cached
//! per URL in Redis. An unreachable page is not fatal: the job goes on and the report says so.

mod cache;
pub mod extract;
pub mod fetch;
pub mod guard;
mod trust;

use serde::{Deserialize, Serialize};

use bacowr_shared::entities::job;

use crate::handler::WorkerState;

pub use fetch::Fetcher;
pub use trust::{TrustLinkCheck, Verified};

/// The readable essentials of one HTML page.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PageSummary {
    pub url: String,
    pub title: Option<String>,
    pub description: Option<String>,
    pub h1: Option<String>,
    /// Up to 10 H2/H3 headings.
    pub headings: Vec<String>,
    /// The main text, cut to a few hundred words.
    pub excerpt: String,
    /// `<html lang>` (primary subtag), if declared.
    pub language: Option<String>,
    /// Absolute http(s) links to other sites.
    pub outbound_links: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Context {
    pub target: Option<PageSummary>,
    pub publisher: Option<PageSummary>,
    /// What could not be fetched, and why.
    pub notes: Vec<String>,
}

/// Fetches (or reads from cache) the target page and the publisher's home page.
pub async fn gather(state: &WorkerState, job: &job::Model) -> Context {
    let mut context = Context::default();
    if !state.settings.context.enabled {
        context.notes.push("context fetching is disabled".into());
        return context;
    }
    let publisher_home = format!("https://{}/", job.publisher_domain);
    let (target, publisher) = tokio::join!(
        summary(state, &job.target_url),
        summary(state, &publisher_home)
    );
    match target {
        Ok(p) => context.target = Some(p),
        Err(e) => context
            .notes
            .push(format!("target page {}: {e}", job.target_url)),
    }
    match publisher {
        Ok(p) => context.publisher = Some(p),
        Err(e) => context
            .notes
            .push(format!("publisher home page {publisher_home}: {e}")),
    }
    context
}

async fn summary(state: &WorkerState, url: &str) -> Result<PageSummary, String> {
    let settings = &state.settings.context;
    let key = cache::key(&state.settings.redis.namespace, "page", url);
    cache::through(
        &state.backplane,
        &key,
        settings.cache_ttl_secs,
        settings.failure_cache_ttl_secs,
        async {
            let page = state.fetcher.page(url).await.map_err(|e| e.to_string())?;
            tokio::task::spawn_blocking(move || extract::summarise(&page.html, &page.final_url))
                .await
                .map_err(|e| e.to_string())
        },
    )
    .await
}

/// Deep links on other sites, from the two pages, offered to the model as sources.
pub async fn trust_candidates(
    state: &WorkerState,
    context: &Context,
    job: &job::Model,
) -> Vec<String> {
    trust::candidates(state, context, job, 5).await
}

/// Releases trust-link reservations of replaced drafts.
pub async fn release_trust_links(
    state: &WorkerState,
    job: &job::Model,
    reserved: &[String],
    used: &[String],
) {
    trust::release_unused(state, job, reserved, used).await;
}

/// Keeps the article's trust links that pass every rule; the rest become plain text.
pub async fn verify_trust_links(state: &WorkerState, job: &job::Model, body: &str) -> Verified {
    trust::verify(state, job, body).await
}

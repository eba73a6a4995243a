//! Trust links: the model's sources are kept only if they are deep links on other sites, not
//! on the avoid-list, answer 200 through the guarded client, and were not already given to the
//! same publisher in this batch. Links that fail are turned into plain text.

use serde::Serialize;
use url::Url;

use bacowr_shared::entities::job;

use super::{Context, cache};
use crate::{
    handler::WorkerState,
    qc::{autofix, is_deep, markdown::find_links, same_site},
};

#[derive(Debug, Clone, Serialize)]
pub struct TrustLinkCheck {
    pub url: String,
    pub kept: bool,
    pub reason: String,
}

pub struct Verified {
    pub body_markdown: String,
    pub links: Vec<TrustLinkCheck>,
}

fn host(url: &str) -> Option<String> {
    Url::parse(url)
        .ok()?
        .host_str()
        .map(|h| h.trim_start_matches("www.").to_ascii_lowercase())
}

fn acceptable(url: &str, job: &job::Model, avoid: &[String]) -> Result<(), String> {
    let h = host(url).ok_or("not an absolute http(s) URL")?;
    let target = host(&job.target_url).unwrap_or_default();
    let publisher = job.publisher_domain.trim_start_matches("www.");
    if same_site(&h, &target) {
        return Err("on the target's site".into());
    }
    if same_site(&h, publisher) {
        return Err("on the publisher's site".into());
    }
    if avoid.iter().any(|a| same_site(&h, a)) {
        return Err("on the avoid-list".into());
    }
    if !is_deep(url) {
        return Err("a home page, not a deep link".into());
    }
    Ok(())
}

/// Deep, external links from the two pages that answer 200 now, for the prompt, leaving out
/// those another job of the same publisher in this batch already uses. Verified before the
/// first call: a job with none can't be helped by regenerating for its trust links.
pub async fn candidates(
    state: &WorkerState,
    context: &Context,
    job: &job::Model,
    max: usize,
) -> Vec<String> {
    let avoid = &state.settings.context.trust_link_avoid;
    let mut acceptable_links: Vec<&String> = Vec::new();
    let links = [&context.target, &context.publisher]
        .into_iter()
        .flatten()
        .flat_map(|p| p.outbound_links.iter());
    for url in links {
        // Twice as many as wanted are probed, so a few dead links still leave enough.
        if acceptable_links.len() >= max * 2
            || acceptable_links.contains(&url)
            || acceptable(url, job, avoid).is_err()
        {
            continue;
        }
        if taken_by_other(state, job, url).await {
            continue;
        }
        acceptable_links.push(url);
    }
    let probes = acceptable_links.iter().map(|u| answers_200(state, u));
    let answers = futures::future::join_all(probes).await;
    acceptable_links
        .into_iter()
        .zip(answers)
        .filter(|(_, a)| a.is_ok())
        .map(|(u, _)| u.clone())
        .take(max)
        .collect()
}

fn reservation_key(state: &WorkerState, batch_id: uuid::Uuid, publisher: &str) -> String {
    format!(
        "{}:trust:{batch_id}:{publisher}",
        state.settings.redis.namespace
    )
}

async fn taken_by_other(state: &WorkerState, job: &job::Model, url: &str) -> bool {
    let Some(batch_id) = job.batch_id else {
        return false;
    };
    let owner = state
        .backplane
        .field(
            &reservation_key(state, batch_id, &job.publisher_domain),
            url,
        )
        .await
        .unwrap_or(None);
    owner.is_some_and(|o| o != job.id.to_string())
}

async fn answers_200(state: &WorkerState, url: &str) -> Result<(), String> {
    let settings = &state.settings.context;
    let key = cache::key(&state.settings.redis.namespace, "probe", url);
    // Anything but a 200 (a 429 or 503 included) is a failure, cached only briefly.
    cache::through(
        &state.backplane,
        &key,
        settings.cache_ttl_secs,
        settings.failure_cache_ttl_secs,
        async {
            match state.fetcher.probe(url).await {
                Ok(200) => Ok(()),
                Ok(status) => Err(format!("answered HTTP {status}")),
                Err(e) => Err(e.to_string()),
            }
        },
    )
    .await
}

/// Gives back the reservations this job made for links its stored article does not use
/// (links of drafts that were replaced by a regeneration).
pub async fn release_unused(
    state: &WorkerState,
    job: &job::Model,
    reserved: &[String],
    used: &[String],
) {
    let Some(batch_id) = job.batch_id else {
        return;
    };
    let key = reservation_key(state, batch_id, &job.publisher_domain);
    let me = job.id.to_string();
    for url in reserved.iter().filter(|u| !used.contains(u)) {
        if let Err(e) = state.backplane.release_field(&key, url, &me).await {
            tracing::debug!(error = %e, "trust-link reservation not released; it expires");
        }
    }
}

/// Reserves `url` for this job's publisher within its batch; another job of the same publisher
/// that already holds it wins.
async fn reserve(state: &WorkerState, job: &job::Model, url: &str) -> Result<(), String> {
    let Some(batch_id) = job.batch_id else {
        return Ok(());
    };
    let key = reservation_key(state, batch_id, &job.publisher_domain);
    let me = job.id.to_string();
    let ttl = std::time::Duration::from_secs(60 * 60 * 24 * 30);
    match state.backplane.claim_field(&key, url, &me, ttl).await {
        Ok(Some(owner)) if owner != me => {
            Err("already used for this publisher in this batch".into())
        }
        _ => Ok(()),
    }
}

pub async fn verify(state: &WorkerState, job: &job::Model, body: &str) -> Verified {
    let avoid = &state.settings.context.trust_link_avoid;
    let mut checks: Vec<TrustLinkCheck> = Vec::new();
    let mut out = Vec::new();
    for line in body.lines() {
        let mut fixed = String::new();
        let mut cursor = 0;
        for (start, end, text, url) in find_links(line) {
            fixed.push_str(&line[cursor..start]);
            cursor = end;
            if autofix::is_anchor_like(&text, &url, &job.anchor_text, &job.target_url) {
                // Autofix restores or drops it; it is not a source.
                fixed.push_str(&line[start..end]);
                continue;
            }
            let verdict = match checks.iter().find(|c| c.url == url) {
                Some(c) if c.kept => Ok(()),
                Some(c) => Err(c.reason.clone()),
                None => {
                    let v = match acceptable(&url, job, avoid) {
                        Err(e) => Err(e),
                        Ok(()) => match answers_200(state, &url).await {
                            Err(e) => Err(e),
                            Ok(()) => reserve(state, job, &url).await,
                        },
                    };
                    checks.push(TrustLinkCheck {
                        url: url.clone(),
                        kept: v.is_ok(),
                        reason: v
                            .as_ref()
                            .err()
                            .cloned()
                            .unwrap_or_else(|| "answered 200".into()),
                    });
                    v
                }
            };
            match verdict {
                Ok(()) => fixed.push_str(&line[start..end]),
                Err(_) => fixed.push_str(&text),
            }
        }
        fixed.push_str(&line[cursor..]);
        out.push(fixed);
    }
    Verified {
        body_markdown: out.join("\n"),
        links: checks,
    }
}

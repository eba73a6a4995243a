//! Live progress of one batch: a bar per outcome (done, needs review, failed) under an overall
//! bar, cost and tokens so far, the provider in use and the calls that went to fallbacks.
//! Polls the API (any server, any client can do the same); on a terminal it redraws in place,
//! elsewhere it prints a line now and then. A server that is briefly away (a deploy, a 503) is
//! waited for; only `--timeout` or a definite refusal (401, 403, 404) ends the watch early.

use std::{
    collections::HashMap,
    io::IsTerminal,
    time::{Duration, Instant},
};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::{
    client::{
        Client,
        models::{BatchView, ProvidersView},
    },
    exit::CliError,
};

pub struct WatchOptions {
    /// How often the batch is read. The default per-key rate limit is 100 requests a minute;
    /// a watch should leave most of it to the agency's other calls.
    pub interval: Duration,
    /// How often the provider line is refreshed (needs a key that may read `/providers`).
    pub providers_every: Option<Duration>,
    /// Give up (exit 9) when the batch is still generating after this long.
    pub timeout: Option<Duration>,
}

impl Default for WatchOptions {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(2),
            providers_every: Some(Duration::from_secs(5)),
            timeout: None,
        }
    }
}

/// What the provider line shows, from successive `/providers` readings.
#[derive(Default)]
pub struct ProviderTrack {
    last_ok: HashMap<String, i64>,
    pub in_use: Option<String>,
    /// Calls on deployments after the batch's first (the organization's, last 15 minutes).
    pub fallback_calls: i64,
    pub breakers_opened: Vec<String>,
    pub line: String,
}

impl ProviderTrack {
    /// `primary`: the batch's first deployment, when it names its own chain.
    pub fn update(&mut self, view: &ProvidersView, primary: Option<&str>) {
        let primary = primary.or(view.deployments.first().map(|d| d.name.as_str()));
        let mut busiest: Option<(i64, &str)> = None;
        let mut parts = Vec::new();
        let mut fallback = 0;
        for d in &view.deployments {
            // "In use" is where calls succeed: a failing primary is called, but not used.
            let ok = (d.recent_calls as f64 * d.recent_success_rate.unwrap_or(0.0)).round() as i64;
            let before = self.last_ok.insert(d.name.clone(), ok).unwrap_or(0);
            let delta = ok - before;
            if delta > 0 && busiest.is_none_or(|(b, _)| delta > b) {
                busiest = Some((delta, &d.name));
            }
            if Some(d.name.as_str()) != primary {
                fallback += d.recent_calls;
            }
            let breaker = if d.breakers.open > 0 {
                if !self.breakers_opened.contains(&d.name) {
                    self.breakers_opened.push(d.name.clone());
                }
                " (breaker OPEN)"
            } else if d.breakers.half_open > 0 {
                " (breaker half-open)"
            } else {
                ""
            };
            parts.push(format!("{} {}{breaker}", d.name, d.recent_calls));
        }
        if let Some((_, name)) = busiest {
            self.in_use = Some(name.to_owned());
        }
        self.fallback_calls = fallback;
        self.line = format!(
            "calls (15 min): {} | in use: {} | on fallbacks: {fallback}",
            parts.join(" · "),
            self.in_use.as_deref().unwrap_or("-"),
        );
    }
}

fn status_line(b: &BatchView) -> String {
    let c = &b.counts;
    format!(
        "{} · queued {} · running {} · regenerating {} | ${:.4} · {} tokens",
        b.status,
        c.queued,
        c.running,
        b.review.regenerating,
        b.cost_usd,
        b.tokens_in + b.tokens_out
    )
}

fn finished(b: &BatchView) -> i64 {
    let c = &b.counts;
    c.succeeded + c.needs_review + c.failed + c.cancelled
}

fn bar(multi: &MultiProgress, label: &str, color: &str) -> ProgressBar {
    let bar = multi.add(ProgressBar::new(0));
    let template = format!("{{prefix:>13}} [{{bar:40.{color}/white}}] {{pos}}/{{len}}");
    bar.set_style(
        ProgressStyle::with_template(&template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_prefix(label.to_owned());
    bar
}

/// The bars and lines of one watch.
struct Display {
    tty: bool,
    overall: ProgressBar,
    outcomes: [ProgressBar; 3],
    status: ProgressBar,
    providers: ProgressBar,
    last_print: Option<Instant>,
}

impl Display {
    fn new(batch_id: &str) -> Self {
        let tty = std::io::stderr().is_terminal();
        let multi = MultiProgress::with_draw_target(if tty {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        });
        if tty {
            eprintln!("following {batch_id}");
        }
        Self {
            tty,
            overall: bar(&multi, "finished", "cyan"),
            outcomes: [
                bar(&multi, "done", "green"),
                bar(&multi, "needs review", "yellow"),
                bar(&multi, "failed", "red"),
            ],
            status: multi.add(ProgressBar::new_spinner()),
            providers: multi.add(ProgressBar::new_spinner()),
            last_print: None,
        }
    }

    fn show(&mut self, b: &BatchView, track: &ProviderTrack, done: bool) {
        let total = b.total_jobs.max(0) as u64;
        let c = &b.counts;
        for (bar, n) in [
            (&self.overall, finished(b)),
            (&self.outcomes[0], c.succeeded),
            (&self.outcomes[1], c.needs_review),
            (&self.outcomes[2], c.failed),
        ] {
            bar.set_length(total);
            bar.set_position(n.max(0) as u64);
        }
        self.status.set_message(status_line(b));
        self.providers.set_message(track.line.clone());
        let due = self
            .last_print
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(5));
        if !self.tty && (done || due) {
            self.last_print = Some(Instant::now());
            eprintln!(
                "{}: {}/{} finished (done {}, needs review {}, failed {}) | {}{}",
                b.id,
                finished(b),
                b.total_jobs,
                c.succeeded,
                c.needs_review,
                c.failed,
                status_line(b),
                if track.line.is_empty() {
                    String::new()
                } else {
                    format!(" | {}", track.line)
                }
            );
        }
    }

    fn finish(&self) {
        for bar in [&self.overall, &self.status, &self.providers]
            .into_iter()
            .chain(&self.outcomes)
        {
            bar.finish();
        }
    }
}

/// Nothing will be written until a reviewer asks: every job has finished and no
/// regeneration is under way (or the batch was cancelled).
pub fn generation_finished(b: &BatchView) -> bool {
    b.status == "cancelled"
        || (b.counts.queued == 0
            && b.counts.running == 0
            && b.review.regenerating == 0
            && !matches!(b.status.as_str(), "queued" | "running"))
}

/// A refusal that waiting won't change.
fn definite(e: &CliError) -> bool {
    matches!(e.status(), Some(400 | 401 | 403 | 404 | 410))
}

/// Polls until nothing more is being generated; returns the last reading and the provider
/// history. `--timeout` bounds the whole watch, however slow or absent the server is.
pub async fn watch(
    client: &Client,
    batch_id: &str,
    options: &WatchOptions,
) -> Result<(BatchView, ProviderTrack), CliError> {
    let follow = follow(client, batch_id, options);
    match options.timeout {
        Some(limit) => tokio::time::timeout(limit, follow)
            .await
            .unwrap_or_else(|_| {
                Err(CliError::TimedOut(format!(
                    "batch {batch_id} still generating after {}s; it goes on on the server",
                    limit.as_secs()
                )))
            }),
        None => follow.await,
    }
}

async fn follow(
    client: &Client,
    batch_id: &str,
    options: &WatchOptions,
) -> Result<(BatchView, ProviderTrack), CliError> {
    let mut display = Display::new(batch_id);
    let mut track = ProviderTrack::default();
    let mut providers_every = options.providers_every;
    let mut last_providers: Option<Instant> = None;
    let mut away_since: Option<Instant> = None;
    loop {
        let batch = match client.batch(batch_id).await {
            Ok(batch) => batch,
            Err(e) if definite(&e) => return Err(e),
            Err(e) => {
                // Keep waiting through outages; say so once a minute.
                let since = *away_since.get_or_insert_with(Instant::now);
                if since.elapsed() < options.interval * 2
                    || since.elapsed().as_secs() % 60 < options.interval.as_secs().max(1)
                {
                    eprintln!("still waiting for the server: {e}");
                }
                tokio::time::sleep(options.interval).await;
                continue;
            }
        };
        away_since = None;
        let done = generation_finished(&batch);
        if let Some(every) = providers_every
            && (done || last_providers.is_none_or(|t| t.elapsed() >= every))
        {
            last_providers = Some(Instant::now());
            let primary = batch.providers.as_ref().and_then(|p| p.first());
            match client.providers().await {
                Ok(view) => track.update(&view, primary.map(String::as_str)),
                // A key without the scope, a proxy without the route: the rest still works.
                Err(e) if definite(&e) => providers_every = None,
                Err(_) => {}
            }
        }
        display.show(&batch, &track, done);
        if done {
            display.finish();
            return Ok((batch, track));
        }
        tokio::time::sleep(options.interval).await;
    }
}

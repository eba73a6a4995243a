//! Live progress of one batch: a progress bar per status, cost and tokens so far, the provider
//! in use and the calls that went to fallbacks. Polls the API (any server, any client can do
//! the same); on a terminal it redraws in place, elsewhere it prints a line now and then.

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
    pub interval: Duration,
    /// Show the provider line (needs a key that may read `/providers`).
    pub providers: bool,
    /// Give up (exit 7) when the batch is still generating after this long.
    pub timeout: Option<Duration>,
}

impl Default for WatchOptions {
    fn default() -> Self {
        Self {
            interval: Duration::from_millis(500),
            providers: true,
            timeout: None,
        }
    }
}

/// What the provider line shows, from successive `/providers` readings.
#[derive(Default)]
pub struct ProviderTrack {
    last: HashMap<String, i64>,
    pub in_use: Option<String>,
    pub fallback_calls: i64,
    pub breakers_opened: Vec<String>,
    pub line: String,
}

impl ProviderTrack {
    pub fn update(&mut self, view: &ProvidersView) {
        let mut busiest: Option<(i64, &str)> = None;
        let mut parts = Vec::new();
        let mut fallback = 0;
        for (i, d) in view.deployments.iter().enumerate() {
            // "In use" is where calls succeed: a failing primary is called, but not used.
            let ok = (d.recent_calls as f64 * d.recent_success_rate.unwrap_or(0.0)).round() as i64;
            let before = self.last.insert(d.name.clone(), ok).unwrap_or(0);
            let delta = ok - before;
            if delta > 0 && busiest.is_none_or(|(b, _)| delta > b) {
                busiest = Some((delta, &d.name));
            }
            if i > 0 {
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
            "calls: {} | in use: {} | on fallbacks: {fallback}",
            parts.join(" · "),
            self.in_use.as_deref().unwrap_or("-"),
        );
    }
}

fn status_line(b: &BatchView) -> String {
    let c = &b.counts;
    format!(
        "queued {} · running {} · done {} · needs review {} · failed {} | ${:.4} · {} tokens",
        c.queued,
        c.running,
        c.succeeded,
        c.needs_review,
        c.failed,
        b.cost_usd,
        b.tokens_in + b.tokens_out
    )
}

fn finished(b: &BatchView) -> i64 {
    let c = &b.counts;
    c.succeeded + c.needs_review + c.failed + c.cancelled
}

/// Polls until every job has finished; returns the last reading and the provider history.
pub async fn watch(
    client: &Client,
    batch_id: &str,
    options: &WatchOptions,
) -> Result<(BatchView, ProviderTrack), CliError> {
    let tty = std::io::stderr().is_terminal();
    let multi = MultiProgress::with_draw_target(if tty {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    });
    let bar = multi.add(ProgressBar::new(0));
    bar.set_style(
        ProgressStyle::with_template("[{bar:40.green/white}] {pos}/{len} jobs {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let counts = multi.add(ProgressBar::new_spinner());
    let providers_line = multi.add(ProgressBar::new_spinner());
    if tty {
        eprintln!("following {batch_id}");
    }
    let started = Instant::now();
    let mut last_print = Instant::now() - Duration::from_secs(60);
    let mut track = ProviderTrack::default();
    let mut providers_ok = options.providers;
    let mut last_providers = Instant::now() - Duration::from_secs(60);
    loop {
        let batch = client.batch(batch_id).await?;
        if providers_ok && last_providers.elapsed() >= Duration::from_secs(1) {
            last_providers = Instant::now();
            match client.providers().await {
                Ok(view) => track.update(&view),
                // A key without the read scope for providers still gets the rest.
                Err(CliError::Server { status: 403, .. }) => providers_ok = false,
                Err(e) => return Err(e),
            }
        }
        bar.set_length(batch.total_jobs as u64);
        bar.set_position(finished(&batch) as u64);
        counts.set_message(status_line(&batch));
        providers_line.set_message(track.line.clone());
        let done = batch.generation_finished();
        if !tty && (done || last_print.elapsed() >= Duration::from_secs(5)) {
            last_print = Instant::now();
            eprintln!(
                "{batch_id}: {}/{} finished | {}{}",
                finished(&batch),
                batch.total_jobs,
                status_line(&batch),
                if track.line.is_empty() {
                    String::new()
                } else {
                    format!(" | {}", track.line)
                }
            );
        }
        if done {
            bar.finish();
            counts.finish();
            providers_line.finish();
            return Ok((batch, track));
        }
        if let Some(limit) = options.timeout
            && started.elapsed() >= limit
        {
            bar.abandon();
            return Err(CliError::TimedOut(format!(
                "batch {batch_id} still generating after {}s (status {}); it goes on on the server",
                limit.as_secs(),
                batch.status
            )));
        }
        tokio::time::sleep(options.interval).await;
    }
}

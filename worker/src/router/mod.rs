//! The provider router: one retry loop for every provider. For each job it walks the chain of
//! deployments: skips a deployment whose breaker is open, waits for its fleet-wide rate budget
//! (or moves on if the wait is long), retries server errors and timeouts with exponential
//! backoff and full jitter (honouring retry hints), falls back on rate limits, overloads, auth
//! and quota failures, and fails at once on a bad request. An answer is only a success if it
//! is usable: a truncated, refused, empty, unparseable or wrong-shape answer is a failed call
//! of that deployment (counted by its breaker), tried once more there (a truncated one with a
//! larger output budget, if the model has one), then the job goes on down the chain and does
//! not come back to that deployment. When every deployment is open it waits for the earliest
//! reopening, within the job's wait budget.

pub mod breaker;
pub mod budget;
mod call;
mod observe;
pub mod ratelimit;
mod route;
mod shared;
mod status;
mod stop;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant as StdInstant},
};

use backon::{BackoffBuilder, ExponentialBuilder};
use tokio::time::Instant;

use bacowr_shared::{
    config::{DeploymentSettings, Settings},
    pricing::{PriceTable, Usage},
    quota::check::CallDemand,
};

use crate::{
    metrics::Metrics,
    pipeline::{CallRecord, structured},
    provider::{Action, Client, ErrorClass, Generation, GenerationRequest, ProviderError, family},
};
use breaker::{Breaker, BreakerConfig};
pub use budget::Budget;
use ratelimit::{Limits, RateLimiter};
pub use route::Route;
pub use shared::SYNC_EVERY as BREAKER_SYNC_EVERY;
pub use status::DeploymentStatus;
pub use stop::Stop;
use stop::stopped;

/// A rate-limit wait longer than this sends the call to the next deployment instead.
const MAX_INLINE_WAIT: Duration = Duration::from_secs(5);

pub struct Deployment {
    pub name: String,
    pub settings: DeploymentSettings,
    client: Client,
}

/// Why a router cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum RouterError {
    #[error("provider client: {0}")]
    Client(#[from] reqwest::Error),
    /// A deployment without a price: its calls could not be costed.
    #[error("{0}")]
    Unpriced(String),
}

pub struct Router {
    deployments: Vec<Deployment>,
    breakers: Mutex<HashMap<String, Breaker>>,
    limiter: RateLimiter,
    /// Where breaker openings are told to, and learnt from, the rest of the fleet.
    fleet: shared::FleetBreakers,
    prices: PriceTable,
    max_attempts: usize,
    backoff_initial: Duration,
    backoff_max: Duration,
    max_wait: Duration,
    /// How long the fleet remembers a run of failures without another one.
    breaker_cooldown: Duration,
    metrics: Arc<Metrics>,
}

impl Router {
    pub fn new(
        settings: &Settings,
        backplane: bacowr_shared::backplane::Backplane,
        prices: PriceTable,
    ) -> Result<Self, RouterError> {
        settings
            .check_prices(&prices, chrono::Utc::now().date_naive())
            .map_err(RouterError::Unpriced)?;
        let r = &settings.router;
        let config = BreakerConfig {
            window: r.breaker_window.max(1),
            min_calls: r.breaker_min_calls.max(1),
            failure_rate: r.breaker_failure_rate,
            cooldown: Duration::from_secs(r.breaker_cooldown_secs),
            hard_cooldown: Duration::from_secs(r.hard_failure_cooldown_secs),
        };
        let mut deployments = Vec::new();
        let mut breakers = HashMap::new();
        for (name, d) in settings.chain() {
            breakers.insert(name.clone(), Breaker::new(config.clone()));
            deployments.push(Deployment {
                client: Client::new(&name, &d)?,
                name,
                settings: d,
            });
        }
        let digests = deployments
            .iter()
            .map(|d| (d.name.clone(), shared::digest(&d.settings)))
            .collect();
        Ok(Self {
            deployments,
            breakers: Mutex::new(breakers),
            limiter: RateLimiter::new(backplane.clone(), &settings.redis.namespace),
            fleet: shared::FleetBreakers::new(backplane, &settings.redis.namespace, digests),
            prices,
            max_attempts: settings.provider.max_attempts.max(1),
            backoff_initial: Duration::from_millis(settings.provider.backoff_initial_ms),
            backoff_max: Duration::from_millis(settings.provider.backoff_max_ms),
            max_wait: Duration::from_secs(r.max_wait_secs),
            breaker_cooldown: config.cooldown,
            metrics: Arc::new(Metrics::default()),
        })
    }

    fn breaker<T>(&self, name: &str, f: impl FnOnce(&mut Breaker) -> T) -> T {
        let mut breakers = self.breakers.lock().expect("breaker lock");
        f(breakers.get_mut(name).expect("a breaker per deployment"))
    }

    /// Every deployment was priced at start; a price that lapsed since (a table entry's
    /// date) costs nothing rather than stopping the fleet, and says so.
    fn cost_of(&self, d: &Deployment, usage: Usage) -> i64 {
        match d
            .settings
            .price(&d.name, &self.prices, chrono::Utc::now().date_naive())
        {
            Ok(price) => price.cost_micros(usage),
            Err(e) => {
                tracing::error!(deployment = %d.name, error = %e, "call not costed");
                0
            }
        }
    }

    /// The most a call of `request` can cost on `d`: what the budget gate reserves.
    fn bound(&self, d: &Deployment, request: &GenerationRequest) -> CallDemand {
        let usage = budget::call_bound(request);
        CallDemand {
            cost_micros: self.cost_of(d, usage),
            tokens: usage.input + usage.output,
        }
    }

    /// `request` as `d` is asked it: room for the model's thinking on top of the article.
    fn for_deployment(d: &Deployment, request: &GenerationRequest) -> GenerationRequest {
        let mut r = request.clone();
        r.max_output_tokens = r
            .max_output_tokens
            .saturating_add(family::thinking_headroom(&d.settings));
        r
    }

    /// One generation, through the chain. Every call made is appended to `calls`.
    pub async fn generate(
        &self,
        request: &GenerationRequest,
        calls: &mut Vec<CallRecord>,
    ) -> Result<Generation, ProviderError> {
        let mut route = Route::default();
        self.generate_with(request, &mut route, calls, &Stop::default(), None)
            .await
    }

    /// The deployments of `only` (a batch's own chain, in its order), else the whole chain.
    /// Names no longer configured are skipped; if none is left, the whole chain is used.
    fn chain<'a>(&'a self, only: Option<&[String]>) -> Vec<&'a Deployment> {
        let picked: Vec<&Deployment> = only
            .unwrap_or_default()
            .iter()
            .filter_map(|name| self.deployments.iter().find(|d| &d.name == name))
            .collect();
        if picked.is_empty() {
            self.deployments.iter().collect()
        } else {
            picked
        }
    }

    /// [`Router::generate`] over a batch's chosen deployments.
    /// `stop` ends it early: no call starts and no wait goes on once it is set. `budget`, if
    /// the organization limits spend, is asked before every call; its refusal ends the
    /// generation at once.
    /// Deployments that gave this job unusable output before are not asked again.
    pub async fn generate_with(
        &self,
        request: &GenerationRequest,
        route: &mut Route,
        calls: &mut Vec<CallRecord>,
        stop: &Stop,
        budget: Option<&Budget>,
    ) -> Result<Generation, ProviderError> {
        let chain: Vec<&Deployment> = self
            .chain(route.only.as_deref())
            .into_iter()
            .filter(|d| !route.is_spent(&d.name))
            .collect();
        if chain.is_empty() {
            return Err(route.exhausted());
        }
        let deadline = Instant::now() + self.max_wait;
        let mut last_error: Option<ProviderError> = None;
        // Deployments that refused this very request (bad request, content policy, context
        // length): asking them again would only fail again, and may be billed.
        let mut refused: Vec<&str> = Vec::new();
        let mut rounds = 0u32;
        loop {
            for d in &chain {
                if refused.contains(&d.name.as_str()) {
                    continue;
                }
                if stop.is_set() {
                    return Err(stopped());
                }
                let scope = (deadline, stop, budget);
                match self.try_deployment(d, request, calls, scope).await {
                    Ok(g) => return Ok(g),
                    Err(Some(e)) if e.class.is_budget() => return Err(e),
                    Err(Some(e)) => {
                        if e.class.is_unusable_output() {
                            route.spend(&d.name, e.class);
                            refused.push(&d.name);
                        } else if e.class.is_request_specific() {
                            refused.push(&d.name);
                        }
                        last_error = Some(e);
                    }
                    Err(None) => {}
                }
            }
            if chain.iter().all(|d| route.is_spent(&d.name)) {
                return Err(route.exhausted());
            }
            if refused.len() == chain.len() {
                return Err(last_error.expect("a refusal left its error"));
            }
            rounds += 1;
            // Every deployment is open, rate-limited or failing: wait for the earliest
            // reopening (or a backoff), within the job's budget.
            let now = Instant::now();
            let reopen = chain
                .iter()
                .filter(|d| !refused.contains(&d.name.as_str()))
                .filter_map(|d| self.breaker(&d.name, |b| b.reopens_at(now)))
                .min();
            let backoff = self.backoff_initial * 2u32.saturating_pow(rounds.min(8));
            let until = reopen
                .unwrap_or(now + backoff.min(self.backoff_max))
                .max(now + Duration::from_millis(10));
            if until > deadline {
                return Err(last_error.unwrap_or_else(|| {
                    ProviderError::new(
                        ErrorClass::Overloaded,
                        None,
                        "every provider deployment is unavailable and the job's wait budget is spent",
                    )
                }));
            }
            tracing::info!(
                wait_ms = (until - now).as_millis() as u64,
                "all deployments unavailable; waiting"
            );
            if stop.sleep_until(until).await {
                return Err(stopped());
            }
        }
    }

    /// `Ok` with a usable generation, `Err(Some)` after a failure, `Err(None)` if the
    /// deployment was skipped (breaker open, rate budget far off).
    async fn try_deployment(
        &self,
        d: &Deployment,
        request: &GenerationRequest,
        calls: &mut Vec<CallRecord>,
        (deadline, stop, budget): (Instant, &Stop, Option<&Budget>),
    ) -> Result<Generation, Option<ProviderError>> {
        let mut backoff = ExponentialBuilder::default()
            .with_min_delay(self.backoff_initial)
            .with_max_delay(self.backoff_max)
            .with_jitter()
            .with_max_times(self.max_attempts.saturating_sub(1))
            .build();
        let mut request = Self::for_deployment(d, request);
        let mut second_chance = true;
        let mut last = None;
        loop {
            if stop.is_set() {
                return Err(Some(stopped()));
            }
            // Before the breaker and the rate budget: waiting on the budget holds no probe
            // slot and spends no rate budget.
            let held = match budget {
                Some(b) => b
                    .reserve(self.bound(d, &request), deadline, stop)
                    .await
                    .map_err(Some)?,
                None => None,
            };
            self.learn_opening(d).await;
            if !self.admits(d) {
                budget::release(budget, held).await;
                return Err(last);
            }
            if !self.within_rate(d, &request, deadline).await {
                // Give the half-open probe slot back: this call never went out.
                self.breaker(&d.name, |b| b.release_probe());
                budget::release(budget, held).await;
                return Err(last);
            }
            let result = self.call(d, &request, calls).await;
            budget::settle(budget, held, calls.last()).await;
            let e = match result {
                Ok(g) => return Ok(g),
                Err(e) => e,
            };
            tracing::warn!(deployment = %d.name, class = e.outcome(), error = %e.message, "provider call failed");
            let delay = match e.class.action() {
                Action::FallBack => return Err(Some(e)),
                Action::RetryOnce if !second_chance => return Err(Some(e)),
                Action::RetryOnce => {
                    second_chance = false;
                    if e.class == ErrorClass::Truncated {
                        // Only a larger budget can make a truncated answer whole.
                        match family::larger_budget(&d.settings, request.max_output_tokens) {
                            Some(more) => request.max_output_tokens = more,
                            None => return Err(Some(e)),
                        }
                    }
                    Duration::ZERO
                }
                Action::Retry => {
                    let Some(delay) = backoff.next() else {
                        return Err(Some(e));
                    };
                    e.retry_after
                        .map_or(delay, |hint| hint.max(delay))
                        .min(self.backoff_max)
                }
            };
            if Instant::now() + delay > deadline {
                return Err(Some(e));
            }
            last = Some(e);
            if stop.sleep(delay).await {
                return Err(Some(stopped()));
            }
        }
    }

    /// One call of `d`, judged: an answer that holds no article is a failure like any other.
    /// Recorded in `calls`, the breaker (and the fleet's, when it opens), and the metrics.
    async fn call(
        &self,
        d: &Deployment,
        request: &GenerationRequest,
        calls: &mut Vec<CallRecord>,
    ) -> Result<Generation, ProviderError> {
        let started = StdInstant::now();
        let span = tracing::info_span!(
            "provider_call",
            deployment = %d.name,
            model = %d.settings.model,
            kind = %d.settings.kind,
            outcome = tracing::field::Empty,
            http_status = tracing::field::Empty,
            tokens_in = tracing::field::Empty,
            tokens_out = tracing::field::Empty,
            cost_usd = tracing::field::Empty,
            latency_ms = tracing::field::Empty,
        );
        let result = tracing::Instrument::instrument(d.client.generate(request), span.clone())
            .await
            .and_then(|g| match structured::check(&g.text) {
                Ok(_) => Ok(g),
                Err((class, why)) => {
                    Err(ProviderError::new(class, Some(200), why).with_billed(g.usage))
                }
            });
        match &result {
            Ok(_) => {
                self.breaker(&d.name, Breaker::on_success);
                self.fleet.succeeded(&d.name, started.elapsed()).await;
            }
            Err(e) => {
                let run = if e.class.counts_against_deployment() {
                    self.fleet.failed(&d.name, self.breaker_cooldown).await
                } else {
                    0
                };
                let now = Instant::now();
                let opened = self.breaker(&d.name, |b| {
                    let was = b.reopens_at(now);
                    b.on_failure(e.class, e.retry_after, now);
                    b.on_fleet_failures(run, now);
                    b.reopens_at(now).filter(|until| Some(*until) != was)
                });
                if let Some(until) = opened {
                    self.fleet.tell(&d.name, until).await;
                }
            }
        }
        calls.push(self.record(d, started, &result));
        self.observe(d, &span, calls.last().expect("pushed above"));
        result
    }

    /// Waits briefly (and never past the job's deadline) for the deployment's fleet-wide
    /// budget; `false` if it is further off.
    async fn within_rate(
        &self,
        d: &Deployment,
        request: &GenerationRequest,
        deadline: Instant,
    ) -> bool {
        let limits = Limits {
            deployment: &d.name,
            rpm: d.settings.rpm,
            tpm: d.settings.tpm,
            tokens: request.estimated_tokens(),
        };
        loop {
            let wait = self.limiter.check(&limits).await;
            if wait.is_zero() {
                return true;
            }
            if wait > MAX_INLINE_WAIT || Instant::now() + wait > deadline {
                return false;
            }
            tokio::time::sleep(wait).await;
        }
    }
}

//! The budget gate before each provider call (#7). The router asks it before every call, with
//! the most the call can cost on the deployment it is about to use; the gate reserves that
//! much in Postgres (`quota::reserve`: one organization's checks run one at a time), the
//! router makes the call and settles the reservation at its real cost, and the outcome turns
//! reservations into the call log in one transaction.
//!
//! A call that can never fit stops the generation at once (no retry, no fallback: another
//! deployment spends the same budget) and the job ends `failed` with `budget_exceeded`. A call
//! that fits what is spent but not what calls in flight may still cost waits for them, within
//! the job's wait budget: refusing it would fail jobs that a moment later fit.

use std::time::Duration;

use chrono::Utc;
use rand::Rng;
use sea_orm::{DatabaseConnection, DbErr};
use tokio::time::Instant;
use uuid::Uuid;

use bacowr_shared::{
    entities::job,
    ids::JobId,
    pricing::Usage,
    quota::{
        Exceeded, Metric, alerts,
        check::CallDemand,
        reserve::{self, Call, Reservation},
        usage, usd,
    },
};

use super::{Stop, stop::stopped};
use crate::{
    pipeline::CallRecord,
    provider::{ErrorClass, GenerationRequest, ProviderError},
};

/// Tokens a protocol adds around the prompt (roles, message framing), over its bytes.
const FRAMING_TOKENS: i64 = 64;

/// The usage a call is reserved at: every prompt byte a token (no tokenizer makes a token of
/// less than one byte), all of it written to the prompt cache (the dearest input rate), and
/// all of `max_output_tokens`, thinking included (providers stop there). A bound, not an
/// estimate: no call costs more.
pub fn call_bound(request: &GenerationRequest) -> Usage {
    let prompt = request.system.len() + request.user.len();
    let input = i64::try_from(prompt).unwrap_or(i64::MAX / 2) + FRAMING_TOKENS;
    Usage {
        input,
        cached_input: 0,
        cache_write_input: input,
        output: i64::from(request.max_output_tokens),
    }
}

/// One job attempt's gate. Only built for organizations that limit calls: the others make
/// their calls without a reservation or a Postgres round trip.
pub struct Budget {
    db: DatabaseConnection,
    org_id: Uuid,
    job_id: Uuid,
    attempt: i32,
}

impl Budget {
    /// The gate for `job`'s current attempt, if its organization limits tokens or spend (or
    /// if that can't be read: then every call asks).
    pub async fn for_job(db: &DatabaseConnection, job: &job::Model) -> Option<Self> {
        let gated = match usage::limits(db, job.org_id).await {
            Ok(limits) => limits.unwrap_or_default().limits_calls(),
            Err(e) => {
                tracing::warn!(error = %e, "could not read the organization's limits");
                true
            }
        };
        gated.then(|| Self {
            db: db.clone(),
            org_id: job.org_id,
            job_id: job.id,
            attempt: job.attempts,
        })
    }

    /// Reserves `demand` for the call about to be made: `Some(id)` to settle after it. An
    /// error means the call must not be made.
    pub(super) async fn reserve(
        &self,
        demand: CallDemand,
        deadline: Instant,
        stop: &Stop,
    ) -> Result<Option<Uuid>, ProviderError> {
        let call = Call {
            org_id: self.org_id,
            job_id: self.job_id,
            attempt: self.attempt,
            demand,
        };
        let mut waiting: Option<Exceeded> = None;
        let mut unreachable: Option<DbErr> = None;
        loop {
            match reserve::reserve(&self.db, &call, Utc::now()).await {
                Ok(Reservation::Unlimited) => return Ok(None),
                Ok(Reservation::Held(id)) => return Ok(Some(id)),
                Ok(Reservation::Refused(e)) => return Err(self.refuse(e, "").await),
                Ok(Reservation::Wait(e)) => waiting = Some(e),
                Err(e) => {
                    tracing::warn!(error = %e, "budget check failed; trying again");
                    unreachable = Some(e);
                }
            }
            // A little jitter, so waiting calls don't all ask again at the same moment.
            let pause = Duration::from_millis(rand::rng().random_range(150..350));
            if Instant::now() + pause > deadline {
                return Err(match (waiting, unreachable) {
                    (Some(e), _) => {
                        let why = " (calls still in flight held what is left)";
                        self.refuse(e, why).await
                    }
                    (None, e) => ProviderError::new(
                        ErrorClass::BudgetUnavailable,
                        None,
                        format!(
                            "no provider call made: the budget could not be checked ({})",
                            e.map_or_else(|| "no answer".to_owned(), |e| e.to_string())
                        ),
                    ),
                });
            }
            if stop.sleep(pause).await {
                return Err(stopped());
            }
        }
    }

    /// The job stops here: a `budget.exceeded` audit event, and the error the pipeline turns
    /// into the job's `budget_exceeded` failure.
    async fn refuse(&self, e: Exceeded, why: &str) -> ProviderError {
        tracing::warn!(
            metric = e.metric.as_str(),
            limit = e.limit,
            used = e.used,
            requested = e.requested,
            "budget exceeded; no provider call made"
        );
        let job = JobId::from_uuid(self.job_id).to_string();
        if let Err(err) =
            alerts::record_exceeded(&self.db, self.org_id, "call", Some(job), &e).await
        {
            tracing::warn!(error = %err, "could not record the budget.exceeded audit event");
        }
        let cost = match e.metric {
            Metric::TokensPerMonth => format!("use up to {} tokens", e.requested),
            _ => format!("cost up to {}", usd(e.requested)),
        };
        ProviderError::new(
            ErrorClass::BudgetExceeded,
            None,
            format!("stopped before a provider call that could {cost}: {e}{why}"),
        )
    }

    /// The call answered (or failed): hold what it really cost until the outcome records it.
    async fn settle(&self, id: Option<Uuid>, cost_micros: i64, tokens: i64) {
        let Some(id) = id else { return };
        // On failure the reservation keeps its upper bound: more than was spent, never less.
        if let Err(e) = reserve::settle(&self.db, id, cost_micros, tokens, Utc::now()).await {
            tracing::warn!(error = %e, "could not settle a budget reservation");
        }
    }

    /// The call was not made (its deployment was unavailable after all).
    async fn release(&self, id: Option<Uuid>) {
        let Some(id) = id else { return };
        if let Err(e) = reserve::release(&self.db, id).await {
            tracing::warn!(error = %e, "could not release a budget reservation");
        }
    }
}

/// Settles `held` at what the call just recorded cost.
pub(super) async fn settle(budget: Option<&Budget>, held: Option<Uuid>, call: Option<&CallRecord>) {
    if let (Some(b), Some(call)) = (budget, call) {
        b.settle(held, call.cost_micros, call.tokens_in + call.tokens_out)
            .await;
    }
}

/// Gives `held` back: the call was not made.
pub(super) async fn release(budget: Option<&Budget>, held: Option<Uuid>) {
    if let Some(b) = budget {
        b.release(held).await;
    }
}

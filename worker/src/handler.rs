//! The apalis task handler: one `GenerateArticle` task, one job attempt. Job failures are
//! recorded in Postgres and the handler returns `Ok`: apalis-redis ignores `max_attempts`, so
//! retrying is never left to it. Only infrastructure errors (Postgres down) return `Err`, and
//! the claim makes the re-run harmless.

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use apalis::prelude::{BoxDynError, Data};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, sea_query::Expr};
use tracing::Instrument;

use bacowr_shared::{
    config::Settings,
    domain::JobStatus,
    entities::{batch, job},
    queue::GenerateArticle,
    telemetry,
};

use crate::{context::Fetcher, metrics::Metrics, pipeline, store};

pub struct WorkerState {
    pub db: DatabaseConnection,
    /// Redis for a fleet; this process in the embedded build.
    pub backplane: bacowr_shared::backplane::Backplane,
    /// Where the queues live (the `/metrics` queue depth reads them).
    pub queues: bacowr_shared::infra::Queues,
    pub fetcher: Fetcher,
    pub settings: Settings,
    pub router: crate::router::Router,
    /// Lease owner written on claimed jobs: this process's unique worker name.
    pub owner: String,
    pub metrics: Arc<Metrics>,
    /// Live progress events, published after each committed change.
    pub events: bacowr_shared::events::Publisher,
    /// Cleared at shutdown: tasks fetched after that are handed back, not started.
    pub accepting: AtomicBool,
}

impl WorkerState {
    pub fn accepting(&self) -> bool {
        self.accepting.load(Ordering::SeqCst)
    }
}

pub async fn handle(
    task: GenerateArticle,
    state: Data<Arc<WorkerState>>,
) -> Result<(), BoxDynError> {
    let GenerateArticle::V1 {
        job_id,
        org_id,
        traceparent,
    } = &task;
    // This task's own hub (see `crate::sentry_hub`): errors name the job and organization.
    sentry::configure_scope(|scope| {
        scope.set_user(Some(sentry::User {
            id: Some(org_id.to_string()),
            ..Default::default()
        }));
        scope.set_tag("job_id", job_id);
    });
    let span = tracing::info_span!("generate_article", %job_id, %org_id);
    telemetry::set_parent(&span, traceparent.as_deref());
    process(&state, &task).instrument(span).await.map_err(|e| {
        tracing::error!(error = %e, "job attempt aborted by an infrastructure error");
        e
    })
}

async fn process(state: &WorkerState, task: &GenerateArticle) -> Result<(), BoxDynError> {
    if !state.accepting() {
        // Shutting down: leave the job for the rest of the fleet, dispatched again at once.
        store::undispatch(&state.db, task.job_id()).await?;
        tracing::info!("shutting down; task handed back");
        return Ok(());
    }
    let lease = state.settings.worker.lease();
    let Some(store::Claimed { job, batch_started }) = store::claim_reporting(
        &state.db,
        task.job_id(),
        task.org_id(),
        &state.owner,
        lease,
        state.settings.dispatch.max_attempts,
    )
    .await?
    else {
        tracing::info!("job already claimed or finished; nothing to do");
        return Ok(());
    };
    tracing::info!(attempt = job.attempts, "job claimed");
    crate::live::started(state, &job, batch_started).await;
    state.metrics.job_started();
    let result = run_claimed(state, job).await;
    state.metrics.job_ended();
    // A slot is free: the dispatcher may push the next job now rather than at its tick.
    state
        .backplane
        .wake_dispatcher(&state.settings.redis.namespace)
        .await;
    result
}

async fn run_claimed(state: &WorkerState, job: job::Model) -> Result<(), BoxDynError> {
    let lease = state.settings.worker.lease();
    let renewal = RenewalGuard(tokio::spawn(renew_lease(
        state.db.clone(),
        job.id,
        job.attempts,
        state.owner.clone(),
        lease,
    )));
    let batch = match job.batch_id {
        Some(id) => batch::Entity::find_by_id(id).one(&state.db).await?,
        None => None,
    };
    let pipeline::run::Attempt {
        outcome,
        calls,
        budgeted,
    } = pipeline::run::run(state, &job, batch.as_ref()).await;

    let status = outcome.status();
    // The article is paid for: a Postgres hiccup must not throw it away. The lease is still
    // renewed meanwhile, and the write is idempotent (it checks the lease and attempt).
    let mut delay = std::time::Duration::from_millis(500);
    let store_span = tracing::info_span!("store_outcome", status = ?status);
    let written = async { loop {
        match store::record_outcome_reporting(
            &state.db,
            &job,
            &state.owner,
            outcome.clone(),
            &calls,
        )
        .await
        {
            Ok(written) => break Ok(written),
            Err(e) if delay <= lease => {
                tracing::warn!(error = %e, retry_in_ms = delay.as_millis() as u64, "writing the outcome failed; retrying");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            Err(e) => break Err(e),
        }
    } }
    .instrument(store_span)
    .await?;
    drop(renewal);
    if budgeted && !calls.is_empty() {
        // The calls are recorded: the 80% alerts of tokens and spend, once per period.
        let now = chrono::Utc::now();
        if let Err(e) = bacowr_shared::quota::alerts::after_spend(&state.db, job.org_id, now).await
        {
            tracing::warn!(error = %e, "could not check the budget alerts");
        }
    }
    if written.written {
        crate::live::finished(state, &job, &outcome, &written).await;
        state.metrics.job_finished(written.status);
        tracing::info!(?status, calls = calls.len(), "job finished");
    } else {
        tracing::warn!("lease lost before the outcome was written; another worker owns the job");
    }
    Ok(())
}

/// Stops renewing when the attempt ends, however it ends (an error, a dropped future).
struct RenewalGuard(tokio::task::JoinHandle<()>);

impl Drop for RenewalGuard {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Keeps the lease fresh while a long generation runs, so no one takes the job over.
async fn renew_lease(
    db: DatabaseConnection,
    job_id: uuid::Uuid,
    attempt: i32,
    owner: String,
    lease: std::time::Duration,
) {
    let mut interval = tokio::time::interval(lease / 3);
    interval.tick().await;
    loop {
        interval.tick().await;
        let expires = chrono::Utc::now()
            + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::minutes(5));
        let result = job::Entity::update_many()
            .col_expr(job::Column::LeaseExpiresAt, Expr::value(expires))
            .filter(job::Column::Id.eq(job_id))
            .filter(job::Column::Status.eq(JobStatus::Running))
            .filter(job::Column::LeaseOwner.eq(owner.as_str()))
            .filter(job::Column::Attempts.eq(attempt))
            .exec(&db)
            .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, "lease renewal failed");
        }
    }
}

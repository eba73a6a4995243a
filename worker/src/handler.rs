//! The apalis task handler: one `GenerateArticle` task, one job attempt. Job failures are
//! recorded in Postgres and the handler returns `Ok`: apalis-redis ignores `max_attempts`
//! (DESIGN §3a), so retrying is never left to it. Only infrastructure errors (Postgres down)
//! return `Err`, and the claim makes the re-run harmless.

use std::sync::Arc;

use apalis::prelude::{BoxDynError, Data};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, sea_query::Expr};
use tracing::Instrument;

use bacowr_shared::{
    config::Settings, domain::JobStatus, entities::job, error::job_errors, queue::GenerateArticle,
    telemetry,
};

use crate::{
    pipeline::{self, article, language, prompt},
    provider::OpenAiCompatible,
    store::{self, ArticleToStore, Outcome},
};

pub struct WorkerState {
    pub db: DatabaseConnection,
    pub settings: Settings,
    pub generator: OpenAiCompatible,
    /// Lease owner written on claimed jobs: this process's unique worker name.
    pub owner: String,
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
    let span = tracing::info_span!("generate_article", %job_id, %org_id);
    telemetry::set_parent(&span, traceparent.as_deref());
    process(&state, &task).instrument(span).await.map_err(|e| {
        tracing::error!(error = %e, "job attempt aborted by an infrastructure error");
        e
    })
}

async fn process(state: &WorkerState, task: &GenerateArticle) -> Result<(), BoxDynError> {
    let lease = state.settings.worker.lease();
    let Some(job) =
        store::claim(&state.db, task.job_id(), task.org_id(), &state.owner, lease).await?
    else {
        tracing::info!("job already claimed or finished; nothing to do");
        return Ok(());
    };
    tracing::info!(attempt = job.attempts, "job claimed");
    let renewal = tokio::spawn(renew_lease(
        state.db.clone(),
        job.id,
        state.owner.clone(),
        lease,
    ));
    let (outcome, calls) = run_pipeline(state, &job).await;
    renewal.abort();

    let succeeded = matches!(outcome, Outcome::Succeeded(_));
    if store::record_outcome(&state.db, &job, &state.owner, outcome, &calls).await? {
        tracing::info!(succeeded, calls = calls.len(), "job finished");
    } else {
        tracing::warn!("lease lost before the outcome was written; another worker owns the job");
    }
    Ok(())
}

async fn run_pipeline(
    state: &WorkerState,
    job: &job::Model,
) -> (Outcome, Vec<pipeline::CallRecord>) {
    let provider = &state.settings.provider;
    let language = language::resolve(job.language.as_deref(), &job.publisher_domain);
    let request = prompt::build(
        &prompt::Brief {
            publisher_domain: &job.publisher_domain,
            target_url: &job.target_url,
            anchor_text: &job.anchor_text,
            language: &language,
        },
        provider.max_output_tokens,
        provider.temperature,
    );
    let mut calls = Vec::new();
    let outcome =
        match pipeline::generate_with_retries(&state.generator, &request, provider, &mut calls)
            .await
        {
            Err(error) => Outcome::Failed {
                code: job_errors::PROVIDER_FAILED,
                message: format!("the provider failed after {} call(s): {error}", calls.len()),
            },
            Ok(generation) => match article::parse(&generation.text) {
                None => Outcome::Failed {
                    code: job_errors::BAD_PROVIDER_OUTPUT,
                    message: "the provider's answer held no article (no title and body)".into(),
                },
                Some(parsed) => Outcome::Succeeded(ArticleToStore {
                    title: parsed.title,
                    body_markdown: parsed.body_markdown,
                    word_count: parsed.word_count,
                    language,
                    provider: provider.name.clone(),
                    model: generation.model,
                }),
            },
        };
    (outcome, calls)
}

/// Keeps the lease fresh while a long generation runs, so no one takes the job over.
async fn renew_lease(
    db: DatabaseConnection,
    job_id: uuid::Uuid,
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
            .exec(&db)
            .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, "lease renewal failed");
        }
    }
}

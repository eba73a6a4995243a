//! Accepting work: one transaction writes the batch, its jobs and the idempotency answer;
//! after commit, the dispatcher is woken to push the jobs to the workers.

use chrono::Utc;
use sea_orm::{DatabaseTransaction, DbErr, EntityTrait, TransactionTrait};

use bacowr_shared::{
    domain::{BatchStatus, JobStatus, LinkAssignment},
    entities::{batch, job},
    events::{EventKind, LiveEvent},
    ids::{BatchId, JobId, OrgId},
    qc,
    quota::check::Demand,
};

use super::{enqueue, estimate, idempotency::IdempotencyKey, job_rows::insert_jobs, quota};
use crate::{
    error::ApiError,
    intake::Submission,
    routes::views::{BatchView, JobView},
    state::AppState,
};

/// The answer to send: fresh or replayed, always the same JSON for the same key.
pub struct Accepted {
    pub status: u16,
    pub body: String,
}

pub async fn submit_batch(
    state: &AppState,
    org_id: OrgId,
    submission: Submission,
    idempotency: Option<IdempotencyKey>,
) -> Result<Accepted, ApiError> {
    let Submission {
        name,
        links,
        options,
    } = submission;
    let demand = estimate::estimate(
        links.len(),
        &options.qc_profile,
        &options.qc_thresholds,
        &state.settings,
        options.providers.as_deref(),
        &state.prices,
    )
    .demand();
    let batch_id = BatchId::new();
    let admission = Admission {
        what: "batch",
        demand,
    };
    let notices = super::notices::for_settings(&state.settings);
    let duplicates = duplicate_rows(&links);
    accept(
        state,
        org_id,
        Some(batch_id),
        idempotency,
        admission,
        |txn| {
            Box::pin(async move {
                let now = Utc::now();
                let total = i32::try_from(links.len()).unwrap_or(i32::MAX);
                let mut model =
                    batch::Model::new_queued(batch_id.uuid(), org_id.uuid(), name, total, now);
                model.qc_profile = options.qc_profile;
                model.qc_thresholds = serde_json::to_value(&options.qc_thresholds).ok();
                model.default_language = options.default_language.map(|l| l.as_str().to_owned());
                model.provider_chain = options.providers.map(|p| serde_json::json!(p));
                batch::Entity::insert(batch::ActiveModel::from(model.clone()))
                    .exec_without_returning(txn)
                    .await?;
                let jobs = insert_jobs(txn, org_id, Some(batch_id), &links).await?;
                let view = BatchView {
                    notices,
                    duplicates,
                    ..BatchView::from(model)
                };
                let body = serde_json::to_string(&view).map_err(ApiError::internal)?;
                Ok((body, jobs))
            })
        },
    )
    .await
}

/// Groups of rows with the same publisher, target and anchor (anchors compared without case),
/// in row order; rows that repeat nothing are left out.
fn duplicate_rows(links: &[LinkAssignment]) -> Vec<Vec<usize>> {
    let mut groups: std::collections::HashMap<(&str, &str, String), Vec<usize>> =
        std::collections::HashMap::new();
    for (row, l) in links.iter().enumerate() {
        groups
            .entry((
                l.publisher_domain.as_str(),
                l.target_url.as_str(),
                l.anchor_text.as_str().to_lowercase(),
            ))
            .or_default()
            .push(row);
    }
    let mut repeated: Vec<Vec<usize>> = groups.into_values().filter(|g| g.len() > 1).collect();
    repeated.sort_unstable();
    repeated
}

pub async fn submit_job(
    state: &AppState,
    org_id: OrgId,
    link: LinkAssignment,
    idempotency: Option<IdempotencyKey>,
) -> Result<Accepted, ApiError> {
    // A single job is written to the default profile on the configured chain.
    let (profile, thresholds) = qc::resolve(None, None).expect("the default profile resolves");
    let demand = estimate::estimate(
        1,
        &profile,
        &thresholds,
        &state.settings,
        None,
        &state.prices,
    )
    .demand();
    let admission = Admission {
        what: "job",
        demand,
    };
    accept(state, org_id, None, idempotency, admission, |txn| {
        Box::pin(async move {
            let jobs = insert_jobs(txn, org_id, None, std::slice::from_ref(&link)).await?;
            let model = jobs_models(txn, &jobs).await?;
            let body =
                serde_json::to_string(&JobView::new(model, None)).map_err(ApiError::internal)?;
            Ok((body, jobs))
        })
    })
    .await
}

/// What a submission is checked against the organization's quotas and budgets as.
struct Admission {
    /// `batch` or `job`, for the audit event of a refusal.
    what: &'static str,
    demand: Demand,
}

type Work<'a> =
    std::pin::Pin<Box<dyn Future<Output = Result<(String, Vec<JobId>), ApiError>> + Send + 'a>>;

async fn accept<F>(
    state: &AppState,
    org_id: OrgId,
    batch_id: Option<BatchId>,
    idempotency: Option<IdempotencyKey>,
    admission: Admission,
    write: F,
) -> Result<Accepted, ApiError>
where
    F: for<'a> FnOnce(&'a DatabaseTransaction) -> Work<'a>,
{
    enqueue::check_redis(&state.backplane).await?;
    let txn = state.db.begin().await?;
    if let Some(key) = &idempotency
        && let Some(replay) = key.reserve(&txn, org_id).await?
    {
        txn.rollback().await?;
        return Ok(Accepted {
            status: replay.status,
            body: replay.body,
        });
    }
    // After the replay: a retried submission gets its first answer even once over a limit.
    if let Err(e) = quota::admit(&txn, org_id, &admission.demand).await? {
        txn.rollback().await?;
        return Err(quota::refused(&state.db, org_id, admission.what, e).await);
    }
    let (body, jobs) = write(&txn).await?;
    if let Some(key) = &idempotency {
        key.store(&txn, org_id, 202, &body).await?;
    }
    txn.commit().await?;
    if !jobs.is_empty() {
        enqueue::wake_dispatcher(&state.backplane, &state.settings.redis.namespace).await;
        publish_accepted(state, org_id, batch_id, &jobs).await;
    }
    Ok(Accepted { status: 202, body })
}

/// After commit: the batch is queued and so is each of its jobs, in one round trip.
async fn publish_accepted(
    state: &AppState,
    org_id: OrgId,
    batch_id: Option<BatchId>,
    jobs: &[JobId],
) {
    let batch = batch_id.map(|b| LiveEvent::batch_status(org_id, b, BatchStatus::Queued));
    let queued = jobs.iter().enumerate().map(|(row, job)| {
        LiveEvent::job(
            EventKind::JobQueued,
            org_id,
            batch_id,
            *job,
            JobStatus::Queued,
            serde_json::json!({ "row_index": row }),
        )
    });
    let events: Vec<LiveEvent> = batch.into_iter().chain(queued).collect();
    state.events.publish_many(&events).await;
}

async fn jobs_models(txn: &DatabaseTransaction, ids: &[JobId]) -> Result<job::Model, DbErr> {
    let id = ids
        .first()
        .ok_or_else(|| DbErr::Custom("no job inserted".into()))?;
    job::Entity::find_by_id(id.uuid())
        .one(txn)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("job just inserted".into()))
}

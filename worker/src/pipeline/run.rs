//! The pipeline for one job attempt: context → language → plan and prompt → generate →
//! parse → verify trust links → QC → autofix once → QC → regenerate with feedback (up to the
//! profile's limit; never when no draft can fix what failed, nor when the model repeats
//! itself) → the best draft kept → succeeded, needs_review or failed.

use serde_json::json;

use bacowr_shared::{
    entities::{batch, job},
    error::job_errors,
    events::stages,
    qc::{self, QcThresholds},
};

use super::{CallRecord, Purpose, drafts, language, prompt, structured};
use crate::{
    context::Context,
    handler::WorkerState,
    live,
    provider::ErrorClass,
    qc::{QcInput, QcReport, autofix, markdown},
    store::{ArticleToStore, Outcome},
};

pub struct Attempt {
    pub outcome: Outcome,
    pub calls: Vec<CallRecord>,
    /// The organization limits tokens or spend: its calls went through the budget gate.
    pub budgeted: bool,
}

/// The batch's resolved thresholds, or the default profile for a job outside a batch.
fn thresholds(batch: Option<&batch::Model>) -> (String, QcThresholds) {
    batch
        .and_then(|b| {
            let t = serde_json::from_value(b.qc_thresholds.clone()?).ok()?;
            Some((b.qc_profile.clone(), t))
        })
        .unwrap_or_else(|| qc::resolve(None, None).expect("the default profile resolves"))
}

pub async fn run(state: &WorkerState, job: &job::Model, batch: Option<&batch::Model>) -> Attempt {
    let provider = &state.settings.provider;
    let (profile, t) = thresholds(batch);
    live::stage(state, job, stages::CONTEXT, json!({})).await;
    let context: Context = crate::context::gather(state, job).await;
    let language = language::resolve(&language::Signals {
        explicit: job.language.as_deref(),
        publisher_domain: &job.publisher_domain,
        publisher_page: context.publisher.as_ref(),
        target_page: context.target.as_ref(),
        batch_default: batch.and_then(|b| b.default_language.as_deref()),
    });
    let candidates = crate::context::trust_candidates(state, &context, job).await;
    let situation = drafts::Situation {
        verified_candidates: candidates.len(),
    };
    let base = prompt::build(
        &prompt::Brief {
            publisher_domain: &job.publisher_domain,
            target_url: &job.target_url,
            anchor_text: &job.anchor_text,
            language: &language,
            thresholds: &t,
            context: &context,
            trust_candidates: &candidates,
        },
        provider.max_output_tokens,
        provider.temperature,
    );
    // A regeneration a reviewer asked for carries their notes (empty when they wrote none).
    let base = match job.review_feedback.as_deref() {
        Some(notes) => prompt::with_review_notes(&base, Some(notes).filter(|n| !n.is_empty())),
        None => base,
    };
    let input = |body: &'_ str| -> QcReport {
        crate::qc::run(
            &QcInput {
                body_markdown: body,
                anchor_text: &job.anchor_text,
                target_url: &job.target_url,
                publisher_domain: &job.publisher_domain,
                language: &language,
            },
            &t,
            &profile,
        )
    };

    let only: Option<Vec<String>> = batch
        .and_then(|b| b.provider_chain.clone())
        .and_then(|v| serde_json::from_value(v).ok());
    let mut route = crate::router::Route::new(only);
    let mut calls = Vec::new();
    let mut request = base.clone();
    let mut purpose = Purpose::Draft;
    let mut drafts = drafts::Drafts::default();
    let mut last_text_hash = None;
    let mut provider_error = None;
    let mut reserved: Vec<String> = Vec::new();
    let mut stopped = false;
    // Between stages the checkpoint below decides; within one (a generation waiting on
    // breakers, limits and backoff) this watcher stops the router.
    let stop = crate::router::Stop::default();
    // Asked before every provider call when the organization limits tokens or spend.
    let budget = crate::router::Budget::for_job(&state.db, job).await;
    let _watcher = StopWatcher(tokio::spawn(watch_for_stop(
        state.db.clone(),
        job.clone(),
        state.owner.clone(),
        stop.clone(),
    )));
    for regenerations in 0..=t.max_regenerations {
        // Each generation is a stage: a cancelled batch or a lost lease spends nothing more.
        let checkpoint = crate::store::checkpoint(&state.db, job, &state.owner).await;
        if checkpoint != crate::store::Checkpoint::Continue {
            tracing::info!(?checkpoint, regenerations, "stopping the attempt");
            stopped = true;
            break;
        }
        if regenerations == 0 {
            live::stage(state, job, stages::WRITING, json!({})).await;
        } else {
            let data = json!({ "regeneration": regenerations });
            live::stage(state, job, stages::REGENERATING, data).await;
        }
        let made_before = calls.len();
        let result = state
            .router
            .generate_with(&request, &mut route, &mut calls, &stop, budget.as_ref())
            .await;
        for call in &mut calls[made_before..] {
            call.purpose = Some(purpose.clone());
        }
        let generation = match result {
            Ok(g) => g,
            Err(_) if stop.is_set() => {
                tracing::info!(regenerations, "stopping the attempt mid-generation");
                stopped = true;
                break;
            }
            Err(e) => {
                provider_error = Some(e);
                break;
            }
        };
        // The router only answers with a usable article; the call that gave it wrote it.
        let writer = calls.last().cloned().expect("a generation made a call");
        let hash = output_hash(&generation.text);
        let repeated = last_text_hash == Some(hash);
        last_text_hash = Some(hash);
        let Some(parsed) = structured::parse(&generation.text) else {
            provider_error = Some(crate::provider::ProviderError::new(
                ErrorClass::Unparseable,
                Some(200),
                "the answer held no article",
            ));
            break;
        };
        let verified = crate::context::verify_trust_links(state, job, &parsed.body_markdown).await;
        reserved.extend(
            verified
                .links
                .iter()
                .filter(|l| l.kept)
                .map(|l| l.url.clone()),
        );
        live::stage(
            state,
            job,
            stages::QC,
            json!({ "regeneration": regenerations }),
        )
        .await;
        let first = input(&verified.body_markdown);
        state
            .metrics
            .qc_failed(first.failed().map(|c| c.check.as_str()));
        let (body, report, fixes) = if first.passed {
            (verified.body_markdown, first, Vec::new())
        } else {
            let data = json!({ "regeneration": regenerations, "failed_checks": first.failed().map(|c| c.check.as_str()).collect::<Vec<_>>() });
            live::stage(state, job, stages::AUTOFIX, data).await;
            let fixed = autofix::apply(
                &verified.body_markdown,
                &job.anchor_text,
                &job.target_url,
                t.anchor_max_count as usize,
                t.allow_lists,
            );
            let report = input(&fixed.body_markdown);
            (fixed.body_markdown, report, fixed.applied)
        };
        let passed = report.passed;
        let feedback = report.feedback();
        let failed_checks: Vec<String> = report.failed().map(|c| c.check.clone()).collect();
        let futile = drafts::futile(&report, situation);
        drafts.add(
            drafts::failed_count(&report),
            ArticleToStore {
                title: parsed.title,
                meta_description: parsed.meta_description,
                word_count: i32::try_from(markdown::analyze(&body).words).unwrap_or(i32::MAX),
                body_markdown: body,
                language: language.clone(),
                deployment: writer.provider.clone(),
                provider: writer.kind.as_str().to_owned(),
                model: generation.model,
                qc_passed: passed,
                qc_report: serde_json::to_value(&report).unwrap_or_default(),
                trust_links: json!(verified.links),
                autofixes: json!(fixes),
                regenerations: regenerations as i32,
                context_report: json!({
                    "target": context.target.as_ref().map(|p| &p.url),
                    "publisher": context.publisher.as_ref().map(|p| &p.url),
                    "notes": context.notes,
                    "trust_link_candidates": candidates,
                }),
                first_try: regenerations == 0 && fixes.is_empty() && passed,
                earlier_drafts: Vec::new(),
            },
        );
        if passed {
            break;
        }
        if let Some(why) = futile {
            tracing::info!(
                regenerations,
                "no regeneration: another draft cannot fix it"
            );
            note_on_best(&mut drafts, &why);
            break;
        }
        if repeated {
            tracing::warn!("the model repeated its draft; no further regeneration");
            break;
        }
        request = prompt::with_feedback(&base, &feedback);
        purpose = Purpose::Regeneration(failed_checks);
    }
    let used: Vec<String> = drafts.best().map_or_else(Vec::new, |a| {
        crate::qc::markdown::analyze(&a.body_markdown)
            .links
            .into_iter()
            .map(|l| l.url)
            .collect()
    });
    crate::context::release_trust_links(state, job, &reserved, &used).await;
    let outcome = match (drafts.into_best(), provider_error) {
        (Some(article), _) if article.qc_passed => Outcome::Succeeded(article),
        (Some(article), _) => Outcome::NeedsReview(article),
        (None, _) if stopped => Outcome::Cancelled,
        (None, Some(e)) if e.class == ErrorClass::BudgetExceeded => Outcome::Failed {
            code: job_errors::BUDGET_EXCEEDED,
            message: e.message,
        },
        (None, Some(e)) if e.class.is_unusable_output() => Outcome::Failed {
            code: job_errors::BAD_PROVIDER_OUTPUT,
            message: format!("after {} call(s): {}", calls.len(), e.message),
        },
        (None, Some(e)) => Outcome::Failed {
            code: job_errors::PROVIDER_FAILED,
            message: format!("the provider failed after {} call(s): {e}", calls.len()),
        },
        (None, None) => Outcome::Failed {
            code: job_errors::BAD_PROVIDER_OUTPUT,
            message: "no answer held a parseable article (title and body)".into(),
        },
    };
    Attempt {
        outcome,
        calls,
        budgeted: budget.is_some(),
    }
}

/// Says in the kept draft's QC report why the attempt stopped without regenerating.
fn note_on_best(drafts: &mut drafts::Drafts, why: &str) {
    if let Some(best) = drafts.best_mut()
        && let Some(report) = best.qc_report.as_object_mut()
    {
        report.insert("not_regenerated".into(), json!(why));
    }
}

/// Ends the watcher with the attempt.
struct StopWatcher(tokio::task::JoinHandle<()>);

impl Drop for StopWatcher {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Looks every two seconds whether the attempt should stop (the batch cancelled, the lease
/// lost) and tells the router.
async fn watch_for_stop(
    db: sea_orm::DatabaseConnection,
    job: job::Model,
    owner: String,
    stop: crate::router::Stop,
) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(2));
    every.tick().await;
    loop {
        every.tick().await;
        if crate::store::checkpoint(&db, &job, &owner).await != crate::store::Checkpoint::Continue {
            stop.set();
            return;
        }
    }
}

/// FNV-1a of the generated text: the loop guard's notion of "the same output".
fn output_hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

//! Judging an attempt's drafts: which one to keep (the fewest failed checks; ties go to the
//! later one), and whether another draft could fix what failed, so that no call is paid for
//! that cannot help.

use crate::{qc::QcReport, store::ArticleToStore};

/// The checks no new draft can fix when the job has no verified trust-link candidate: the
/// model's own sources are then unverifiable too (the linked pages are unreachable, or none
/// passes verification), so asking again buys the same failure.
const NEED_A_VERIFIED_CANDIDATE: &[&str] = &["trust_link_count"];

/// What the attempt knows that decides whether a check is fixable.
#[derive(Debug, Clone, Copy)]
pub struct Situation {
    /// Trust-link candidates that answered 200 before the first call.
    pub verified_candidates: usize,
}

/// Why regenerating cannot fix `report`'s failures, if it cannot: every failed check is one
/// that no draft can fix in this situation.
pub fn futile(report: &QcReport, situation: Situation) -> Option<String> {
    let failed: Vec<&str> = report.failed().map(|c| c.check.as_str()).collect();
    if failed.is_empty() {
        return None;
    }
    let unfixable = |check: &str| {
        situation.verified_candidates == 0 && NEED_A_VERIFIED_CANDIDATE.contains(&check)
    };
    failed.iter().all(|c| unfixable(c)).then(|| {
        format!(
            "not regenerated: {} cannot be fixed by another draft (no trust-link candidate \
             could be verified for this job)",
            failed.join(", ")
        )
    })
}

/// The drafts of one attempt, best kept.
#[derive(Default)]
pub struct Drafts {
    best: Option<(usize, ArticleToStore)>,
    others: Vec<ArticleToStore>,
}

impl Drafts {
    /// Adds a draft with its failed-check count; it becomes the best unless an earlier one
    /// failed fewer checks.
    pub fn add(&mut self, failed: usize, draft: ArticleToStore) {
        match self.best.take() {
            Some((best_failed, best)) if best_failed < failed => {
                self.others.push(draft);
                self.best = Some((best_failed, best));
            }
            Some((_, replaced)) => {
                self.others.push(replaced);
                self.best = Some((failed, draft));
            }
            None => self.best = Some((failed, draft)),
        }
    }

    pub fn best(&self) -> Option<&ArticleToStore> {
        self.best.as_ref().map(|(_, a)| a)
    }

    pub fn best_mut(&mut self) -> Option<&mut ArticleToStore> {
        self.best.as_mut().map(|(_, a)| a)
    }

    /// The best draft, carrying the others (in the order they were written) to be stored as
    /// earlier versions for review.
    pub fn into_best(self) -> Option<ArticleToStore> {
        let (_, mut best) = self.best?;
        let mut others = self.others;
        others.sort_by_key(|a| a.regenerations);
        best.earlier_drafts = others;
        Some(best)
    }
}

pub fn failed_count(report: &QcReport) -> usize {
    report.failed().count()
}

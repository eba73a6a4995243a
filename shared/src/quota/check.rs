//! The decisions, as pure functions of limits, usage and what is asked: a submission (its
//! estimate) and a provider call (its upper bound).

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{
    Exceeded, Limits, Metric,
    usage::{Counting, Usage},
};

/// What a batch or single job would add, from its estimate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Demand {
    pub jobs: i64,
    pub tokens: i64,
    pub cost_micros: i64,
    /// What one of its jobs is expected to cost.
    pub job_cost_micros: i64,
}

/// One limit as a submission would meet it (`POST /batches?dry_run=true` lists them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct QuotaLine {
    #[serde(flatten)]
    pub figures: Exceeded,
    /// The submission would go past this limit (and be refused with 402).
    pub exceeded: bool,
}

/// Every limit the organization has, with the submission's share of it, in [`Metric::ALL`]
/// order. Usage counts calls in flight at their upper bound ([`Counting::Committed`]).
pub fn submission_report(
    limits: &Limits,
    usage: &Usage,
    demand: &Demand,
    now: DateTime<Utc>,
) -> Vec<QuotaLine> {
    Metric::ALL
        .into_iter()
        .filter_map(|metric| {
            let limit = limits.get(metric)?;
            let (used, requested) = match metric {
                Metric::JobsPerMonth => (usage.jobs_month, demand.jobs),
                Metric::TokensPerMonth => (usage.used(metric, Counting::Committed), demand.tokens),
                Metric::SpendPerDay | Metric::SpendPerMonth => {
                    (usage.used(metric, Counting::Committed), demand.cost_micros)
                }
                // A cap on each job, not a running total: nothing of it is used yet.
                Metric::SpendPerJob => (0, demand.job_cost_micros),
            };
            let figures = Exceeded::new(metric, limit, used, requested, now);
            Some(QuotaLine {
                exceeded: requested > figures.remaining,
                figures,
            })
        })
        .collect()
}

/// The first limit the submission would go past.
pub fn submission(
    limits: &Limits,
    usage: &Usage,
    demand: &Demand,
    now: DateTime<Utc>,
) -> Result<(), Exceeded> {
    match submission_report(limits, usage, demand, now)
        .into_iter()
        .find(|l| l.exceeded)
    {
        Some(line) => Err(line.figures),
        None => Ok(()),
    }
}

/// The most one provider call can cost, reserved before it is made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallDemand {
    pub cost_micros: i64,
    pub tokens: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallVerdict {
    /// Within every limit even if every call in flight costs its most.
    Allowed,
    /// Past a limit on what is already spent: the call can never fit.
    Refused(Exceeded),
    /// It fits what is spent, but not what calls in flight may still cost: ask again once
    /// they have answered.
    Wait(Exceeded),
}

const CALL_METRICS: [Metric; 4] = [
    Metric::TokensPerMonth,
    Metric::SpendPerDay,
    Metric::SpendPerMonth,
    Metric::SpendPerJob,
];

pub fn call(
    limits: &Limits,
    usage: &Usage,
    demand: &CallDemand,
    now: DateTime<Utc>,
) -> CallVerdict {
    let over = |counting: Counting| {
        CALL_METRICS.into_iter().find_map(|metric| {
            let limit = limits.get(metric)?;
            let requested = match metric {
                Metric::TokensPerMonth => demand.tokens,
                _ => demand.cost_micros,
            };
            let e = Exceeded::new(metric, limit, usage.used(metric, counting), requested, now);
            (requested > e.remaining).then_some(e)
        })
    };
    if let Some(e) = over(Counting::Spent) {
        return CallVerdict::Refused(e);
    }
    match over(Counting::Committed) {
        Some(e) => CallVerdict::Wait(e),
        None => CallVerdict::Allowed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-11-30T10:00:00Z".parse().unwrap()
    }

    fn usage() -> Usage {
        Usage {
            jobs_month: 90,
            tokens_month: 1_000,
            spend_day: 10_000,
            spend_month: 50_000,
            job_spend: 0,
            settled_cost: 2_000,
            settled_tokens: 100,
            pending_cost: 3_000,
            pending_tokens: 200,
            job_settled_cost: 0,
            job_pending_cost: 0,
        }
    }

    #[test]
    fn a_submission_is_refused_on_the_first_limit_it_passes() {
        let limits = Limits {
            quota_jobs_per_month: Some(100),
            budget_day_micros: Some(20_000),
            ..Limits::default()
        };
        let fits = Demand {
            jobs: 10,
            tokens: 5_000,
            cost_micros: 5_000,
            job_cost_micros: 500,
        };
        assert_eq!(submission(&limits, &usage(), &fits, now()), Ok(()));
        let e = submission(&limits, &usage(), &Demand { jobs: 11, ..fits }, now()).unwrap_err();
        assert_eq!(
            (e.metric, e.limit, e.used, e.requested, e.remaining),
            (Metric::JobsPerMonth, 100, 90, 11, 10)
        );
        // Spend counts what calls in flight may cost: 10,000 + 2,000 + 3,000 used.
        let e = submission(
            &limits,
            &usage(),
            &Demand {
                cost_micros: 5_001,
                ..fits
            },
            now(),
        )
        .unwrap_err();
        assert_eq!(
            (e.metric, e.used, e.remaining),
            (Metric::SpendPerDay, 15_000, 5_000)
        );
        let report = submission_report(&limits, &usage(), &fits, now());
        assert_eq!(report.len(), 2, "only the limits the organization has");
        assert!(report.iter().all(|l| !l.exceeded));
    }

    #[test]
    fn the_job_cap_is_checked_against_one_jobs_expected_cost() {
        let limits = Limits {
            budget_job_micros: Some(1_000),
            ..Limits::default()
        };
        let demand = Demand {
            jobs: 100,
            tokens: 1,
            cost_micros: 100_100,
            job_cost_micros: 1_001,
        };
        let e = submission(&limits, &usage(), &demand, now()).unwrap_err();
        assert_eq!(
            (e.metric, e.used, e.requested, e.remaining, e.period),
            (Metric::SpendPerJob, 0, 1_001, 1_000, None)
        );
    }

    #[test]
    fn a_call_waits_for_calls_in_flight_and_is_refused_on_what_is_spent() {
        let limits = Limits {
            budget_day_micros: Some(20_000),
            ..Limits::default()
        };
        let call_of = |cost| CallDemand {
            cost_micros: cost,
            tokens: 10,
        };
        // 12,000 spent, 3,000 more in flight.
        assert_eq!(
            call(&limits, &usage(), &call_of(5_000), now()),
            CallVerdict::Allowed
        );
        match call(&limits, &usage(), &call_of(6_000), now()) {
            CallVerdict::Wait(e) => assert_eq!((e.used, e.remaining), (15_000, 5_000)),
            other => panic!("{other:?}"),
        }
        match call(&limits, &usage(), &call_of(8_001), now()) {
            CallVerdict::Refused(e) => {
                assert_eq!(
                    (e.metric, e.used, e.remaining),
                    (Metric::SpendPerDay, 12_000, 8_000)
                )
            }
            other => panic!("{other:?}"),
        }
        let job_cap = Limits {
            budget_job_micros: Some(4_000),
            ..Limits::default()
        };
        let spent = Usage {
            job_spend: 1_000,
            job_settled_cost: 2_000,
            ..usage()
        };
        match call(&job_cap, &spent, &call_of(1_001), now()) {
            CallVerdict::Refused(e) => assert_eq!((e.metric, e.used), (Metric::SpendPerJob, 3_000)),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            call(&Limits::default(), &usage(), &call_of(i64::MAX), now()),
            CallVerdict::Allowed
        );
    }
}

//! Quotas and budgets (#7), per organization: jobs and tokens per month, spend per day and per
//! month, and a cap on what one job may cost. The API refuses a submission whose estimate does
//! not fit what is left ([`check`]); the worker reserves each provider call's cost before making
//! it ([`reserve`]); crossing 80% of a limit sends one alert per period ([`alerts`]).
//!
//! Periods are UTC calendar days and months. Usage is what `llm_calls` records (a call is
//! recorded, with the time of recording, when its job's outcome is written) plus what running
//! jobs have reserved and not yet recorded. Money is in micro-dollars, like `cost_micros`.
//! The SQL is Postgres's, with a SQLite variant beside each statement for the embedded build
//! (#8), chosen by the connection's backend.

pub mod alerts;
pub mod check;
pub mod reserve;
pub mod usage;

use chrono::{DateTime, Datelike, NaiveTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::entities::organization;

/// What is limited. The wire names are part of the API contract (`field` of a 402, webhook
/// and audit payloads, `budget_alerts.metric`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = QuotaMetric)]
pub enum Metric {
    /// Jobs created (links submitted) this UTC month.
    JobsPerMonth,
    /// Tokens in and out of provider calls this UTC month.
    TokensPerMonth,
    /// Provider spend this UTC day, in micro-dollars.
    SpendPerDay,
    /// Provider spend this UTC month, in micro-dollars.
    SpendPerMonth,
    /// Provider spend of one job (all its attempts), in micro-dollars.
    SpendPerJob,
}

impl Metric {
    pub const ALL: [Self; 5] = [
        Self::JobsPerMonth,
        Self::TokensPerMonth,
        Self::SpendPerDay,
        Self::SpendPerMonth,
        Self::SpendPerJob,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::JobsPerMonth => "jobs_per_month",
            Self::TokensPerMonth => "tokens_per_month",
            Self::SpendPerDay => "spend_per_day",
            Self::SpendPerMonth => "spend_per_month",
            Self::SpendPerJob => "spend_per_job",
        }
    }

    /// What the numbers count: `jobs`, `tokens` or `micro_usd`.
    pub fn unit(self) -> &'static str {
        match self {
            Self::JobsPerMonth => "jobs",
            Self::TokensPerMonth => "tokens",
            Self::SpendPerDay | Self::SpendPerMonth | Self::SpendPerJob => "micro_usd",
        }
    }

    /// The period the metric is counted over at `now`: `2026-11` or `2026-11-30` (UTC).
    /// `None` for the per-job cap, which has no period.
    pub fn period(self, now: DateTime<Utc>) -> Option<String> {
        match self {
            Self::JobsPerMonth | Self::TokensPerMonth | Self::SpendPerMonth => {
                Some(now.format("%Y-%m").to_string())
            }
            Self::SpendPerDay => Some(now.format("%Y-%m-%d").to_string()),
            Self::SpendPerJob => None,
        }
    }

    /// `12,345 tokens`, `$0.012345`: a figure in this metric's unit, for messages.
    pub fn show(self, n: i64) -> String {
        match self.unit() {
            "micro_usd" => usd(n),
            unit => format!("{n} {unit}"),
        }
    }
}

impl std::fmt::Display for Metric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An organization's quotas and budgets; `None`: no limit. Money in micro-dollars. The field
/// names are the `organizations` columns', for a settings route to read and write as is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Limits {
    pub quota_jobs_per_month: Option<i64>,
    pub quota_tokens_per_month: Option<i64>,
    pub budget_day_micros: Option<i64>,
    pub budget_month_micros: Option<i64>,
    pub budget_job_micros: Option<i64>,
}

impl Limits {
    pub fn of(org: &organization::Model) -> Self {
        Self {
            quota_jobs_per_month: org.quota_jobs_per_month,
            quota_tokens_per_month: org.quota_tokens_per_month,
            budget_day_micros: org.budget_day_micros,
            budget_month_micros: org.budget_month_micros,
            budget_job_micros: org.budget_job_micros,
        }
    }

    pub fn get(&self, metric: Metric) -> Option<i64> {
        match metric {
            Metric::JobsPerMonth => self.quota_jobs_per_month,
            Metric::TokensPerMonth => self.quota_tokens_per_month,
            Metric::SpendPerDay => self.budget_day_micros,
            Metric::SpendPerMonth => self.budget_month_micros,
            Metric::SpendPerJob => self.budget_job_micros,
        }
    }

    /// Whether any limit applies to provider calls (everything but the jobs quota): if not,
    /// the worker makes its calls without reserving anything.
    pub fn limits_calls(&self) -> bool {
        self.quota_tokens_per_month.is_some()
            || self.budget_day_micros.is_some()
            || self.budget_month_micros.is_some()
            || self.budget_job_micros.is_some()
    }

    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The column name of the first negative limit, for a settings route's 422.
    pub fn invalid_field(&self) -> Option<&'static str> {
        [
            ("quota_jobs_per_month", self.quota_jobs_per_month),
            ("quota_tokens_per_month", self.quota_tokens_per_month),
            ("budget_day_micros", self.budget_day_micros),
            ("budget_month_micros", self.budget_month_micros),
            ("budget_job_micros", self.budget_job_micros),
        ]
        .into_iter()
        .find(|(_, v)| v.is_some_and(|v| v < 0))
        .map(|(name, _)| name)
    }
}

/// Micro-dollars as dollars, exactly: `$0.012345`.
pub fn usd(micros: i64) -> String {
    let sign = if micros < 0 { "-" } else { "" };
    let n = micros.unsigned_abs();
    format!("{sign}${}.{:06}", n / 1_000_000, n % 1_000_000)
}

/// What is left of `limit` once `used` is spent; never negative.
pub fn remaining(limit: i64, used: i64) -> i64 {
    limit.saturating_sub(used).max(0)
}

/// Whether `used` has reached 80% of `limit` (exactly, in integers). A zero limit alerts
/// nobody: it refuses everything from the start.
pub fn at_alert_level(limit: i64, used: i64) -> bool {
    limit > 0 && i128::from(used) * 5 >= i128::from(limit) * 4
}

/// `used` as a percentage of `limit`, to one decimal.
pub fn percent(limit: i64, used: i64) -> f64 {
    if limit <= 0 {
        return 0.0;
    }
    (used as f64 * 1000.0 / limit as f64).round() / 10.0
}

/// Midnight UTC of `now`'s day, and of the first of its month.
pub fn period_starts(now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let day = now.date_naive().and_time(NaiveTime::MIN);
    let month = day.with_day(1).expect("the first of a month exists");
    (Utc.from_utc_datetime(&day), Utc.from_utc_datetime(&month))
}

/// A limit that a submission or a call would go past: which, and the numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = QuotaExceeded)]
pub struct Exceeded {
    pub metric: Metric,
    /// `jobs`, `tokens` or `micro_usd`.
    pub unit: String,
    /// `2026-11` or `2026-11-30` (UTC); absent for the per-job cap.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
    pub limit: i64,
    /// Used so far in the period (for the per-job cap: what the job has cost so far).
    pub used: i64,
    /// What the refused batch, job or call would add (its estimate).
    pub requested: i64,
    /// `limit - used`, never negative.
    pub remaining: i64,
}

impl Exceeded {
    pub fn new(metric: Metric, limit: i64, used: i64, requested: i64, now: DateTime<Utc>) -> Self {
        Self {
            metric,
            unit: metric.unit().to_owned(),
            period: metric.period(now),
            limit,
            used,
            requested,
            remaining: remaining(limit, used),
        }
    }
}

impl std::fmt::Display for Exceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let m = self.metric;
        let period = self
            .period
            .as_deref()
            .map(|p| format!(" for {p}"))
            .unwrap_or_default();
        write!(
            f,
            "{m} limit of {}{period} would be exceeded: {} used, {} requested, {} remaining",
            m.show(self.limit),
            m.show(self.used),
            m.show(self.requested),
            m.show(self.remaining),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn remaining_never_goes_negative() {
        assert_eq!(remaining(100, 30), 70);
        assert_eq!(remaining(100, 100), 0);
        assert_eq!(remaining(100, 130), 0);
        assert_eq!(remaining(0, 0), 0);
        assert_eq!(remaining(i64::MAX, -1), i64::MAX);
    }

    #[test]
    fn the_alert_level_is_eighty_percent_exactly() {
        assert!(!at_alert_level(100, 79));
        assert!(at_alert_level(100, 80));
        assert!(at_alert_level(100, 120));
        // 80% of 7 is 5.6: 5 is below, 6 is above.
        assert!(!at_alert_level(7, 5));
        assert!(at_alert_level(7, 6));
        assert!(
            !at_alert_level(0, 0),
            "a zero limit refuses; it never warns"
        );
        assert!(at_alert_level(i64::MAX, i64::MAX), "no overflow");
        assert_eq!(percent(20_000, 16_000), 80.0);
        assert_eq!(percent(3, 1), 33.3);
        assert_eq!(percent(0, 5), 0.0);
    }

    #[test]
    fn periods_are_utc_days_and_months() {
        let now = at("2026-11-30T23:59:59.999+00:00");
        assert_eq!(Metric::SpendPerDay.period(now).unwrap(), "2026-11-30");
        assert_eq!(Metric::SpendPerMonth.period(now).unwrap(), "2026-11");
        assert_eq!(Metric::JobsPerMonth.period(now).unwrap(), "2026-11");
        assert_eq!(Metric::SpendPerJob.period(now), None);
        // 01:00 in Stockholm on 1 December is still 30 November in UTC.
        let cet = DateTime::parse_from_rfc3339("2026-12-01T00:30:00+01:00")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(Metric::SpendPerDay.period(cet).unwrap(), "2026-11-30");
        let (day, month) = period_starts(now);
        assert_eq!(day, at("2026-11-30T00:00:00Z"));
        assert_eq!(month, at("2026-11-01T00:00:00Z"));
    }

    #[test]
    fn figures_read_in_their_units() {
        assert_eq!(Metric::SpendPerDay.show(20_000), "$0.020000");
        assert_eq!(Metric::SpendPerMonth.show(12_500_000), "$12.500000");
        assert_eq!(Metric::JobsPerMonth.show(175), "175 jobs");
        assert_eq!(usd(-1_500_000), "-$1.500000");
        let e = Exceeded::new(
            Metric::SpendPerDay,
            20_000,
            15_000,
            8_000,
            at("2026-11-30T10:00:00Z"),
        );
        assert_eq!(e.remaining, 5_000);
        assert_eq!(
            e.to_string(),
            "spend_per_day limit of $0.020000 for 2026-11-30 would be exceeded: $0.015000 used, \
             $0.008000 requested, $0.005000 remaining"
        );
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["metric"], "spend_per_day");
        assert_eq!(json["unit"], "micro_usd");
        assert_eq!(json["period"], "2026-11-30");
    }

    #[test]
    fn limits_know_what_they_limit() {
        let none = Limits::default();
        assert!(none.is_empty() && !none.limits_calls());
        let jobs_only = Limits {
            quota_jobs_per_month: Some(10),
            ..Limits::default()
        };
        assert!(
            !jobs_only.limits_calls(),
            "the jobs quota is the API's alone"
        );
        let day = Limits {
            budget_day_micros: Some(1),
            ..Limits::default()
        };
        assert!(day.limits_calls());
        assert_eq!(day.get(Metric::SpendPerDay), Some(1));
        let bad = Limits {
            budget_job_micros: Some(-5),
            ..Limits::default()
        };
        assert_eq!(bad.invalid_field(), Some("budget_job_micros"));
        assert_eq!(day.invalid_field(), None);
    }
}

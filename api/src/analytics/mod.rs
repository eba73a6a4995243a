//! Analytics (`/api/v1/analytics/*`): the organization's jobs, backlinks and costs over a
//! date range, computed by the database with aggregates on indexed ranges, never by loading
//! rows into the API.
//!
//! Every statement exists in two dialects, chosen by the connection's backend
//! (`Dialect::of`); both give the same report for the same rows (`tests/api/analytics_sqlite.rs`
//! seeds one data set into each and compares):
//! - Postgres (production): `to_char(… AT TIME ZONE 'UTC')`, `FILTER`, `percentile_cont`,
//!   `GROUPING SETS` and `regexp_replace`.
//! - SQLite (the embedded build, #8; the bundled SQLite is 3.51): `strftime('%Y-%m-%d', …)`;
//!   `FILTER` (SQLite ≥ 3.30); `percentile_cont` as `ROW_NUMBER()` ranks and Postgres'
//!   interpolation between the two nearest ranks; one `SELECT` per grouping set joined by
//!   `UNION ALL`, each tagged with the `GROUPING()` value Postgres would give it; host
//!   extraction with `instr`/`substr`/`rtrim`/`GLOB` instead of regular expressions.
//!
//! SQLite column formats, as sea-orm (sqlx) writes them: uuids are 16-byte blobs (bound the
//! same way, so `=` and joins compare blobs), timestamps are RFC 3339 text in UTC
//! (`2026-11-01T08:00:00+00:00`, fractional seconds only when non-zero), which sorts like the
//! instants it names, so range filters compare text and keep using the indexes (this assumes
//! every timestamp was written that way, not as SQLite's `CURRENT_TIMESTAMP`). JSON is text.
//! What SQLite cannot match exactly: durations are computed to the millisecond (`julianday`),
//! Postgres keeps microseconds; `lower()` folds ASCII only, Postgres' follows the database
//! locale for non-ASCII hosts.

pub mod backlinks;
pub mod costs;
pub mod jobs;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement, Value};
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;
use uuid::Uuid;

use crate::error::ApiError;

pub const DEFAULT_DAYS: i64 = 30;
pub const MAX_DAYS: i64 = 366;

/// The date range of an analytics request.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RangeParams {
    /// Start, inclusive: an RFC 3339 date (`2026-11-01`, midnight UTC) or date-time
    /// (`2026-11-01T08:00:00Z`). Default: 30 days before `to`.
    #[param(example = "2026-11-01")]
    pub from: Option<String>,
    /// End: a date includes that whole day (UTC); a date-time is exclusive. Default: now.
    /// At most 366 days after `from`.
    #[param(example = "2026-11-30")]
    pub to: Option<String>,
}

/// The range a report covers: `from` ≤ t < `to`, in UTC.
#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
pub struct Range {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

enum Bound {
    Start,
    End,
}

fn parse_bound(raw: &str, field: &str, bound: Bound) -> Result<DateTime<Utc>, ApiError> {
    let raw = raw.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Ok(t.with_timezone(&Utc));
    }
    let date = NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| {
        ApiError::bad_request(
            field,
            "must be an RFC 3339 date (2026-11-01) or date-time (2026-11-01T08:00:00Z)",
        )
    })?;
    let date = match bound {
        Bound::Start => Some(date),
        Bound::End => date.succ_opt(),
    };
    date.and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .ok_or_else(|| ApiError::bad_request(field, "is out of range"))
}

impl Range {
    pub fn parse(params: &RangeParams, now: DateTime<Utc>) -> Result<Self, ApiError> {
        let to = match params.to.as_deref() {
            Some(raw) => parse_bound(raw, "to", Bound::End)?,
            None => now,
        };
        let from = match params.from.as_deref() {
            Some(raw) => parse_bound(raw, "from", Bound::Start)?,
            None => to - Duration::days(DEFAULT_DAYS),
        };
        if from >= to {
            return Err(ApiError::bad_request("from", "must be before `to`"));
        }
        if to - from > Duration::days(MAX_DAYS) {
            return Err(ApiError::bad_request(
                "to",
                format!("the range may span at most {MAX_DAYS} days"),
            ));
        }
        Ok(Self { from, to })
    }

    /// A statement whose first three parameters are the organization and this range (`$1`,
    /// `$2`, `$3` in Postgres, `?1`, `?2`, `?3` in SQLite), then `extra`.
    fn statement(
        &self,
        dialect: Dialect,
        sql: &str,
        org_id: Uuid,
        extra: impl IntoIterator<Item = Value>,
    ) -> Statement {
        let mut values: Vec<Value> = vec![org_id.into(), self.from.into(), self.to.into()];
        values.extend(extra);
        Statement::from_sql_and_values(dialect.backend(), sql, values)
    }
}

/// The SQL dialect of a connection: which version of each statement it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    Postgres,
    Sqlite,
}

impl Dialect {
    fn of(db: &impl ConnectionTrait) -> Result<Self, DbErr> {
        match db.get_database_backend() {
            DbBackend::Postgres => Ok(Self::Postgres),
            DbBackend::Sqlite => Ok(Self::Sqlite),
            _ => Err(DbErr::BackendNotSupported {
                db: "MySQL",
                ctx: "analytics",
            }),
        }
    }

    fn backend(self) -> DbBackend {
        match self {
            Self::Postgres => DbBackend::Postgres,
            Self::Sqlite => DbBackend::Sqlite,
        }
    }

    /// This dialect's version of a statement.
    fn pick<'a>(self, postgres: &'a str, sqlite: &'a str) -> &'a str {
        match self {
            Self::Postgres => postgres,
            Self::Sqlite => sqlite,
        }
    }
}

/// `part / whole`, or `None` when there is nothing to divide.
fn rate(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

fn usd(micros: i64) -> f64 {
    micros as f64 / 1_000_000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(from: Option<&str>, to: Option<&str>) -> RangeParams {
        RangeParams {
            from: from.map(str::to_owned),
            to: to.map(str::to_owned),
        }
    }

    #[test]
    fn dates_and_date_times_parse() {
        let now = "2026-11-30T12:00:00Z".parse().unwrap();
        let r = Range::parse(&params(None, None), now).unwrap();
        assert_eq!(r.to, now);
        assert_eq!(r.from, now - Duration::days(30));
        let r = Range::parse(&params(Some("2026-11-01"), Some("2026-11-02")), now).unwrap();
        assert_eq!(r.from.to_rfc3339(), "2026-11-01T00:00:00+00:00");
        assert_eq!(
            r.to.to_rfc3339(),
            "2026-11-03T00:00:00+00:00",
            "a date includes its day"
        );
        let r = Range::parse(
            &params(
                Some("2026-11-01T10:00:00+02:00"),
                Some("2026-11-01T12:00:00Z"),
            ),
            now,
        )
        .unwrap();
        assert_eq!(r.from.to_rfc3339(), "2026-11-01T08:00:00+00:00");
    }

    #[test]
    fn bad_ranges_name_the_field() {
        let now = Utc::now();
        for (from, to, field) in [
            (Some("yesterday"), None, "from"),
            (None, Some("2026-13-01"), "to"),
            (Some("2026-11-02"), Some("2026-11-01"), "from"),
            (Some("2024-01-01"), Some("2026-01-01"), "to"),
        ] {
            let err = Range::parse(&params(from, to), now).unwrap_err();
            assert_eq!(err.status(), 400);
            assert!(
                format!("{err:?}").contains(&format!("field: Some(\"{field}\")")),
                "{err:?}"
            );
        }
    }
}

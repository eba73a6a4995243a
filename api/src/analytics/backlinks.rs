//! `/analytics/backlinks`: links and articles by publisher domain and by target domain.
//!
//! Over jobs created in the range. A link is a job; its article is the job's current (latest)
//! version, the one under review; word counts are those articles'. The target domain is the
//! host of `target_url`, lowercased, without user info, port or a leading `www.`, computed in
//! SQL so grouping happens in the database.

use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, Value};
use serde::Serialize;
use uuid::Uuid;

use super::{Dialect, Range};

pub const DEFAULT_LIMIT: u64 = 100;
pub const MAX_LIMIT: u64 = 1000;

/// One row per job: its domains and its current article's word count (NULL: no article).
const LINKS: &str = r#"
WITH links AS (
    SELECT j.publisher_domain AS publisher,
           regexp_replace(regexp_replace(regexp_replace(
               lower(coalesce(substring(j.target_url from '^[A-Za-z][A-Za-z0-9+.-]*://([^/?#]*)'), '')),
               '^.*@', ''), ':[0-9]*$', ''), '^www\.', '') AS target,
           a.word_count
    FROM jobs j
    LEFT JOIN articles a
           ON a.job_id = j.id
          AND a.version = (SELECT MAX(m.version) FROM articles m WHERE m.job_id = j.id)
    WHERE j.org_id = $1 AND j.created_at >= $2 AND j.created_at < $3
)
"#;

const AGGREGATES: &str = r#"
       COUNT(*)::bigint AS links,
       COUNT(word_count)::bigint AS articles,
       COALESCE(SUM(word_count), 0)::bigint AS words_total,
       AVG(word_count)::double precision AS words_avg
"#;

/// `LINKS` for SQLite, which has no regular expressions: the same host, step by step.
/// - `authorities`: what follows `scheme://` (lowercased), when the URL starts with a scheme
///   (a letter, then letters, digits, `+`, `.` or `-`); otherwise ''.
/// - `hosts`: up to the first `/`, `?` or `#`.
/// - `unuser`: after the last `@` (`rtrim(s, <s without '@'>)` is `s` up to its last `@`).
/// - `unport`: without a trailing `:digits` (the last `:`, found the same way).
/// - `links`: without a leading `www.`.
const SQLITE_LINKS: &str = r#"
WITH scoped AS (
    SELECT j.publisher_domain AS publisher,
           lower(j.target_url) AS url,
           instr(j.target_url, '://') AS sep,
           a.word_count
    FROM jobs j
    LEFT JOIN articles a
           ON a.job_id = j.id
          AND a.version = (SELECT MAX(m.version) FROM articles m WHERE m.job_id = j.id)
    WHERE j.org_id = ?1 AND j.created_at >= ?2 AND j.created_at < ?3
),
authorities AS (
    SELECT publisher, word_count,
           CASE WHEN sep > 1
                 AND substr(url, 1, sep - 1) GLOB '[a-z]*'
                 AND substr(url, 1, sep - 1) NOT GLOB '*[^a-z0-9+.-]*'
                THEN substr(url, sep + 3) ELSE '' END AS rest
    FROM scoped
),
hosts AS (
    SELECT publisher, word_count,
           substr(rest, 1, min(coalesce(nullif(instr(rest, '/'), 0), length(rest) + 1),
                               coalesce(nullif(instr(rest, '?'), 0), length(rest) + 1),
                               coalesce(nullif(instr(rest, '#'), 0), length(rest) + 1)) - 1)
               AS authority
    FROM authorities
),
unuser AS (
    SELECT publisher, word_count,
           substr(authority, length(rtrim(authority, replace(authority, '@', ''))) + 1) AS host
    FROM hosts
),
unport AS (
    SELECT publisher, word_count, host,
           length(rtrim(host, replace(host, ':', ''))) AS colon
    FROM unuser
),
links AS (
    SELECT publisher, word_count,
           CASE WHEN substr(bare, 1, 4) = 'www.' THEN substr(bare, 5) ELSE bare END AS target
    FROM (
        SELECT publisher, word_count,
               CASE WHEN instr(host, ':') > 0 AND substr(host, colon + 1) NOT GLOB '*[^0-9]*'
                    THEN substr(host, 1, colon - 1) ELSE host END AS bare
        FROM unport
    )
)
"#;

const SQLITE_AGGREGATES: &str = r#"
       COUNT(*) AS links,
       COUNT(word_count) AS articles,
       COALESCE(SUM(word_count), 0) AS words_total,
       AVG(word_count) AS words_avg
"#;

#[derive(Debug, FromQueryResult)]
struct DomainRow {
    domain: String,
    links: i64,
    articles: i64,
    words_total: i64,
    words_avg: Option<f64>,
}

#[derive(Debug, FromQueryResult)]
struct TotalRow {
    links: i64,
    articles: i64,
    words_total: i64,
    words_avg: Option<f64>,
    publishers: i64,
    targets: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DomainStats {
    pub domain: String,
    /// Link assignments (jobs).
    pub links: i64,
    /// Of those, links with an article.
    pub articles: i64,
    /// Words of the current articles, summed and averaged (null without articles).
    pub words_total: i64,
    pub words_avg: Option<f64>,
}

impl From<DomainRow> for DomainStats {
    fn from(r: DomainRow) -> Self {
        Self {
            domain: r.domain,
            links: r.links,
            articles: r.articles,
            words_total: r.words_total,
            words_avg: r.words_avg,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BacklinkTotals {
    pub links: i64,
    pub articles: i64,
    pub words_total: i64,
    pub words_avg: Option<f64>,
    /// Distinct publisher and target domains.
    pub publishers: i64,
    pub targets: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BacklinkAnalytics {
    pub range: Range,
    pub totals: BacklinkTotals,
    /// Most links first (then by name), at most `limit`.
    pub by_publisher: Vec<DomainStats>,
    pub by_target: Vec<DomainStats>,
}

async fn top(
    db: &impl ConnectionTrait,
    org_id: Uuid,
    range: Range,
    column: &str,
    limit: u64,
) -> Result<Vec<DomainStats>, DbErr> {
    let dialect = Dialect::of(db)?;
    let sql = match dialect {
        Dialect::Postgres => format!(
            "{LINKS} SELECT {column} AS domain, {AGGREGATES} FROM links GROUP BY {column} \
             ORDER BY links DESC, domain LIMIT $4"
        ),
        Dialect::Sqlite => format!(
            "{SQLITE_LINKS} SELECT {column} AS domain, {SQLITE_AGGREGATES} FROM links \
             GROUP BY {column} ORDER BY links DESC, domain LIMIT ?4"
        ),
    };
    let limit = Value::BigInt(Some(limit as i64));
    Ok(
        DomainRow::find_by_statement(range.statement(dialect, &sql, org_id, [limit]))
            .all(db)
            .await?
            .into_iter()
            .map(DomainStats::from)
            .collect(),
    )
}

pub async fn report(
    db: &impl ConnectionTrait,
    org_id: Uuid,
    range: Range,
    limit: u64,
) -> Result<BacklinkAnalytics, DbErr> {
    let dialect = Dialect::of(db)?;
    let sql = match dialect {
        Dialect::Postgres => format!(
            "{LINKS} SELECT {AGGREGATES}, COUNT(DISTINCT publisher)::bigint AS publishers, \
             COUNT(DISTINCT target)::bigint AS targets FROM links"
        ),
        Dialect::Sqlite => format!(
            "{SQLITE_LINKS} SELECT {SQLITE_AGGREGATES}, COUNT(DISTINCT publisher) AS publishers, \
             COUNT(DISTINCT target) AS targets FROM links"
        ),
    };
    let totals = TotalRow::find_by_statement(range.statement(dialect, &sql, org_id, []))
        .one(db)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("an aggregate without a row".into()))?;
    Ok(BacklinkAnalytics {
        range,
        totals: BacklinkTotals {
            links: totals.links,
            articles: totals.articles,
            words_total: totals.words_total,
            words_avg: totals.words_avg,
            publishers: totals.publishers,
            targets: totals.targets,
        },
        by_publisher: top(db, org_id, range, "publisher", limit).await?,
        by_target: top(db, org_id, range, "target", limit).await?,
    })
}

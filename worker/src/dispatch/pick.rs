//! Choosing what to push next: round-robin across organizations with queued work, each kept
//! under its running cap, the whole fleet under the window; then marking and pushing.

use chrono::{DateTime, Utc};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, DbErr, FromQueryResult, Statement, Value,
};
use uuid::Uuid;

use bacowr_shared::{
    ids::{JobId, OrgId},
    queue::{self, ArticleQueue, GenerateArticle},
};

/// Jobs in Redis or running, fleet-wide: what the window bounds.
pub async fn in_flight(db: &DatabaseConnection) -> Result<i64, DbErr> {
    #[derive(FromQueryResult)]
    struct Count {
        n: i64,
    }
    let sql = "SELECT COUNT(*) AS n FROM jobs \
               WHERE status = 'running' OR (status = 'queued' AND dispatched_at IS NOT NULL)";
    let row = Count::find_by_statement(Statement::from_string(db.get_database_backend(), sql))
        .one(db)
        .await?;
    Ok(row.map_or(0, |r| r.n))
}

#[derive(FromQueryResult)]
struct Candidate {
    id: Uuid,
}

/// Up to `limit` job ids, fairly: a job's place is the slot it would take in its
/// organization (jobs already in flight plus its rank among the waiting ones), so the
/// organization with the least in flight goes first and a long backlog takes turns with a
/// short one. No organization passes its cap.
pub async fn choose(
    db: &DatabaseConnection,
    default_cap: i64,
    limit: i64,
    now: DateTime<Utc>,
) -> Result<Vec<Uuid>, DbErr> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Sqlite => SQLITE_CHOOSE,
        _ => POSTGRES_CHOOSE,
    };
    let rows = Candidate::find_by_statement(Statement::from_sql_and_values(
        backend,
        sql,
        [now.into(), default_cap.into(), limit.into()],
    ))
    .all(db)
    .await?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

// Per organization, only as many of its oldest waiting jobs as its cap leaves room for
// (an index scan each, via idx_jobs_undispatched), however long its backlog.
const POSTGRES_CHOOSE: &str = r#"
WITH flight AS (
    SELECT org_id, COUNT(*) AS n FROM jobs
    WHERE status = 'running' OR (status = 'queued' AND dispatched_at IS NOT NULL)
    GROUP BY org_id
)
SELECT c.id AS id
FROM organizations o
JOIN (SELECT DISTINCT org_id FROM jobs WHERE status = 'queued' AND dispatched_at IS NULL) w
  ON w.org_id = o.id
LEFT JOIN flight f ON f.org_id = o.id
CROSS JOIN LATERAL (
    SELECT j.id, j.created_at,
           ROW_NUMBER() OVER (ORDER BY j.created_at, j.row_index, j.id) AS rn
    FROM jobs j
    WHERE j.org_id = o.id AND j.status = 'queued' AND j.dispatched_at IS NULL
      AND (j.not_before IS NULL OR j.not_before <= $1)
      AND NOT EXISTS (SELECT 1 FROM batches b WHERE b.id = j.batch_id AND b.status = 'cancelled')
    ORDER BY j.created_at, j.row_index, j.id
    LIMIT GREATEST(COALESCE(o.max_running, $2) - COALESCE(f.n, 0), 0)
) c
ORDER BY COALESCE(f.n, 0) + c.rn, c.created_at, c.id
LIMIT $3"#;

// SQLite (the embedded build, #8) has no LATERAL join: every waiting job is ranked within
// its organization in one pass and the cap applied to the rank, which reads the whole backlog
// where Postgres stops at each cap. An embedded backlog is one installation's, so small.
const SQLITE_CHOOSE: &str = r#"
WITH flight AS (
    SELECT org_id, COUNT(*) AS n FROM jobs
    WHERE status = 'running' OR (status = 'queued' AND dispatched_at IS NOT NULL)
    GROUP BY org_id
),
waiting AS (
    SELECT j.id, j.org_id, j.created_at,
           ROW_NUMBER() OVER (PARTITION BY j.org_id ORDER BY j.created_at, j.row_index, j.id) AS rn
    FROM jobs j
    WHERE j.status = 'queued' AND j.dispatched_at IS NULL
      AND (j.not_before IS NULL OR j.not_before <= ?1)
      AND NOT EXISTS (SELECT 1 FROM batches b WHERE b.id = j.batch_id AND b.status = 'cancelled')
)
SELECT w.id AS id
FROM waiting w
JOIN organizations o ON o.id = w.org_id
LEFT JOIN flight f ON f.org_id = w.org_id
WHERE w.rn <= COALESCE(o.max_running, ?2) - COALESCE(f.n, 0)
ORDER BY COALESCE(f.n, 0) + w.rn, w.created_at, w.id
LIMIT ?3"#;

#[derive(FromQueryResult)]
struct Marked {
    id: Uuid,
    org_id: Uuid,
    dispatches: i32,
    traceparent: Option<String>,
}

/// Marks the chosen jobs dispatched (a new task id each) and pushes them in one round trip.
/// Marking first means a crash between the two leaves jobs that look dispatched but aren't in
/// Redis, which the lost-task check finds; never a job in Redis twice under one dispatch.
/// Returns how many were pushed.
pub async fn dispatch(
    db: &DatabaseConnection,
    queue: &ArticleQueue,
    ids: &[Uuid],
    now: DateTime<Utc>,
) -> Result<usize, DbErr> {
    if ids.is_empty() {
        return Ok(0);
    }
    let marked = mark(db, ids, now).await?;
    let tasks: Vec<(String, GenerateArticle)> = marked
        .iter()
        .map(|m| {
            let job_id = JobId::from_uuid(m.id);
            (
                queue::task_id(job_id, m.dispatches),
                GenerateArticle::V1 {
                    job_id,
                    org_id: OrgId::from_uuid(m.org_id),
                    traceparent: m.traceparent.clone(),
                },
            )
        })
        .collect();
    if let Err(e) = queue.push(tasks).await {
        tracing::warn!(error = %e, jobs = marked.len(), "push to the queue failed; un-marking the jobs");
        unmark(db, ids, now).await?;
        return Ok(0);
    }
    Ok(marked.len())
}

/// Marks those of `ids` still queued and undispatched as dispatched at `now`, each with its
/// next dispatch number; returns them.
async fn mark(
    db: &DatabaseConnection,
    ids: &[Uuid],
    now: DateTime<Utc>,
) -> Result<Vec<Marked>, DbErr> {
    let backend = db.get_database_backend();
    let statement = match backend {
        // Writers take turns on SQLite: there is no row lock to take, nor an order to take
        // them in.
        DbBackend::Sqlite => {
            let (list, values) = sqlite_ids(ids, now);
            Statement::from_sql_and_values(
                backend,
                format!(
                    "UPDATE jobs SET dispatched_at = ?1, dispatches = dispatches + 1, \
                     updated_at = ?1 WHERE id IN ({list}) AND status = 'queued' \
                     AND dispatched_at IS NULL RETURNING id, org_id, dispatches, traceparent"
                ),
                values,
            )
        }
        _ => {
            let list = inlined(ids);
            let sql = format!(
                "UPDATE jobs SET dispatched_at = $1, dispatches = dispatches + 1, updated_at = $1 \
                 WHERE id IN (SELECT id FROM jobs WHERE id IN ({list}) AND status = 'queued' \
                 AND dispatched_at IS NULL ORDER BY id FOR UPDATE) \
                 RETURNING id, org_id, dispatches, traceparent"
            );
            Statement::from_sql_and_values(backend, &sql, [now.into()])
        }
    };
    Marked::find_by_statement(statement).all(db).await
}

/// Undoes [`mark`] for jobs nothing has touched since (a failed push).
async fn unmark(db: &DatabaseConnection, ids: &[Uuid], now: DateTime<Utc>) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    let statement = match backend {
        DbBackend::Sqlite => {
            let (list, values) = sqlite_ids(ids, now);
            Statement::from_sql_and_values(
                backend,
                format!(
                    "UPDATE jobs SET dispatched_at = NULL WHERE id IN ({list}) \
                     AND status = 'queued' AND dispatched_at = ?1"
                ),
                values,
            )
        }
        _ => {
            let list = inlined(ids);
            let sql = format!(
                "UPDATE jobs SET dispatched_at = NULL WHERE id IN ({list}) \
                 AND status = 'queued' AND dispatched_at = $1"
            );
            Statement::from_sql_and_values(backend, &sql, [now.into()])
        }
    };
    db.execute_raw(statement).await?;
    Ok(())
}

/// The ids come from our own query as UUIDs, so inlining them is safe, and keeps one
/// statement for any number of them.
fn inlined(ids: &[Uuid]) -> String {
    ids.iter()
        .map(|id| format!("'{id}'"))
        .collect::<Vec<_>>()
        .join(",")
}

/// On SQLite a UUID is stored as its 16 bytes, which no quoted text equals, so the ids are
/// bound (`?2` on, after `now` as `?1`). `dispatch.window` keeps them under 2,000, far from
/// SQLite's limit of 32,766 parameters.
fn sqlite_ids(ids: &[Uuid], now: DateTime<Utc>) -> (String, Vec<Value>) {
    let list = (2..ids.len() + 2)
        .map(|i| format!("?{i}"))
        .collect::<Vec<_>>()
        .join(",");
    let values = std::iter::once(now.into())
        .chain(ids.iter().map(|id| (*id).into()))
        .collect();
    (list, values)
}

#[cfg(test)]
#[path = "pick_tests.rs"]
mod tests;

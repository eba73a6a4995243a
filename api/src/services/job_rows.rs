//! Writing a submission's job rows. On Postgres, one `INSERT … SELECT` from a JSON array
//! (`jsonb_to_recordset`): a single parameter instead of 27 per row, so the statement is built,
//! bound and planned in a fraction of the time a 175-row `VALUES` list takes (bench/README.md,
//! P1). Other backends (SQLite) take the portable multi-row insert.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveEnum, ActiveValue::Set, ConnectionTrait, DatabaseBackend, DatabaseTransaction, DbErr,
    EntityTrait, Statement,
};

use bacowr_shared::{
    domain::{JobStatus, LinkAssignment},
    entities::job,
    ids::{BatchId, JobId, OrgId},
    telemetry,
};

use crate::error::ApiError;

/// Rows per portable INSERT: 27 columns × 1,000 would pass the 65,535-parameter limit.
const INSERT_CHUNK: usize = 500;

/// Inserts one queued job per link, in order; returns their ids.
pub async fn insert_jobs(
    txn: &DatabaseTransaction,
    org_id: OrgId,
    batch_id: Option<BatchId>,
    links: &[LinkAssignment],
) -> Result<Vec<JobId>, ApiError> {
    let rows = Rows {
        org_id,
        batch_id,
        links,
        ids: links.iter().map(|_| JobId::new()).collect(),
        now: Utc::now(),
        traceparent: telemetry::current_traceparent(),
    };
    if txn.get_database_backend() == DatabaseBackend::Postgres {
        insert_jobs_postgres(txn, &rows).await?;
    } else {
        insert_jobs_portable(txn, &rows).await?;
    }
    Ok(rows.ids)
}

/// What every row of one submission shares, and its links with their new ids.
struct Rows<'a> {
    org_id: OrgId,
    batch_id: Option<BatchId>,
    links: &'a [LinkAssignment],
    ids: Vec<JobId>,
    now: DateTime<Utc>,
    traceparent: Option<String>,
}

const INSERT_FROM_JSON: &str = "INSERT INTO jobs (id, org_id, batch_id, row_index, \
     publisher_domain, target_url, anchor_text, language, status, attempts, tokens_in, \
     tokens_out, cost_micros, created_at, updated_at, dispatches, traceparent, attempt_floor) \
     SELECT t.id, $2, $3, t.row_index, t.publisher_domain, t.target_url, t.anchor_text, \
       t.language, $4, 0, 0, 0, 0, $5, $5, 0, $6, 0 \
     FROM jsonb_to_recordset($1::jsonb) AS t(id uuid, row_index int, publisher_domain text, \
       target_url text, anchor_text text, language text)";

async fn insert_jobs_postgres(txn: &DatabaseTransaction, r: &Rows<'_>) -> Result<(), DbErr> {
    let rows: Vec<serde_json::Value> = r
        .links
        .iter()
        .zip(&r.ids)
        .enumerate()
        .map(|(row, (link, id))| {
            serde_json::json!({
                "id": id.uuid(),
                "row_index": row,
                "publisher_domain": link.publisher_domain.as_str(),
                "target_url": link.target_url.as_str(),
                "anchor_text": link.anchor_text.as_str(),
                "language": link.language.as_ref().map(|l| l.as_str()),
            })
        })
        .collect();
    let status = JobStatus::Queued.to_value();
    txn.execute_raw(Statement::from_sql_and_values(
        DatabaseBackend::Postgres,
        INSERT_FROM_JSON,
        [
            serde_json::Value::Array(rows).into(),
            r.org_id.uuid().into(),
            r.batch_id.map(|b| b.uuid()).into(),
            status.into(),
            r.now.into(),
            r.traceparent.clone().into(),
        ],
    ))
    .await?;
    Ok(())
}

async fn insert_jobs_portable(txn: &DatabaseTransaction, r: &Rows<'_>) -> Result<(), DbErr> {
    for (chunk_no, chunk) in r.links.chunks(INSERT_CHUNK).enumerate() {
        let rows = chunk.iter().enumerate().map(|(i, link)| {
            let row = chunk_no * INSERT_CHUNK + i;
            job::ActiveModel {
                id: Set(r.ids[row].uuid()),
                org_id: Set(r.org_id.uuid()),
                batch_id: Set(r.batch_id.map(|b| b.uuid())),
                row_index: Set(i32::try_from(row).unwrap_or(i32::MAX)),
                publisher_domain: Set(link.publisher_domain.as_str().to_owned()),
                target_url: Set(link.target_url.as_str().to_owned()),
                anchor_text: Set(link.anchor_text.as_str().to_owned()),
                language: Set(link.language.as_ref().map(|l| l.as_str().to_owned())),
                status: Set(JobStatus::Queued),
                attempts: Set(0),
                lease_owner: Set(None),
                lease_expires_at: Set(None),
                error_code: Set(None),
                error_message: Set(None),
                tokens_in: Set(0),
                tokens_out: Set(0),
                cost_micros: Set(0),
                created_at: Set(r.now),
                updated_at: Set(r.now),
                started_at: Set(None),
                finished_at: Set(None),
                dispatched_at: Set(None),
                dispatches: Set(0),
                not_before: Set(None),
                traceparent: Set(r.traceparent.clone()),
                review_feedback: Set(None),
                attempt_floor: Set(0),
            }
        });
        job::Entity::insert_many(rows)
            .exec_without_returning(txn)
            .await?;
    }
    Ok(())
}

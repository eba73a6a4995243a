//! The end of a batch's review, from whichever side ends it (a reviewer's decision in the
//! API, or a retried job in the worker): `batch.completed`, and `export.ready` when it has
//! approved articles to export. Recorded in the caller's transaction.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, EntityTrait};
use serde_json::json;
use uuid::Uuid;

use super::{WebhookEvent, outbox, payload};
use crate::{entities::batch, ids::BatchId};

/// The formats `GET /api/v1/batches/{id}/export` serves.
pub const EXPORT_FORMATS: [&str; 5] = ["json", "csv", "markdown", "html", "docx"];

pub async fn review_completed(
    conn: &impl ConnectionTrait,
    batch_id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let Some(b) = batch::Entity::find_by_id(batch_id).one(conn).await? else {
        return Ok(());
    };
    let data = payload::batch(&b);
    outbox::record(
        conn,
        b.org_id,
        WebhookEvent::BatchCompleted,
        data.clone(),
        now,
    )
    .await?;
    if b.approved_items > 0 {
        let id = BatchId::from_uuid(b.id);
        let mut data = data;
        data["exports"] = EXPORT_FORMATS
            .iter()
            .map(|f| {
                (
                    (*f).to_owned(),
                    json!(format!("/api/v1/batches/{id}/export?format={f}")),
                )
            })
            .collect::<serde_json::Map<_, _>>()
            .into();
        outbox::record(conn, b.org_id, WebhookEvent::ExportReady, data, now).await?;
    }
    Ok(())
}

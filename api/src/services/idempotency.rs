//! `Idempotency-Key` on POSTs that create work: the first answer is stored in the same
//! transaction as the work it describes, and replayed to every retry with the same key and
//! the same request. The same key with a different request is a 409.

use actix_web::HttpRequest;
use chrono::Utc;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbErr, EntityTrait,
    QueryFilter, TryInsertResult,
};
use sha2::{Digest, Sha256};

use bacowr_shared::{entities::idempotency_key, ids::OrgId};

use crate::error::ApiError;

pub const HEADER: &str = "idempotency-key";
const MAX_KEY_LEN: usize = 255;

pub struct IdempotencyKey {
    pub key: String,
    pub request_hash: String,
}

/// The stored first answer to replay.
pub struct Replay {
    pub status: u16,
    pub body: String,
}

impl IdempotencyKey {
    pub fn from_request(req: &HttpRequest, body: &[u8]) -> Result<Option<Self>, ApiError> {
        let Some(value) = req.headers().get(HEADER) else {
            return Ok(None);
        };
        let key = value
            .to_str()
            .ok()
            .map(str::trim)
            .filter(|k| !k.is_empty() && k.len() <= MAX_KEY_LEN)
            .ok_or_else(|| {
                ApiError::bad_request(
                    "Idempotency-Key",
                    format!("must be 1-{MAX_KEY_LEN} printable ASCII characters"),
                )
            })?;
        let content_type = req
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let mut hasher = Sha256::new();
        // The query carries options too (CSV batches' QC profile), so it is part of the request.
        for part in [
            req.method().as_str().as_bytes(),
            req.path().as_bytes(),
            req.query_string().as_bytes(),
            content_type.as_bytes(),
        ] {
            hasher.update(part);
            hasher.update([0]);
        }
        hasher.update(body);
        Ok(Some(Self {
            key: key.to_owned(),
            request_hash: hex::encode(hasher.finalize()),
        }))
    }

    /// Reserves the key inside `txn`. A concurrent request with the same key waits on the row
    /// lock until this transaction ends. Returns the stored answer when the key was used before.
    pub async fn reserve(
        &self,
        txn: &DatabaseTransaction,
        org_id: OrgId,
    ) -> Result<Option<Replay>, ApiError> {
        let inserted = idempotency_key::Entity::insert(idempotency_key::ActiveModel {
            org_id: Set(org_id.uuid()),
            key: Set(self.key.clone()),
            request_hash: Set(self.request_hash.clone()),
            response_status: Set(0),
            response_body: Set(String::new()),
            created_at: Set(Utc::now()),
        })
        .on_conflict_do_nothing()
        .exec_without_returning(txn)
        .await?;
        if matches!(inserted, TryInsertResult::Inserted(n) if n > 0) {
            return Ok(None);
        }
        let existing = idempotency_key::Entity::find_by_id((org_id.uuid(), self.key.clone()))
            .one(txn)
            .await?
            .ok_or_else(|| ApiError::internal("idempotency row vanished after a conflict"))?;
        if existing.request_hash != self.request_hash {
            return Err(ApiError::idempotency_conflict());
        }
        Ok(Some(Replay {
            status: u16::try_from(existing.response_status).unwrap_or(200),
            body: existing.response_body,
        }))
    }

    pub async fn store(
        &self,
        txn: &DatabaseTransaction,
        org_id: OrgId,
        status: u16,
        body: &str,
    ) -> Result<(), DbErr> {
        idempotency_key::Entity::update_many()
            .col_expr(
                idempotency_key::Column::ResponseStatus,
                sea_orm::sea_query::Expr::value(i32::from(status)),
            )
            .col_expr(
                idempotency_key::Column::ResponseBody,
                sea_orm::sea_query::Expr::value(body),
            )
            .filter(idempotency_key::Column::OrgId.eq(org_id.uuid()))
            .filter(idempotency_key::Column::Key.eq(self.key.as_str()))
            .exec(txn)
            .await?;
        Ok(())
    }
}

/// Drops answers older than the configured TTL; called opportunistically.
pub async fn sweep(db: &impl ConnectionTrait, ttl_hours: u32) -> Result<u64, DbErr> {
    let cutoff = Utc::now() - chrono::Duration::hours(i64::from(ttl_hours));
    let result = idempotency_key::Entity::delete_many()
        .filter(idempotency_key::Column::CreatedAt.lt(cutoff))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

//! API keys: `Authorization: Bearer <key>`. Keys are random, shown once, stored as SHA-256
//! (a fast hash is right for high-entropy secrets); every request is scoped to the key's org.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use rand::RngCore;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use sha2::{Digest, Sha256};

use bacowr_shared::{
    entities::api_key,
    ids::{ApiKeyId, OrgId},
};

use crate::{error::ApiError, state::AppState};

const KEY_PREFIX: &str = "bcw_";

/// A new key: `bcw_` and 48 hex digits (192 bits).
pub fn generate_key() -> String {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    format!("{KEY_PREFIX}{}", hex::encode(bytes))
}

pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// The first characters of a key, safe to display.
pub fn display_prefix(key: &str) -> String {
    key.chars().take(KEY_PREFIX.len() + 8).collect()
}

/// The authenticated tenant of a request.
#[derive(Debug, Clone, Copy)]
pub struct Tenant {
    pub org_id: OrgId,
    pub key_id: ApiKeyId,
}

impl FromRequest for Tenant {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let header = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::internal("AppState missing"))?;
            let header = header.ok_or_else(|| {
                ApiError::unauthorized("missing Authorization header; send `Bearer <api key>`")
            })?;
            let key = header
                .strip_prefix("Bearer ")
                .or_else(|| header.strip_prefix("bearer "))
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .ok_or_else(|| {
                    ApiError::unauthorized("Authorization must be `Bearer <api key>`")
                })?;
            let found = api_key::Entity::find()
                .filter(api_key::Column::KeyHash.eq(hash_key(key)))
                .filter(api_key::Column::RevokedAt.is_null())
                .one(&state.db)
                .await?
                .ok_or_else(|| ApiError::unauthorized("unknown or revoked API key"))?;
            Ok(Tenant {
                org_id: OrgId::from_uuid(found.org_id),
                key_id: ApiKeyId::from_uuid(found.id),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_long_random_and_hash_stably() {
        let a = generate_key();
        let b = generate_key();
        assert_ne!(a, b);
        assert_eq!(a.len(), 4 + 48);
        assert_eq!(hash_key(&a), hash_key(&a));
        assert_eq!(hash_key(&a).len(), 64);
        assert!(display_prefix(&a).starts_with("bcw_"));
    }
}

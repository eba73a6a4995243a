//! `/api/v1/api-keys`: keys for programs. A key is shown once, stored hashed with a public
//! prefix, carries scopes no wider than its creator's, may expire, and stops working the
//! moment it is revoked, on every replica (each request reads it from Postgres).

use actix_web::{HttpResponse, delete, get, post, web};
use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, sea_query::Expr,
};
use serde::{Deserialize, Serialize};

use bacowr_shared::{
    domain::{Scope, Scopes},
    entities::api_key,
    ids::{ApiKeyId, UserId},
};

use super::params;
use crate::{
    auth::{Actor, Admin, Authorized, credentials},
    error::{ApiError, ErrorBody},
    state::AppState,
};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "agency sheet sync", "scopes": ["batches:read", "batches:write"], "expires_at": "2027-06-30T00:00:00Z"}))]
pub struct CreateApiKey {
    /// What the key is for, e.g. "agency sheet sync": 1-200 characters.
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// At least one; never more than the creator holds.
    #[schema(value_type = Vec<Scope>, min_items = 1)]
    pub scopes: Vec<String>,
    /// When the key stops working; omit for a key that doesn't expire.
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ApiKeyView {
    pub id: ApiKeyId,
    pub name: String,
    /// The key's first characters, to tell keys apart.
    pub prefix: String,
    pub scopes: Vec<Scope>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_by: Option<UserId>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedApiKey {
    #[serde(flatten)]
    pub key: ApiKeyView,
    /// The key itself, shown only in this answer: store it now.
    pub api_key: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ApiKeyList {
    pub items: Vec<ApiKeyView>,
}

fn view(k: api_key::Model) -> ApiKeyView {
    ApiKeyView {
        id: ApiKeyId::from_uuid(k.id),
        name: k.name,
        prefix: k.prefix,
        scopes: Scopes::parse(&k.scopes)
            .unwrap_or_default()
            .iter()
            .collect(),
        created_at: k.created_at,
        expires_at: k.expires_at,
        last_used_at: k.last_used_at,
        revoked_at: k.revoked_at,
        created_by: k.created_by.map(UserId::from_uuid),
    }
}

/// Create a key. Its scopes must be among the creator's own.
#[utoipa::path(
    post,
    path = "/api/v1/api-keys",
    operation_id = "create_api_key",
    tag = "api-keys",
    request_body = CreateApiKey,
    responses(
        (status = 201, description = "created; `api_key` is shown this once", body = CreatedApiKey,
            example = json!({"id": "key_0192f0c4e5a27b6c8d9e0f1a2b3c4d5e", "name": "agency sheet sync", "prefix": "bcw_3f9a1c2e", "scopes": ["batches:read", "batches:write"], "created_at": "2026-11-02T09:30:00Z", "expires_at": "2027-06-30T00:00:00Z", "last_used_at": null, "revoked_at": null, "created_by": "user_0192f0c4e5a27b6c8d9e0f1a2b3c4d5f", "api_key": "bcw_3f9a1c2e7b4d5a6c8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b"})),
        (status = 400, description = "bad name, scope or expiry; `field` names it", body = ErrorBody),
        (status = 403, description = "needs `admin`, or asks for a scope the creator lacks (`field`: `scopes`)", body = ErrorBody),
    )
)]
#[post("/api-keys")]
pub async fn create_api_key(
    caller: Authorized<Admin>,
    state: web::Data<AppState>,
    body: crate::intake::strict::StrictJson<CreateApiKey>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ApiError::bad_request("name", "must be 1-200 characters"));
    }
    let scopes = Scopes::parse(&body.scopes.join(" "))
        .map_err(|e| ApiError::bad_request("scopes", e.to_string()))?;
    if scopes.is_empty() {
        return Err(ApiError::bad_request(
            "scopes",
            "name at least one of batches:read, batches:write, review, admin",
        ));
    }
    if !scopes.is_subset_of(caller.scopes) {
        return Err(ApiError::forbidden(format!(
            "a key can't have scopes its creator lacks; you hold: {}",
            caller.scopes
        ))
        .with_field("scopes"));
    }
    if let Some(at) = body.expires_at
        && (at <= Utc::now() || at > Utc::now() + Duration::days(3660))
    {
        return Err(ApiError::bad_request(
            "expires_at",
            "must be in the future and within 10 years",
        ));
    }
    let key = credentials::generate_key();
    let model = api_key::Model {
        id: ApiKeyId::new().uuid(),
        org_id: caller.org_id.uuid(),
        name: name.to_owned(),
        prefix: credentials::display_prefix(&key),
        key_hash: credentials::hash_secret(&key),
        created_at: Utc::now(),
        last_used_at: None,
        revoked_at: None,
        scopes: scopes.to_string(),
        expires_at: body.expires_at,
        created_by: match caller.actor {
            Actor::User { id, .. } => Some(id.uuid()),
            Actor::Key { .. } => None,
        },
    };
    api_key::Entity::insert(api_key::ActiveModel {
        id: Set(model.id),
        org_id: Set(model.org_id),
        name: Set(model.name.clone()),
        prefix: Set(model.prefix.clone()),
        key_hash: Set(model.key_hash.clone()),
        created_at: Set(model.created_at),
        last_used_at: Set(None),
        revoked_at: Set(None),
        scopes: Set(model.scopes.clone()),
        expires_at: Set(model.expires_at),
        created_by: Set(model.created_by),
    })
    .exec_without_returning(&state.db)
    .await?;
    Ok(HttpResponse::Created().json(CreatedApiKey {
        key: view(model),
        api_key: key,
    }))
}

/// The organization's keys, newest first, revoked ones included; never the keys themselves.
#[utoipa::path(
    get,
    path = "/api/v1/api-keys",
    operation_id = "list_api_keys",
    tag = "api-keys",
    responses(
        (status = 200, description = "every key of the organization, newest first", body = ApiKeyList),
    )
)]
#[get("/api-keys")]
pub async fn list_api_keys(
    caller: Authorized<Admin>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let keys = api_key::Entity::find()
        .filter(api_key::Column::OrgId.eq(caller.org_id.uuid()))
        .order_by_desc(api_key::Column::Id)
        .all(&state.db)
        .await?;
    Ok(HttpResponse::Ok().json(ApiKeyList {
        items: keys.into_iter().map(view).collect(),
    }))
}

/// Revoke a key: it stops working at once. Revoking twice is harmless.
#[utoipa::path(
    delete,
    path = "/api/v1/api-keys/{key_id}",
    operation_id = "revoke_api_key",
    tag = "api-keys",
    params(("key_id" = ApiKeyId, Path, description = "The key's id (`key_…`)")),
    responses(
        (status = 204, description = "revoked (or already revoked)"),
        (status = 400, description = "malformed id", body = ErrorBody),
        (status = 404, description = "no such key in this organization", body = ErrorBody),
    )
)]
#[delete("/api-keys/{key_id}")]
pub async fn revoke_api_key(
    caller: Authorized<Admin>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = params::parse_id(&path, "key_id", ApiKeyId::parse)?;
    let found = api_key::Entity::find_by_id(id.uuid())
        .filter(api_key::Column::OrgId.eq(caller.org_id.uuid()))
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::not_found("API key", &id.to_string()))?;
    api_key::Entity::update_many()
        .col_expr(api_key::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(api_key::Column::Id.eq(found.id))
        .filter(api_key::Column::RevokedAt.is_null())
        .exec(&state.db)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

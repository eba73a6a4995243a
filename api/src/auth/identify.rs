//! Credential → caller: API keys by hash (revoked and expired ones refused), access tokens by
//! signature plus a live session and an active user, read from Postgres on every request so a
//! revocation holds at once on every replica.

use actix_web::HttpRequest;
use chrono::{Duration, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};

use bacowr_shared::{
    domain::{Role, Scopes},
    entities::{api_key, session, user},
    ids::{ApiKeyId, OrgId, SessionId, UserId},
};

use super::{
    Actor, Caller,
    credentials::{KEY_PREFIX, hash_secret, secrets_equal},
    jwt::looks_like_jwt,
};
use crate::{error::ApiError, state::AppState};

/// `last_used_at` is written at most this often per key: a busy key must not cost a write
/// per request.
const TOUCH_EVERY_SECS: i64 = 60;

/// The bearer credential of a request.
fn bearer(req: &HttpRequest) -> Result<&str, ApiError> {
    let header = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .ok_or_else(|| {
            ApiError::unauthorized(
                "missing Authorization header; send `Bearer <API key or access token>`",
            )
        })?
        .to_str()
        .map_err(|_| ApiError::unauthorized("the Authorization header is not valid text"))?;
    let (scheme, token) = header.split_once(' ').unwrap_or((header, ""));
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(ApiError::unauthorized(
            "Authorization must be `Bearer <API key or access token>`",
        ));
    }
    Ok(token)
}

pub async fn caller(state: &AppState, req: &HttpRequest) -> Result<Caller, ApiError> {
    let token = bearer(req)?;
    if token.starts_with(KEY_PREFIX) {
        api_key(state, token).await
    } else if looks_like_jwt(token) {
        access_token(state, token).await
    } else {
        Err(ApiError::unauthorized(
            "the bearer credential is neither an API key (bcw_…) nor an access token",
        ))
    }
}

async fn api_key(state: &AppState, token: &str) -> Result<Caller, ApiError> {
    let hash = hash_secret(token);
    let found = api_key::Entity::find()
        .filter(api_key::Column::KeyHash.eq(hash.as_str()))
        .one(&state.db)
        .await?
        // The index lookup is not constant-time; the final comparison is.
        .filter(|k| secrets_equal(&k.key_hash, &hash))
        .ok_or_else(|| ApiError::unauthorized("unknown API key"))?;
    let now = Utc::now();
    if found.revoked_at.is_some() {
        return Err(ApiError::unauthorized("this API key was revoked"));
    }
    if found.expires_at.is_some_and(|at| at <= now) {
        return Err(ApiError::unauthorized("this API key has expired"));
    }
    let stale = found
        .last_used_at
        .is_none_or(|at| now - at > Duration::seconds(TOUCH_EVERY_SECS));
    if stale {
        touch_key(state, found.id);
    }
    Ok(Caller {
        org_id: OrgId::from_uuid(found.org_id),
        actor: Actor::Key {
            id: ApiKeyId::from_uuid(found.id),
        },
        // An unreadable scope list grants nothing.
        scopes: Scopes::parse(&found.scopes).unwrap_or_default(),
    })
}

fn touch_key(state: &AppState, id: uuid::Uuid) {
    let db = state.db.clone();
    tokio::spawn(async move {
        let result = api_key::Entity::update_many()
            .col_expr(api_key::Column::LastUsedAt, Expr::value(Utc::now()))
            .filter(api_key::Column::Id.eq(id))
            .exec(&db)
            .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, "recording an API key's last use failed");
        }
    });
}

async fn access_token(state: &AppState, token: &str) -> Result<Caller, ApiError> {
    let invalid = || ApiError::unauthorized("invalid or expired access token");
    let claims = state.jwt.verify(token).map_err(|e| {
        tracing::info!(reason = %e, "access token refused");
        invalid()
    })?;
    let user_id = UserId::parse(&claims.sub).map_err(|_| invalid())?;
    let session_id = SessionId::parse(&claims.sid).map_err(|_| invalid())?;
    let org_id = OrgId::parse(&claims.org).map_err(|_| invalid())?;
    let session = session::Entity::find_by_id(session_id.uuid())
        .one(&state.db)
        .await?
        .filter(|s| s.user_id == user_id.uuid() && s.revoked_at.is_none())
        .ok_or_else(|| ApiError::unauthorized("this session has ended; sign in again"))?;
    // A token whose organization isn't its user's (or its session's) was not issued by us
    // as it stands: invalid, not a disabled account.
    let user = user::Entity::find_by_id(user_id.uuid())
        .one(&state.db)
        .await?
        .filter(|u| u.org_id == org_id.uuid() && session.org_id == u.org_id)
        .ok_or_else(invalid)?;
    if !user.active {
        return Err(ApiError::unauthorized("this account is disabled"));
    }
    let role = Role::parse(&user.role).ok_or_else(|| ApiError::internal("unknown role"))?;
    Ok(Caller {
        org_id,
        actor: Actor::User {
            id: user_id,
            role,
            session: session_id,
        },
        scopes: role.scopes(),
    })
}

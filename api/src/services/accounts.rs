//! Sign-up, sign-in and sessions. A login opens a session; its refresh token is exchanged for
//! a new one on every use (rotation), and presenting an already-exchanged token again revokes
//! the whole session (reuse detection: someone else has a copy).

use chrono::{Duration, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, SqlErr, TransactionTrait, sea_query::Expr,
};
use serde::Serialize;

use bacowr_shared::{
    audit::events,
    domain::{Email, Role},
    entities::{audit_log, organization, refresh_token, session, user},
    ids::{OrgId, SessionId, UserId},
};

use crate::{
    auth::{
        credentials::{generate_refresh_token, hash_secret, secrets_equal},
        password,
    },
    error::ApiError,
    middleware::audit::AuditNote,
    state::AppState,
};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Tokens {
    /// Send as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    #[schema(schema_with = crate::openapi::schemas::bearer)]
    pub token_type: &'static str,
    /// Seconds the access token is valid for.
    pub expires_in: i64,
    /// Exchange at `POST /api/v1/auth/refresh` for a new pair; single use.
    pub refresh_token: String,
    pub refresh_expires_in: i64,
}

/// A refused sign-in or refresh, with what the audit log should say about it.
pub struct Refused {
    pub error: ApiError,
    pub note: AuditNote,
}

impl From<ApiError> for Refused {
    fn from(error: ApiError) -> Self {
        Self {
            error,
            note: AuditNote::default(),
        }
    }
}

impl From<DbErr> for Refused {
    fn from(e: DbErr) -> Self {
        ApiError::from(e).into()
    }
}

/// Checks a new password against the policy; `field` names it in the error.
pub fn check_password(
    state: &AppState,
    field: &str,
    pw: &str,
    email: &Email,
) -> Result<(), ApiError> {
    let min = state.settings.auth.min_password_len;
    let n = pw.chars().count();
    if n < min {
        return Err(ApiError::bad_request(
            field,
            format!("must be at least {min} characters"),
        ));
    }
    // Argon2 cost grows with input; nobody types more.
    if n > 256 {
        return Err(ApiError::bad_request(
            field,
            "must be at most 256 characters",
        ));
    }
    if pw.eq_ignore_ascii_case(email.as_str()) {
        return Err(ApiError::bad_request(
            field,
            "must not be the email address",
        ));
    }
    Ok(())
}

pub fn parse_email(field: &str, raw: &str) -> Result<Email, ApiError> {
    Email::parse(raw).map_err(|e| ApiError::bad_request(field, format!("{field} {e}")))
}

/// Creates an organization and its owner, and signs the owner in.
pub async fn register(
    state: &AppState,
    org_name: &str,
    email: &Email,
    password_hash: String,
    name: Option<String>,
) -> Result<(OrgId, UserId, Tokens), ApiError> {
    let org_id = OrgId::new();
    let user_id = UserId::new();
    let now = Utc::now();
    let txn = state.db.begin().await?;
    organization::Entity::insert(organization::ActiveModel {
        id: Set(org_id.uuid()),
        name: Set(org_name.to_owned()),
        created_at: Set(now),
        ..Default::default()
    })
    .exec_without_returning(&txn)
    .await?;
    insert_user(
        &txn,
        org_id,
        user_id,
        email,
        name,
        password_hash,
        Role::Owner,
    )
    .await?;
    let tokens = open_session(state, &txn, org_id, user_id).await?;
    txn.commit().await?;
    Ok((org_id, user_id, tokens))
}

/// Inserts a user; a taken email answers 409.
pub async fn insert_user(
    db: &impl ConnectionTrait,
    org_id: OrgId,
    user_id: UserId,
    email: &Email,
    name: Option<String>,
    password_hash: String,
    role: Role,
) -> Result<(), ApiError> {
    let now = Utc::now();
    let inserted = user::Entity::insert(user::ActiveModel {
        id: Set(user_id.uuid()),
        org_id: Set(org_id.uuid()),
        email: Set(email.as_str().to_owned()),
        name: Set(name),
        password_hash: Set(password_hash),
        role: Set(role.as_str().to_owned()),
        active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
        last_login_at: Set(None),
    })
    .exec_without_returning(db)
    .await;
    match inserted {
        Ok(_) => Ok(()),
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => Err(
            ApiError::conflict("email", "an account with this email address already exists"),
        ),
        Err(e) => Err(e.into()),
    }
}

async fn open_session(
    state: &AppState,
    db: &impl ConnectionTrait,
    org_id: OrgId,
    user_id: UserId,
) -> Result<Tokens, ApiError> {
    let session_id = SessionId::new();
    let now = Utc::now();
    session::Entity::insert(session::ActiveModel {
        id: Set(session_id.uuid()),
        user_id: Set(user_id.uuid()),
        org_id: Set(org_id.uuid()),
        created_at: Set(now),
        last_used_at: Set(now),
        revoked_at: Set(None),
        revoked_reason: Set(None),
    })
    .exec_without_returning(db)
    .await?;
    issue(state, db, org_id, user_id, session_id).await
}

/// A new access token and a new refresh token in `session_id`.
async fn issue(
    state: &AppState,
    db: &impl ConnectionTrait,
    org_id: OrgId,
    user_id: UserId,
    session_id: SessionId,
) -> Result<Tokens, ApiError> {
    let refresh = generate_refresh_token();
    let ttl = state.settings.auth.refresh_ttl_secs as i64;
    let now = Utc::now();
    refresh_token::Entity::insert(refresh_token::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        session_id: Set(session_id.uuid()),
        token_hash: Set(hash_secret(&refresh)),
        created_at: Set(now),
        expires_at: Set(now + Duration::seconds(ttl)),
        used_at: Set(None),
    })
    .exec_without_returning(db)
    .await?;
    let access = state
        .jwt
        .issue(user_id, org_id, session_id)
        .map_err(ApiError::internal)?;
    Ok(Tokens {
        access_token: access,
        token_type: "Bearer",
        expires_in: state.jwt.ttl_secs(),
        refresh_token: refresh,
        refresh_expires_in: ttl,
    })
}

pub async fn find_user(state: &AppState, email: &Email) -> Result<Option<user::Model>, DbErr> {
    user::Entity::find()
        .filter(user::Column::Email.eq(email.as_str()))
        .one(&state.db)
        .await
}

/// Signs a user in. Unknown address, wrong password and disabled account all answer the same
/// 401, in the same time.
pub async fn login(
    state: &AppState,
    email: &Email,
    pw: String,
) -> Result<(Tokens, AuditNote), Refused> {
    let found = find_user(state, email).await?;
    let ok = password::verify(pw, found.as_ref().map(|u| u.password_hash.clone())).await?;
    let user = match found {
        Some(u) if ok && u.active => u,
        other => {
            return Err(Refused {
                error: ApiError::unauthorized("wrong email or password").with_field("password"),
                note: AuditNote {
                    event: Some(events::LOGIN_FAILED),
                    org_id: other.as_ref().map(|u| u.org_id),
                    actor: other.as_ref().map(|u| ("user", u.id)),
                    detail: Some(match other {
                        None => "no account with this email".to_owned(),
                        Some(u) if !u.active => "account disabled".to_owned(),
                        Some(_) => "wrong password".to_owned(),
                    }),
                },
            });
        }
    };
    let (org_id, user_id) = (OrgId::from_uuid(user.org_id), UserId::from_uuid(user.id));
    let txn = state.db.begin().await?;
    user::Entity::update_many()
        .col_expr(user::Column::LastLoginAt, Expr::value(Utc::now()))
        .filter(user::Column::Id.eq(user.id))
        .exec(&txn)
        .await?;
    let tokens = open_session(state, &txn, org_id, user_id).await?;
    txn.commit().await?;
    let note = AuditNote {
        org_id: Some(user.org_id),
        actor: Some(("user", user.id)),
        ..AuditNote::default()
    };
    Ok((tokens, note))
}

/// Exchanges a refresh token for a new pair. A token already exchanged revokes its session.
pub async fn refresh(state: &AppState, token: &str) -> Result<(Tokens, AuditNote), Refused> {
    let invalid =
        || ApiError::unauthorized("invalid or expired refresh token").with_field("refresh_token");
    let hash = hash_secret(token);
    let found = refresh_token::Entity::find()
        .filter(refresh_token::Column::TokenHash.eq(hash.as_str()))
        .one(&state.db)
        .await?
        .filter(|t| secrets_equal(&t.token_hash, &hash))
        .ok_or_else(invalid)?;
    let session = session::Entity::find_by_id(found.session_id)
        .one(&state.db)
        .await?
        .ok_or_else(invalid)?;
    let note = AuditNote {
        org_id: Some(session.org_id),
        actor: Some(("user", session.user_id)),
        ..AuditNote::default()
    };
    let now = Utc::now();
    let txn = state.db.begin().await?;
    // Exactly one exchange of a token can win; any other presentation of it is reuse.
    let claimed = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::UsedAt, Expr::value(now))
        .filter(refresh_token::Column::Id.eq(found.id))
        .filter(refresh_token::Column::UsedAt.is_null())
        .exec(&txn)
        .await?
        .rows_affected
        == 1;
    if !claimed {
        revoke_session(&txn, SessionId::from_uuid(session.id), "refresh_reuse").await?;
        txn.commit().await?;
        tracing::warn!(session = %SessionId::from_uuid(session.id), "refresh token reused; session revoked");
        return Err(Refused {
            error: ApiError::unauthorized(
                "this refresh token was already used; the session has been ended, sign in again",
            )
            .with_field("refresh_token"),
            note: AuditNote {
                event: Some(events::REFRESH_REUSED),
                detail: Some("refresh token presented again; session revoked".to_owned()),
                ..note
            },
        });
    }
    let active = user::Entity::find_by_id(session.user_id)
        .one(&txn)
        .await?
        .is_some_and(|u| u.active);
    if session.revoked_at.is_some() || found.expires_at <= now || !active {
        return Err(Refused {
            error: invalid(),
            note,
        });
    }
    session::Entity::update_many()
        .col_expr(session::Column::LastUsedAt, Expr::value(now))
        .filter(session::Column::Id.eq(session.id))
        .exec(&txn)
        .await?;
    let tokens = issue(
        state,
        &txn,
        OrgId::from_uuid(session.org_id),
        UserId::from_uuid(session.user_id),
        SessionId::from_uuid(session.id),
    )
    .await?;
    txn.commit().await?;
    Ok((tokens, note))
}

pub async fn revoke_session(
    db: &impl ConnectionTrait,
    session: SessionId,
    reason: &str,
) -> Result<(), DbErr> {
    session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(Utc::now()))
        .col_expr(session::Column::RevokedReason, Expr::value(reason))
        .filter(session::Column::Id.eq(session.uuid()))
        .filter(session::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Ends every open session of a user (deactivated, role changed, password changed).
pub async fn revoke_user_sessions(
    db: &impl ConnectionTrait,
    user: UserId,
    reason: &str,
) -> Result<(), DbErr> {
    session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(Utc::now()))
        .col_expr(session::Column::RevokedReason, Expr::value(reason))
        .filter(session::Column::UserId.eq(user.uuid()))
        .filter(session::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Deletes audit entries past retention and refresh tokens expired over a day ago.
pub async fn sweep(db: &DatabaseConnection, retention_days: u32) -> Result<u64, DbErr> {
    let cutoff = Utc::now() - Duration::days(i64::from(retention_days));
    let audit = audit_log::Entity::delete_many()
        .filter(audit_log::Column::CreatedAt.lt(cutoff))
        .exec(db)
        .await?
        .rows_affected;
    let tokens = refresh_token::Entity::delete_many()
        .filter(refresh_token::Column::ExpiresAt.lt(Utc::now() - Duration::days(1)))
        .exec(db)
        .await?
        .rows_affected;
    Ok(audit + tokens)
}

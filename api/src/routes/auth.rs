//! `/api/v1/auth/*` and `/api/v1/me`: sign-up, sign-in, token refresh, sign-out, and who the
//! caller is.

use actix_web::{HttpMessage, HttpRequest, HttpResponse, get, post, web};
use sea_orm::EntityTrait;
use serde::{Deserialize, Serialize};

use bacowr_shared::{
    domain::{Role, Scope},
    entities::{api_key, organization, user},
    ids::{ApiKeyId, OrgId, UserId},
};

use crate::{
    auth::{self, Actor, AnyCaller, Authorized},
    error::{ApiError, ErrorBody},
    services::accounts::{self, Refused, Tokens},
    state::AppState,
};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"organization": "Acme Media", "email": "anna@acme.example", "password": "correct horse battery staple", "name": "Anna Berg"}))]
pub struct RegisterRequest {
    /// The new organization's name, 1-200 characters.
    #[schema(min_length = 1, max_length = 200)]
    pub organization: String,
    /// The owner's email address: the sign-in name.
    #[schema(example = "anna@acme.example")]
    pub email: String,
    /// At least `auth.min_password_len` characters (12 by default, never under 8), at most
    /// 256, and not the email address.
    #[schema(min_length = 8, max_length = 256)]
    pub password: String,
    /// At most 200 characters.
    #[schema(max_length = 200)]
    pub name: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "anna@acme.example", "password": "correct horse battery staple"}))]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Registered {
    pub organization_id: OrgId,
    pub user_id: UserId,
    #[serde(flatten)]
    pub tokens: Tokens,
}

fn refused(req: &HttpRequest, r: Refused) -> ApiError {
    req.extensions_mut().insert(r.note);
    r.error
}

/// Create an organization and its owner, signed in. Disabled when
/// `auth.registration_enabled` is false.
#[utoipa::path(
    post,
    path = "/api/v1/auth/register",
    operation_id = "register",
    tag = "auth",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "organization and owner created; tokens issued", body = Registered,
            example = json!({"organization_id": "org_0192f0c4e5a27b6c8d9e0f1a2b3c4d5e", "user_id": "user_0192f0c4e5a27b6c8d9e0f1a2b3c4d5f", "access_token": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyXzAxOTJmMGM0In0.c2lnbmF0dXJl", "token_type": "Bearer", "expires_in": 900, "refresh_token": "bcr_5f1c0e9a7b3d4c2e8f6a0b1c2d3e4f5a6b7c8d9e0f1a2b3c", "refresh_expires_in": 604800})),
        (status = 400, description = "bad email, password or organization name; `field` names it", body = ErrorBody),
        (status = 403, description = "registration is disabled on this deployment", body = ErrorBody),
        (status = 409, description = "the email address already has an account", body = ErrorBody),
        (status = 429, description = "too many unauthenticated requests from this address", body = ErrorBody),
    )
)]
#[post("/auth/register")]
pub async fn register(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: crate::intake::strict::StrictJson<RegisterRequest>,
) -> Result<HttpResponse, ApiError> {
    auth::unauthenticated(&state, &req).await?;
    if !state.settings.auth.registration_enabled {
        return Err(ApiError::forbidden(
            "registration is disabled on this deployment; ask an administrator for an account",
        ));
    }
    let body = body.into_inner();
    let org_name = body.organization.trim();
    if org_name.is_empty() || org_name.chars().count() > 200 {
        return Err(ApiError::bad_request(
            "organization",
            "must be 1-200 characters",
        ));
    }
    let email = accounts::parse_email("email", &body.email)?;
    accounts::check_password(&state, "password", &body.password, &email)?;
    let name = clean_name(body.name)?;
    let hash = auth::password::hash(body.password).await?;
    let (org_id, user_id, tokens) =
        accounts::register(&state, org_name, &email, hash, name).await?;
    req.extensions_mut()
        .insert(crate::middleware::audit::AuditNote {
            org_id: Some(org_id.uuid()),
            actor: Some(("user", user_id.uuid())),
            ..Default::default()
        });
    Ok(HttpResponse::Created().json(Registered {
        organization_id: org_id,
        user_id,
        tokens,
    }))
}

pub fn clean_name(name: Option<String>) -> Result<Option<String>, ApiError> {
    let name = name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    if name.as_ref().is_some_and(|n| n.chars().count() > 200) {
        return Err(ApiError::bad_request(
            "name",
            "must be at most 200 characters",
        ));
    }
    Ok(name)
}

/// Sign in: an access token (15 minutes) and a refresh token (7 days, single use).
#[utoipa::path(
    post,
    path = "/api/v1/auth/login",
    operation_id = "login",
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "signed in: an access and a refresh token", body = Tokens, example = json!({"access_token": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyXzAxOTJmMGM0In0.c2lnbmF0dXJl", "token_type": "Bearer", "expires_in": 900, "refresh_token": "bcr_5f1c0e9a7b3d4c2e8f6a0b1c2d3e4f5a6b7c8d9e0f1a2b3c", "refresh_expires_in": 604800})),
        (status = 400, description = "malformed email", body = ErrorBody),
        (status = 401, description = "wrong email or password (the same answer for both)", body = ErrorBody),
        (status = 429, description = "too many attempts from this address or at this account", body = ErrorBody),
    )
)]
#[post("/auth/login")]
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: crate::intake::strict::StrictJson<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let email = accounts::parse_email("email", &body.email)?;
    if let Err(limited) = auth::login(&state, &req, email.as_str()).await {
        // Put the attack in the targeted organization's security log.
        let target = accounts::find_user(&state, &email).await?;
        req.extensions_mut()
            .insert(crate::middleware::audit::AuditNote {
                org_id: target.as_ref().map(|u| u.org_id),
                actor: target.as_ref().map(|u| ("user", u.id)),
                ..Default::default()
            });
        return Err(limited);
    }
    let (tokens, note) = accounts::login(&state, &email, body.password)
        .await
        .map_err(|r| refused(&req, r))?;
    req.extensions_mut().insert(note);
    Ok(HttpResponse::Ok().json(tokens))
}

/// Exchange a refresh token for a new pair. Each refresh token works once: presenting one
/// again ends its session (someone else holds a copy).
#[utoipa::path(
    post,
    path = "/api/v1/auth/refresh",
    operation_id = "refresh_tokens",
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "a new access and refresh token; the one sent is spent", body = Tokens, example = json!({"access_token": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyXzAxOTJmMGM0In0.c2lnbmF0dXJl", "token_type": "Bearer", "expires_in": 900, "refresh_token": "bcr_5f1c0e9a7b3d4c2e8f6a0b1c2d3e4f5a6b7c8d9e0f1a2b3c", "refresh_expires_in": 604800})),
        (status = 401, description = "unknown, expired, reused or revoked refresh token", body = ErrorBody),
        (status = 429, description = "too many unauthenticated requests from this address", body = ErrorBody),
    )
)]
#[post("/auth/refresh")]
pub async fn refresh(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: crate::intake::strict::StrictJson<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    auth::unauthenticated(&state, &req).await?;
    let (tokens, note) = accounts::refresh(&state, body.refresh_token.trim())
        .await
        .map_err(|r| refused(&req, r))?;
    req.extensions_mut().insert(note);
    Ok(HttpResponse::Ok().json(tokens))
}

/// Sign out: ends the session of the access token (its refresh token stops working too).
#[utoipa::path(
    post,
    path = "/api/v1/auth/logout",
    operation_id = "logout",
    tag = "auth",
    responses(
        (status = 204, description = "the session is over"),
        (status = 400, description = "an API key has no session; revoke it with DELETE /api/v1/api-keys/{key_id}", body = ErrorBody),
    )
)]
#[post("/auth/logout")]
pub async fn logout(
    caller: Authorized<AnyCaller>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let Actor::User { session, .. } = caller.actor else {
        return Err(ApiError::bad_request(
            "Authorization",
            "an API key has no session to end; revoke it with DELETE /api/v1/api-keys/{key_id}",
        ));
    };
    accounts::revoke_session(&state.db, session, "logout").await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MeView {
    pub organization_id: OrgId,
    pub organization_name: String,
    /// `user` or `api_key`.
    #[schema(schema_with = crate::openapi::schemas::caller_kind)]
    pub kind: &'static str,
    pub user_id: Option<UserId>,
    pub email: Option<String>,
    pub name: Option<String>,
    pub role: Option<Role>,
    pub api_key_id: Option<ApiKeyId>,
    pub api_key_name: Option<String>,
    pub scopes: Vec<Scope>,
}

/// Who the caller is: organization, user or key, role, scopes.
#[utoipa::path(
    get,
    path = "/api/v1/me",
    operation_id = "get_me",
    tag = "auth",
    responses((status = 200, description = "the caller: organization, user or key, role, scopes", body = MeView))
)]
#[get("/me")]
pub async fn me(
    caller: Authorized<AnyCaller>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let org = organization::Entity::find_by_id(caller.org_id.uuid())
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::internal("caller's organization is gone"))?;
    let mut view = MeView {
        organization_id: caller.org_id,
        organization_name: org.name,
        kind: caller.actor_type(),
        user_id: None,
        email: None,
        name: None,
        role: caller.role(),
        api_key_id: None,
        api_key_name: None,
        scopes: caller.scopes.iter().collect(),
    };
    match caller.actor {
        Actor::User { id, .. } => {
            let u = user::Entity::find_by_id(id.uuid()).one(&state.db).await?;
            view.user_id = Some(id);
            view.email = u.as_ref().map(|u| u.email.clone());
            view.name = u.and_then(|u| u.name);
        }
        Actor::Key { id } => {
            let k = api_key::Entity::find_by_id(id.uuid())
                .one(&state.db)
                .await?;
            view.api_key_id = Some(id);
            view.api_key_name = k.map(|k| k.name);
        }
    }
    Ok(HttpResponse::Ok().json(view))
}

//! `/api/v1/users`: the organization's people, managed by its admins. Only an owner may grant,
//! change or remove the owner role; the last active owner can't be demoted or disabled.
//! Disabling a user or changing their role ends their sessions at once, and revokes the API
//! keys they created that the account no longer covers.

use actix_web::{HttpResponse, get, patch, post, web};
use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
    sea_query::Expr,
};
use serde::{Deserialize, Serialize};

use bacowr_shared::{
    domain::{Role, Scopes},
    entities::{api_key, user},
    ids::{OrgId, UserId},
};

use super::params;
use crate::{
    auth::{Admin, Authorized, Caller, password},
    error::{ApiError, ErrorBody},
    routes::auth::clean_name,
    services::accounts,
    state::AppState,
};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "erik@acme.example", "password": "a long first password", "role": "member", "name": "Erik Lund"}))]
pub struct CreateUser {
    pub email: String,
    /// The first password; the user signs in with it. At least `auth.min_password_len`
    /// characters (12 by default, never under 8), at most 256, and not the email address.
    #[schema(min_length = 8, max_length = 256)]
    pub password: String,
    pub role: Role,
    /// At most 200 characters.
    #[schema(max_length = 200)]
    pub name: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"role": "admin"}))]
pub struct UpdateUser {
    pub role: Option<Role>,
    /// `false` disables the account: its sessions end and the API keys it created are revoked.
    pub active: Option<bool>,
    /// At most 200 characters.
    #[schema(max_length = 200)]
    pub name: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserView {
    pub id: UserId,
    pub email: String,
    pub name: Option<String>,
    pub role: Role,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserList {
    pub items: Vec<UserView>,
}

fn view(u: user::Model) -> UserView {
    UserView {
        id: UserId::from_uuid(u.id),
        email: u.email,
        name: u.name,
        role: Role::parse(&u.role).unwrap_or(Role::Member),
        active: u.active,
        created_at: u.created_at,
        last_login_at: u.last_login_at,
    }
}

async fn revoke_keys_beyond(
    db: &impl sea_orm::ConnectionTrait,
    user: UserId,
    keeps: Scopes,
) -> Result<(), ApiError> {
    let keys = api_key::Entity::find()
        .filter(api_key::Column::CreatedBy.eq(user.uuid()))
        .filter(api_key::Column::RevokedAt.is_null())
        .all(db)
        .await?;
    let doomed: Vec<uuid::Uuid> = keys
        .into_iter()
        .filter(|k| {
            !Scopes::parse(&k.scopes)
                .unwrap_or_default()
                .is_subset_of(keeps)
                || keeps.is_empty()
        })
        .map(|k| k.id)
        .collect();
    if !doomed.is_empty() {
        api_key::Entity::update_many()
            .col_expr(api_key::Column::RevokedAt, Expr::value(Utc::now()))
            .filter(api_key::Column::Id.is_in(doomed))
            .exec(db)
            .await?;
    }
    Ok(())
}

fn is_owner(caller: &Caller) -> bool {
    caller.role() == Some(Role::Owner)
}

/// A caller can't make someone more powerful than itself: an admin-only key must not mint an
/// admin user who then signs in with every scope.
fn within_callers_power(caller: &Caller, role: Role) -> Result<(), ApiError> {
    if role.scopes().is_subset_of(caller.scopes) {
        return Ok(());
    }
    Err(ApiError::forbidden(format!(
        "the role {} carries scopes ({}) this credential doesn't have ({}); \
         a user can't be given more than the one granting it",
        role.as_str(),
        role.scopes(),
        caller.scopes
    ))
    .with_field("role"))
}

fn owner_only() -> ApiError {
    ApiError::forbidden("only an owner can grant, change or remove the owner role")
        .with_field("role")
}

/// Add a user to the organization.
#[utoipa::path(
    post,
    path = "/api/v1/users",
    operation_id = "create_user",
    tag = "users",
    request_body = CreateUser,
    responses(
        (status = 201, description = "created; the user can sign in", body = UserView, example = json!({"id": "user_0192f0c4e5a27b6c8d9e0f1a2b3c4d5f", "email": "erik@acme.example", "name": "Erik Lund", "role": "member", "active": true, "created_at": "2026-11-02T09:30:00Z", "last_login_at": null})),
        (status = 400, description = "bad email, password, role or name", body = ErrorBody),
        (status = 403, description = "needs `admin`; only owners create owners; a role may not carry scopes the caller lacks (`field`: `role`)", body = ErrorBody),
        (status = 409, description = "the email address already has an account", body = ErrorBody),
    )
)]
#[post("/users")]
pub async fn create_user(
    caller: Authorized<Admin>,
    state: web::Data<AppState>,
    body: crate::intake::strict::StrictJson<CreateUser>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    if body.role == Role::Owner && !is_owner(&caller) {
        return Err(owner_only());
    }
    within_callers_power(&caller, body.role)?;
    let email = accounts::parse_email("email", &body.email)?;
    accounts::check_password(&state, "password", &body.password, &email)?;
    let name = clean_name(body.name)?;
    let hash = password::hash(body.password).await?;
    let id = UserId::new();
    accounts::insert_user(&state.db, caller.org_id, id, &email, name, hash, body.role).await?;
    let created = find(&state, caller.org_id, id).await?;
    Ok(HttpResponse::Created().json(view(created)))
}

/// The organization's users, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/users",
    operation_id = "list_users",
    tag = "users",
    responses((status = 200, description = "the organization's users, oldest first", body = UserList))
)]
#[get("/users")]
pub async fn list_users(
    caller: Authorized<Admin>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let users = user::Entity::find()
        .filter(user::Column::OrgId.eq(caller.org_id.uuid()))
        .order_by_asc(user::Column::Id)
        .all(&state.db)
        .await?;
    Ok(HttpResponse::Ok().json(UserList {
        items: users.into_iter().map(view).collect(),
    }))
}

async fn find(state: &AppState, org: OrgId, id: UserId) -> Result<user::Model, ApiError> {
    user::Entity::find_by_id(id.uuid())
        .filter(user::Column::OrgId.eq(org.uuid()))
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::not_found("user", &id.to_string()))
}

#[utoipa::path(
    get,
    path = "/api/v1/users/{user_id}",
    operation_id = "get_user",
    summary = "One user of the organization",
    tag = "users",
    params(("user_id" = UserId, Path, description = "The user's id (`user_…`)")),
    responses(
        (status = 200, description = "the user", body = UserView, example = json!({"id": "user_0192f0c4e5a27b6c8d9e0f1a2b3c4d5f", "email": "erik@acme.example", "name": "Erik Lund", "role": "member", "active": true, "created_at": "2026-11-02T09:30:00Z", "last_login_at": null})),
        (status = 400, description = "malformed id", body = ErrorBody),
        (status = 404, description = "no such user in this organization", body = ErrorBody),
    )
)]
#[get("/users/{user_id}")]
pub async fn get_user(
    caller: Authorized<Admin>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = params::parse_id(&path, "user_id", UserId::parse)?;
    Ok(HttpResponse::Ok().json(view(find(&state, caller.org_id, id).await?)))
}

/// Change a user's role, name or active flag.
#[utoipa::path(
    patch,
    path = "/api/v1/users/{user_id}",
    operation_id = "update_user",
    tag = "users",
    params(("user_id" = UserId, Path, description = "The user's id (`user_…`)")),
    request_body = UpdateUser,
    responses(
        (status = 200, description = "the user as it is now", body = UserView),
        (status = 400, description = "malformed id, or a bad field; `field` names it", body = ErrorBody),
        (status = 403, description = "needs `admin`; only owners touch the owner role; a role may not carry scopes the caller lacks (`field`: `role`)", body = ErrorBody),
        (status = 404, description = "no such user in this organization", body = ErrorBody),
        (status = 409, description = "would leave the organization without an active owner", body = ErrorBody),
    )
)]
#[patch("/users/{user_id}")]
pub async fn update_user(
    caller: Authorized<Admin>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: crate::intake::strict::StrictJson<UpdateUser>,
) -> Result<HttpResponse, ApiError> {
    let id = params::parse_id(&path, "user_id", UserId::parse)?;
    let body = body.into_inner();
    let name = body.name.map(|n| clean_name(Some(n))).transpose()?;
    if let Some(role) = body.role {
        within_callers_power(&caller, role)?;
    }
    let txn = state.db.begin().await?;
    let current = user::Entity::find_by_id(id.uuid())
        .filter(user::Column::OrgId.eq(caller.org_id.uuid()))
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or_else(|| ApiError::not_found("user", &id.to_string()))?;
    let was_owner = current.role == Role::Owner.as_str();
    let touches_owner = was_owner || body.role == Some(Role::Owner);
    if touches_owner && (body.role.is_some() || body.active == Some(false)) && !is_owner(&caller) {
        return Err(owner_only());
    }
    let loses_owner = was_owner
        && current.active
        && (body.role.is_some_and(|r| r != Role::Owner) || body.active == Some(false));
    if loses_owner {
        // Locks the organization's owners so two demotions can't both pass this check.
        let owners = user::Entity::find()
            .filter(user::Column::OrgId.eq(caller.org_id.uuid()))
            .filter(user::Column::Role.eq(Role::Owner.as_str()))
            .filter(user::Column::Active.eq(true))
            .lock_exclusive()
            .all(&txn)
            .await?
            .len();
        if owners <= 1 {
            return Err(ApiError::conflict(
                "role",
                "this is the organization's last active owner; make someone else owner first",
            ));
        }
    }
    let mut update = user::Entity::update_many()
        .col_expr(user::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(user::Column::Id.eq(current.id));
    if let Some(role) = body.role {
        update = update.col_expr(user::Column::Role, Expr::value(role.as_str()));
    }
    if let Some(active) = body.active {
        update = update.col_expr(user::Column::Active, Expr::value(active));
    }
    if let Some(name) = name {
        update = update.col_expr(user::Column::Name, Expr::value(name));
    }
    update.exec(&txn).await?;
    let role_changed = body.role.is_some_and(|r| r.as_str() != current.role);
    if role_changed || body.active == Some(false) {
        accounts::revoke_user_sessions(&txn, id, "account_changed").await?;
        // Keys can't outlive their creator's access: all of them go with a disabled account,
        // and those wider than a new role go with the old one.
        let keeps = match (body.active, body.role) {
            (Some(false), _) => Scopes::default(),
            (_, Some(role)) => role.scopes(),
            _ => Scopes::all(),
        };
        revoke_keys_beyond(&txn, id, keeps).await?;
    }
    txn.commit().await?;
    Ok(HttpResponse::Ok().json(view(find(&state, caller.org_id, id).await?)))
}

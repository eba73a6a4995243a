//! `/api/v1/audit/*`: the organization's audit log and its security events, newest first,
//! filtered and paginated. Admins only.

use actix_web::{HttpResponse, get, web};
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use utoipa::IntoParams;

use bacowr_shared::{
    audit::{KIND_REQUEST, KIND_SECURITY},
    entities::audit_log,
    ids::{ApiKeyId, AuditLogId, UserId},
};

use super::params;
use crate::{
    auth::{Admin, Authorized},
    error::{ApiError, ErrorBody},
    state::AppState,
};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    /// Entries at or after this time (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime, example = "2026-11-01T00:00:00Z")]
    pub from: Option<String>,
    /// Entries before this time (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime, example = "2026-12-01T00:00:00Z")]
    pub to: Option<String>,
    /// `request`, or a security event such as `login.failed`, `access.denied`, `rate_limited`.
    pub event: Option<String>,
    /// Who acted: a `user_…` or `key_…` id.
    #[param(pattern = "^(user|key)_[0-9a-fA-F]{32}$")]
    pub actor: Option<String>,
    /// HTTP method, e.g. `DELETE`.
    pub method: Option<String>,
    /// Response status, e.g. `403`.
    #[param(value_type = Option<u16>, minimum = 100, maximum = 599)]
    pub status: Option<String>,
    /// Items per page, 1-200 (default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200, default = 50)]
    pub limit: Option<String>,
    /// `next_cursor` from the previous page (an `aud_…` id).
    #[param(value_type = Option<AuditLogId>)]
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditEntryView {
    pub id: AuditLogId,
    /// `request` or `security`.
    #[schema(schema_with = crate::openapi::schemas::audit_kind)]
    pub kind: String,
    pub event: String,
    /// `user` or `api_key`.
    pub actor_type: Option<String>,
    /// `user_…` or `key_…`.
    pub actor: Option<String>,
    pub request_id: Option<String>,
    pub method: Option<String>,
    /// The route template, e.g. `/api/v1/batches/{batch_id}`.
    pub route: Option<String>,
    pub path: Option<String>,
    pub resource: Option<String>,
    pub status: Option<i32>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The request body with every secret replaced by `[REDACTED]`.
    pub body: Option<serde_json::Value>,
    pub detail: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditEntryView>,
    pub next_cursor: Option<String>,
}

fn time(field: &str, raw: Option<&str>) -> Result<Option<DateTime<Utc>>, ApiError> {
    raw.map(|s| {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| {
                ApiError::bad_request(field, "must be an RFC 3339 time, e.g. 2026-11-30T00:00:00Z")
            })
    })
    .transpose()
}

fn view(e: audit_log::Model) -> AuditEntryView {
    let actor = match (e.actor_type.as_deref(), e.actor_id) {
        (Some("user"), Some(id)) => Some(UserId::from_uuid(id).to_string()),
        (Some("api_key"), Some(id)) => Some(ApiKeyId::from_uuid(id).to_string()),
        _ => None,
    };
    AuditEntryView {
        id: AuditLogId::from_uuid(e.id),
        kind: e.kind,
        event: e.event,
        actor_type: e.actor_type,
        actor,
        request_id: e.request_id,
        method: e.method,
        route: e.route,
        path: e.path,
        resource: e.resource,
        status: e.status,
        ip: e.ip,
        user_agent: e.user_agent,
        body: e.body,
        detail: e.detail,
        created_at: e.created_at,
    }
}

async fn page(
    state: &AppState,
    caller: &Authorized<Admin>,
    kind: &str,
    p: AuditParams,
) -> Result<HttpResponse, ApiError> {
    use audit_log::Column as C;
    let limit = params::limit(p.limit.as_deref())?;
    let mut q = audit_log::Entity::find()
        .filter(C::OrgId.eq(caller.org_id.uuid()))
        .filter(C::Kind.eq(kind));
    if let Some(from) = time("from", p.from.as_deref())? {
        q = q.filter(C::CreatedAt.gte(from));
    }
    if let Some(to) = time("to", p.to.as_deref())? {
        q = q.filter(C::CreatedAt.lt(to));
    }
    if let Some(event) = p.event {
        q = q.filter(C::Event.eq(event));
    }
    if let Some(actor) = p.actor {
        let id = UserId::parse(&actor)
            .map(|u| u.uuid())
            .or_else(|_| ApiKeyId::parse(&actor).map(|k| k.uuid()))
            .map_err(|_| ApiError::bad_request("actor", "must be a user_… or key_… id"))?;
        q = q.filter(C::ActorId.eq(id));
    }
    if let Some(method) = p.method {
        q = q.filter(C::Method.eq(method.to_ascii_uppercase()));
    }
    if let Some(status) = p.status {
        let status: i32 = status
            .parse()
            .ok()
            .filter(|s| (100..600).contains(s))
            .ok_or_else(|| ApiError::bad_request("status", "must be an HTTP status such as 403"))?;
        q = q.filter(C::Status.eq(status));
    }
    if let Some(cursor) = p.cursor {
        let after = params::parse_id(&cursor, "cursor", AuditLogId::parse)?;
        q = q.filter(C::Id.lt(after.uuid()));
    }
    let mut rows = q
        .order_by_desc(C::Id)
        .limit(limit + 1)
        .all(&state.db)
        .await?;
    let more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = more
        .then(|| rows.last().map(|r| AuditLogId::from_uuid(r.id).to_string()))
        .flatten();
    Ok(HttpResponse::Ok().json(AuditPage {
        items: rows.into_iter().map(view).collect(),
        next_cursor,
    }))
}

/// Every mutating request of the organization, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/audit/logs",
    operation_id = "list_audit_logs",
    tag = "audit",
    params(AuditParams),
    responses(
        (status = 200, description = "a page of entries, newest first", body = AuditPage),
        (status = 400, description = "a bad or unknown filter, limit or cursor; `field` names it", body = ErrorBody),
    )
)]
#[get("/audit/logs")]
pub async fn logs(
    caller: Authorized<Admin>,
    state: web::Data<AppState>,
    query: web::Query<AuditParams>,
) -> Result<HttpResponse, ApiError> {
    page(&state, &caller, KIND_REQUEST, query.into_inner()).await
}

/// Failed logins, refused credentials and access, rate-limit hits, refresh token reuse,
/// budget alerts: newest first.
#[utoipa::path(
    get,
    path = "/api/v1/audit/security-events",
    operation_id = "list_security_events",
    tag = "audit",
    params(AuditParams),
    responses(
        (status = 200, description = "a page of security events, newest first", body = AuditPage),
        (status = 400, description = "a bad or unknown filter, limit or cursor; `field` names it", body = ErrorBody),
    )
)]
#[get("/audit/security-events")]
pub async fn security_events(
    caller: Authorized<Admin>,
    state: web::Data<AppState>,
    query: web::Query<AuditParams>,
) -> Result<HttpResponse, ApiError> {
    page(&state, &caller, KIND_SECURITY, query.into_inner()).await
}

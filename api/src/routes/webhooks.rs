//! `/api/v1/webhooks`: an organization's webhook endpoints (with an event filter and a
//! signing secret shown once), their deliveries with every attempt, and manual retries.

use actix_web::{HttpResponse, delete, get, patch, post, web};

use bacowr_shared::{
    ids::{WebhookDeliveryId, WebhookEndpointId},
    webhooks::DeliveryStatus,
};

use super::params;
pub use super::webhook_views::*;
use crate::{
    auth::{Admin, Authorized},
    error::{ApiError, ErrorBody},
    services::webhooks::{self as service, EndpointChanges, NewEndpoint},
    state::AppState,
};

fn endpoint_id(raw: &str) -> Result<WebhookEndpointId, ApiError> {
    params::parse_id(raw, "webhook_id", WebhookEndpointId::parse)
}

fn delivery_id(raw: &str) -> Result<WebhookDeliveryId, ApiError> {
    params::parse_id(raw, "msg_id", WebhookDeliveryId::parse)
}

/// Register an endpoint. The answer carries its signing secret, shown only here (and on
/// rotate-secret): verify each delivery's `webhook-signature` with it.
#[utoipa::path(
    post,
    path = "/api/v1/webhooks",
    operation_id = "create_webhook",
    tag = "webhooks",
    request_body = CreateWebhook,
    responses(
        (status = 201, description = "created; `secret` is shown this once", body = WebhookEndpointView, example = json!({"id": "wh_0192f0c4e5a27b6c8d9e0f1a2b3c4d63", "url": "https://hooks.example.com/bacowr", "description": "Agency dashboard", "event_types": ["batch.ready_for_review", "job.failed"], "enabled": true, "disabled_reason": null, "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "created_at": "2026-11-02T09:30:00Z", "updated_at": "2026-11-02T09:30:00Z"})),
        (status = 400, description = "malformed JSON, or an unknown or missing field", body = ErrorBody),
        (status = 409, description = "the organization has the most endpoints allowed (`webhooks.max_endpoints_per_org`, 20 by default)", body = ErrorBody),
        (status = 422, description = "bad url, description or event type (or a control character); each is named in `errors`", body = ErrorBody),
    )
)]
#[post("/webhooks")]
pub async fn create_webhook(
    tenant: Authorized<Admin>,
    body: crate::intake::strict::StrictJson<CreateWebhook>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let created = service::create(
        &state,
        tenant.org_id,
        NewEndpoint {
            url: body.url,
            description: body.description,
            event_types: body.event_types,
            enabled: body.enabled,
        },
    )
    .await?;
    Ok(HttpResponse::Created().json(WebhookEndpointView::new(created, true)))
}

/// The organization's endpoints, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/webhooks",
    operation_id = "list_webhooks",
    tag = "webhooks",
    params(params::ListParams),
    responses(
        (status = 200, description = "a page of endpoints, newest first, without their secrets", body = WebhookEndpointPage),
        (status = 400, description = "bad limit or cursor (a `wh_…` id)", body = ErrorBody),
    )
)]
#[get("/webhooks")]
pub async fn list_webhooks(
    tenant: Authorized<Admin>,
    query: web::Query<params::ListParams>,
    state: web::Data<AppState>,
) -> Result<web::Json<WebhookEndpointPage>, ApiError> {
    let limit = params::limit(query.limit.as_deref())?;
    let after = query
        .cursor
        .as_deref()
        .map(|c| params::parse_id(c, "cursor", WebhookEndpointId::parse))
        .transpose()?;
    let (rows, next_cursor) = service::list(&state, tenant.org_id, limit, after).await?;
    Ok(web::Json(WebhookEndpointPage {
        items: rows
            .into_iter()
            .map(|e| WebhookEndpointView::new(e, false))
            .collect(),
        next_cursor,
    }))
}

/// One endpoint (without its secret).
#[utoipa::path(
    get,
    path = "/api/v1/webhooks/{webhook_id}",
    operation_id = "get_webhook",
    tag = "webhooks",
    params(("webhook_id" = WebhookEndpointId, Path, description = "The endpoint's id (`wh_…`)")),
    responses(
        (status = 200, description = "the endpoint, without its secret", body = WebhookEndpointView),
        (status = 400, description = "malformed id", body = ErrorBody),
        (status = 404, description = "no such endpoint in this organization", body = ErrorBody),
    )
)]
#[get("/webhooks/{webhook_id}")]
pub async fn get_webhook(
    tenant: Authorized<Admin>,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<web::Json<WebhookEndpointView>, ApiError> {
    let id = endpoint_id(&path)?;
    let found = service::find(&state, tenant.org_id, id).await?;
    Ok(web::Json(WebhookEndpointView::new(found, false)))
}

/// Change an endpoint's URL, description, event filter, or enable/disable it.
#[utoipa::path(
    patch,
    path = "/api/v1/webhooks/{webhook_id}",
    operation_id = "update_webhook",
    tag = "webhooks",
    params(("webhook_id" = WebhookEndpointId, Path, description = "The endpoint's id (`wh_…`)")),
    request_body = UpdateWebhook,
    responses(
        (status = 200, description = "the endpoint as it is now, without its secret", body = WebhookEndpointView),
        (status = 400, description = "malformed id or JSON, or an unknown field", body = ErrorBody),
        (status = 404, description = "no such endpoint in this organization", body = ErrorBody),
        (status = 422, description = "bad url, description or event type (or a control character); each is named in `errors`", body = ErrorBody),
    )
)]
#[patch("/webhooks/{webhook_id}")]
pub async fn update_webhook(
    tenant: Authorized<Admin>,
    path: web::Path<String>,
    body: crate::intake::strict::StrictJson<UpdateWebhook>,
    state: web::Data<AppState>,
) -> Result<web::Json<WebhookEndpointView>, ApiError> {
    let id = endpoint_id(&path)?;
    let body = body.into_inner();
    let updated = service::update(
        &state,
        tenant.org_id,
        id,
        EndpointChanges {
            url: body.url,
            description: body.description,
            event_types: body.event_types,
            enabled: body.enabled,
        },
    )
    .await?;
    Ok(web::Json(WebhookEndpointView::new(updated, false)))
}

/// Delete an endpoint with its deliveries; pending ones are never sent.
#[utoipa::path(
    delete,
    path = "/api/v1/webhooks/{webhook_id}",
    operation_id = "delete_webhook",
    tag = "webhooks",
    params(("webhook_id" = WebhookEndpointId, Path, description = "The endpoint's id (`wh_…`)")),
    responses(
        (status = 204, description = "deleted"),
        (status = 400, description = "malformed id", body = ErrorBody),
        (status = 404, description = "no such endpoint in this organization", body = ErrorBody),
    )
)]
#[delete("/webhooks/{webhook_id}")]
pub async fn delete_webhook(
    tenant: Authorized<Admin>,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = endpoint_id(&path)?;
    service::delete(&state, tenant.org_id, id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Replace the signing secret; the answer shows the new one, once. Attempts from now on
/// are signed with it.
#[utoipa::path(
    post,
    path = "/api/v1/webhooks/{webhook_id}/rotate-secret",
    operation_id = "rotate_webhook_secret",
    tag = "webhooks",
    params(("webhook_id" = WebhookEndpointId, Path, description = "The endpoint's id (`wh_…`)")),
    responses(
        (status = 200, description = "the endpoint with its new `secret`", body = WebhookEndpointView),
        (status = 400, description = "malformed id", body = ErrorBody),
        (status = 404, description = "no such endpoint in this organization", body = ErrorBody),
    )
)]
#[post("/webhooks/{webhook_id}/rotate-secret")]
pub async fn rotate_secret(
    tenant: Authorized<Admin>,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<web::Json<WebhookEndpointView>, ApiError> {
    let id = endpoint_id(&path)?;
    let rotated = service::rotate_secret(&state, tenant.org_id, id).await?;
    Ok(web::Json(WebhookEndpointView::new(rotated, true)))
}

/// An endpoint's deliveries, newest first, with their status and attempt count.
#[utoipa::path(
    get,
    path = "/api/v1/webhooks/{webhook_id}/deliveries",
    operation_id = "list_webhook_deliveries",
    tag = "webhooks",
    params(("webhook_id" = WebhookEndpointId, Path, description = "The endpoint's id (`wh_…`)"), DeliveryListParams),
    responses(
        (status = 200, description = "a page of the endpoint's deliveries, newest first", body = WebhookDeliveryPage),
        (status = 400, description = "bad id, status, limit or cursor", body = ErrorBody),
        (status = 404, description = "no such endpoint in this organization", body = ErrorBody),
    )
)]
#[get("/webhooks/{webhook_id}/deliveries")]
pub async fn list_deliveries(
    tenant: Authorized<Admin>,
    path: web::Path<String>,
    query: web::Query<DeliveryListParams>,
    state: web::Data<AppState>,
) -> Result<web::Json<WebhookDeliveryPage>, ApiError> {
    let id = endpoint_id(&path)?;
    let limit = params::limit(query.limit.as_deref())?;
    let status = query
        .status
        .as_deref()
        .map(|s| {
            DeliveryStatus::parse(s).ok_or_else(|| {
                ApiError::bad_request("status", "must be one of pending, delivered, failed")
            })
        })
        .transpose()?;
    let after = query
        .cursor
        .as_deref()
        .map(|c| params::parse_id(c, "cursor", WebhookDeliveryId::parse))
        .transpose()?;
    let (rows, next_cursor) =
        service::deliveries(&state, tenant.org_id, id, status, limit, after).await?;
    Ok(web::Json(WebhookDeliveryPage {
        items: rows.into_iter().map(Into::into).collect(),
        next_cursor,
    }))
}

/// One delivery: what was sent and every attempt.
#[utoipa::path(
    get,
    path = "/api/v1/webhooks/{webhook_id}/deliveries/{msg_id}",
    operation_id = "get_webhook_delivery",
    tag = "webhooks",
    params(
        ("webhook_id" = WebhookEndpointId, Path, description = "The endpoint's id (`wh_…`)"),
        ("msg_id" = WebhookDeliveryId, Path, description = "The delivery's id (`msg_…`), the `webhook-id` it was sent with"),
    ),
    responses(
        (status = 200, description = "the delivery with every attempt", body = WebhookDeliveryDetail),
        (status = 400, description = "malformed id", body = ErrorBody),
        (status = 404, description = "no such delivery of this endpoint in this organization", body = ErrorBody),
    )
)]
#[get("/webhooks/{webhook_id}/deliveries/{msg_id}")]
pub async fn get_delivery(
    tenant: Authorized<Admin>,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<web::Json<WebhookDeliveryDetail>, ApiError> {
    let (endpoint, msg) = path.into_inner();
    let (endpoint, msg) = (endpoint_id(&endpoint)?, delivery_id(&msg)?);
    let (d, attempts) = service::delivery(&state, tenant.org_id, endpoint, msg).await?;
    Ok(web::Json(WebhookDeliveryDetail::new(d, attempts)))
}

/// Send a failed delivery again: one more attempt, due now (with the same message id).
#[utoipa::path(
    post,
    path = "/api/v1/webhooks/{webhook_id}/deliveries/{msg_id}/retry",
    operation_id = "retry_webhook_delivery",
    tag = "webhooks",
    params(
        ("webhook_id" = WebhookEndpointId, Path, description = "The endpoint's id (`wh_…`)"),
        ("msg_id" = WebhookDeliveryId, Path, description = "The delivery's id (`msg_…`)"),
    ),
    responses(
        (status = 202, description = "queued again", body = WebhookDeliveryDetail),
        (status = 400, description = "malformed id", body = ErrorBody),
        (status = 404, description = "no such delivery of this endpoint in this organization", body = ErrorBody),
        (status = 409, description = "the delivery is not failed, or the endpoint is disabled", body = ErrorBody),
    )
)]
#[post("/webhooks/{webhook_id}/deliveries/{msg_id}/retry")]
pub async fn retry_delivery(
    tenant: Authorized<Admin>,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (endpoint, msg) = path.into_inner();
    let (endpoint, msg) = (endpoint_id(&endpoint)?, delivery_id(&msg)?);
    let (d, attempts) = service::retry(&state, tenant.org_id, endpoint, msg).await?;
    Ok(HttpResponse::Accepted().json(WebhookDeliveryDetail::new(d, attempts)))
}

//! Webhook endpoints and their deliveries, scoped to the caller's organization: another
//! organization's endpoint or delivery is "not found". Receiver URLs are checked here for
//! their shape (scheme, host, length); their addresses are checked by the worker's SSRF guard
//! at delivery time, after DNS.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, sea_query::Expr,
};
use serde_json::Value;

use bacowr_shared::{
    entities::{webhook_attempt, webhook_delivery, webhook_endpoint},
    ids::{OrgId, WebhookDeliveryId, WebhookEndpointId},
    webhooks::{DeliveryStatus, WebhookEvent, check_url, signing},
};

use crate::{
    error::{ApiError, FieldError},
    state::AppState,
};

pub const MAX_DESCRIPTION: usize = 500;

/// A new endpoint, as sent.
pub struct NewEndpoint {
    pub url: String,
    pub description: Option<String>,
    pub event_types: Vec<String>,
    pub enabled: Option<bool>,
}

/// Changes to an endpoint; `None` leaves a value alone.
pub struct EndpointChanges {
    pub url: Option<String>,
    pub description: Option<String>,
    pub event_types: Option<Vec<String>>,
    pub enabled: Option<bool>,
}

fn field_error(field: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.to_owned(),
        message: message.into(),
        row: None,
        line: None,
    }
}

fn check_fields(
    url: Option<&str>,
    description: Option<&str>,
    event_types: Option<&[String]>,
) -> Result<Option<Vec<WebhookEvent>>, ApiError> {
    let mut errors = Vec::new();
    if let Some(Err(e)) = url.map(check_url) {
        errors.push(field_error("url", e));
    }
    if description.is_some_and(|d| d.chars().count() > MAX_DESCRIPTION) {
        errors.push(field_error("description", "must be at most 500 characters"));
    }
    let mut events = Vec::new();
    for (i, name) in event_types.unwrap_or_default().iter().enumerate() {
        match WebhookEvent::parse(name) {
            Some(e) if !events.contains(&e) => events.push(e),
            Some(_) => {}
            None => errors.push(field_error(
                &format!("event_types[{i}]"),
                format!("unknown event {name:?}; one of {}", WebhookEvent::names()),
            )),
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    Ok(event_types.map(|_| events))
}

fn event_json(events: &[WebhookEvent]) -> Value {
    Value::Array(events.iter().map(|e| e.as_str().into()).collect())
}

pub async fn create(
    state: &AppState,
    org: OrgId,
    new: NewEndpoint,
) -> Result<webhook_endpoint::Model, ApiError> {
    let description = new.description.filter(|d| !d.trim().is_empty());
    let events = check_fields(
        Some(&new.url),
        description.as_deref(),
        Some(&new.event_types),
    )?
    .unwrap_or_default();
    let max = state.settings.webhooks.max_endpoints_per_org;
    let existing = webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::OrgId.eq(org.uuid()))
        .count(&state.db)
        .await?;
    if existing >= max as u64 {
        return Err(ApiError::conflict(
            "url",
            format!("the organization already has {max} webhook endpoints, the most allowed"),
        ));
    }
    let now = Utc::now();
    let model = webhook_endpoint::ActiveModel {
        id: Set(WebhookEndpointId::new().uuid()),
        org_id: Set(org.uuid()),
        url: Set(new.url),
        description: Set(description),
        event_types: Set(event_json(&events)),
        secret: Set(signing::generate_secret()),
        enabled: Set(new.enabled.unwrap_or(true)),
        disabled_reason: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    };
    Ok(model.insert(&state.db).await?)
}

pub async fn find(
    state: &AppState,
    org: OrgId,
    id: WebhookEndpointId,
) -> Result<webhook_endpoint::Model, ApiError> {
    webhook_endpoint::Entity::find_by_id(id.uuid())
        .filter(webhook_endpoint::Column::OrgId.eq(org.uuid()))
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::not_found("webhook endpoint", &id.to_string()))
}

/// The organization's endpoints, newest first, one page past `after`.
pub async fn list(
    state: &AppState,
    org: OrgId,
    limit: u64,
    after: Option<WebhookEndpointId>,
) -> Result<(Vec<webhook_endpoint::Model>, Option<String>), ApiError> {
    let mut select = webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::OrgId.eq(org.uuid()))
        .order_by_desc(webhook_endpoint::Column::Id)
        .limit(limit + 1);
    if let Some(after) = after {
        select = select.filter(webhook_endpoint::Column::Id.lt(after.uuid()));
    }
    let mut rows = select.all(&state.db).await?;
    let next = (rows.len() as u64 > limit).then(|| {
        rows.truncate(limit as usize);
        rows.last()
            .map(|e| WebhookEndpointId::from_uuid(e.id).to_string())
    });
    Ok((rows, next.flatten()))
}

pub async fn update(
    state: &AppState,
    org: OrgId,
    id: WebhookEndpointId,
    changes: EndpointChanges,
) -> Result<webhook_endpoint::Model, ApiError> {
    let events = check_fields(
        changes.url.as_deref(),
        changes.description.as_deref(),
        changes.event_types.as_deref(),
    )?;
    let found = find(state, org, id).await?;
    let mut model: webhook_endpoint::ActiveModel = found.into();
    if let Some(url) = changes.url {
        model.url = Set(url);
    }
    if let Some(description) = changes.description {
        // An empty description clears it.
        model.description = Set(Some(description).filter(|d| !d.trim().is_empty()));
    }
    if let Some(events) = events {
        model.event_types = Set(event_json(&events));
    }
    if let Some(enabled) = changes.enabled {
        model.enabled = Set(enabled);
        if enabled {
            model.disabled_reason = Set(None);
        }
    }
    model.updated_at = Set(Utc::now());
    saved(model.update(&state.db).await, id)
}

/// An update of a row read a moment ago: a DELETE in between leaves nothing to update, and
/// that is the 404 the client would have had a moment later, not a failure of ours.
fn saved(
    result: Result<webhook_endpoint::Model, sea_orm::DbErr>,
    id: WebhookEndpointId,
) -> Result<webhook_endpoint::Model, ApiError> {
    match result {
        Err(sea_orm::DbErr::RecordNotUpdated) => {
            Err(ApiError::not_found("webhook endpoint", &id.to_string()))
        }
        other => Ok(other?),
    }
}

/// Deletes the endpoint and, with it, its deliveries and their attempts.
pub async fn delete(state: &AppState, org: OrgId, id: WebhookEndpointId) -> Result<(), ApiError> {
    let deleted = webhook_endpoint::Entity::delete_many()
        .filter(webhook_endpoint::Column::Id.eq(id.uuid()))
        .filter(webhook_endpoint::Column::OrgId.eq(org.uuid()))
        .exec(&state.db)
        .await?
        .rows_affected;
    if deleted == 0 {
        return Err(ApiError::not_found("webhook endpoint", &id.to_string()));
    }
    Ok(())
}

/// A new secret; the old one stops signing at once.
pub async fn rotate_secret(
    state: &AppState,
    org: OrgId,
    id: WebhookEndpointId,
) -> Result<webhook_endpoint::Model, ApiError> {
    let found = find(state, org, id).await?;
    let mut model: webhook_endpoint::ActiveModel = found.into();
    model.secret = Set(signing::generate_secret());
    model.updated_at = Set(Utc::now());
    saved(model.update(&state.db).await, id)
}

/// An endpoint's deliveries, newest first, optionally in one status.
pub async fn deliveries(
    state: &AppState,
    org: OrgId,
    endpoint: WebhookEndpointId,
    status: Option<DeliveryStatus>,
    limit: u64,
    after: Option<WebhookDeliveryId>,
) -> Result<(Vec<webhook_delivery::Model>, Option<String>), ApiError> {
    find(state, org, endpoint).await?;
    let mut select = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::EndpointId.eq(endpoint.uuid()))
        .filter(webhook_delivery::Column::OrgId.eq(org.uuid()))
        .order_by_desc(webhook_delivery::Column::Id)
        .limit(limit + 1);
    if let Some(status) = status {
        select = select.filter(webhook_delivery::Column::Status.eq(status));
    }
    if let Some(after) = after {
        select = select.filter(webhook_delivery::Column::Id.lt(after.uuid()));
    }
    let mut rows = select.all(&state.db).await?;
    let next = (rows.len() as u64 > limit).then(|| {
        rows.truncate(limit as usize);
        rows.last()
            .map(|d| WebhookDeliveryId::from_uuid(d.id).to_string())
    });
    Ok((rows, next.flatten()))
}

pub async fn delivery(
    state: &AppState,
    org: OrgId,
    endpoint: WebhookEndpointId,
    id: WebhookDeliveryId,
) -> Result<(webhook_delivery::Model, Vec<webhook_attempt::Model>), ApiError> {
    let found = webhook_delivery::Entity::find_by_id(id.uuid())
        .filter(webhook_delivery::Column::EndpointId.eq(endpoint.uuid()))
        .filter(webhook_delivery::Column::OrgId.eq(org.uuid()))
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::not_found("webhook delivery", &id.to_string()))?;
    let attempts = webhook_attempt::Entity::find()
        .filter(webhook_attempt::Column::DeliveryId.eq(found.id))
        .order_by_asc(webhook_attempt::Column::Attempt)
        .all(&state.db)
        .await?;
    Ok((found, attempts))
}

/// Puts a failed delivery back in line for one more attempt, due now.
pub async fn retry(
    state: &AppState,
    org: OrgId,
    endpoint: WebhookEndpointId,
    id: WebhookDeliveryId,
) -> Result<(webhook_delivery::Model, Vec<webhook_attempt::Model>), ApiError> {
    let hook = find(state, org, endpoint).await?;
    let (found, _) = delivery(state, org, endpoint, id).await?;
    if found.status != DeliveryStatus::Failed {
        return Err(ApiError::conflict(
            "status",
            format!(
                "only a failed delivery can be retried; this one is {}",
                found.status.as_str()
            ),
        ));
    }
    if !hook.enabled {
        return Err(ApiError::conflict(
            "enabled",
            "the endpoint is disabled; enable it before retrying its deliveries",
        ));
    }
    let now = Utc::now();
    let moved = webhook_delivery::Entity::update_many()
        .col_expr(
            webhook_delivery::Column::Status,
            Expr::value(DeliveryStatus::Pending),
        )
        .col_expr(webhook_delivery::Column::NextAttemptAt, Expr::value(now))
        .col_expr(
            webhook_delivery::Column::DispatchedAt,
            Expr::value(Option::<chrono::DateTime<Utc>>::None),
        )
        .col_expr(webhook_delivery::Column::UpdatedAt, Expr::value(now))
        .filter(webhook_delivery::Column::Id.eq(found.id))
        .filter(webhook_delivery::Column::Status.eq(DeliveryStatus::Failed))
        .exec(&state.db)
        .await?
        .rows_affected;
    if moved == 0 {
        return Err(ApiError::conflict(
            "status",
            "the delivery changed meanwhile; read it again",
        ));
    }
    state
        .backplane
        .wake_dispatcher(&state.settings.redis.namespace)
        .await;
    delivery(state, org, endpoint, id).await
}

//! The audit log: every mutating request (who, organization, request id, method, route,
//! resource, status, IP, user agent, the body with secrets redacted) and every security event
//! (refused credentials, refused access, rate-limit hits, failed logins, refresh token reuse).
//! Written after the handler answers, before the response leaves, so an answered request is
//! on record.

use actix_web::{
    Error, HttpMessage, HttpResponse, ResponseError,
    body::{EitherBody, MessageBody},
    dev::{self, ServiceRequest, ServiceResponse},
    http::{Method, header},
    middleware::Next,
    web,
};
use futures::StreamExt;

use bacowr_shared::audit::{self, Entry, KIND_REQUEST, KIND_SECURITY, events};

use crate::{
    auth::{Caller, client_ip},
    error::ApiError,
    ratelimit::Decision,
    request_id,
    state::AppState,
};

/// What a handler adds to its audit entry: a security event it detected, or who the request
/// was about when no credential said so (a login).
#[derive(Debug, Clone, Default)]
pub struct AuditNote {
    pub event: Option<&'static str>,
    pub org_id: Option<uuid::Uuid>,
    pub actor: Option<(&'static str, uuid::Uuid)>,
    pub detail: Option<String>,
}

fn bytes_to_payload(buf: web::Bytes) -> dev::Payload {
    let (_, mut pl) = actix_http::h1::Payload::create(true);
    pl.unread_data(buf);
    dev::Payload::from(pl)
}

/// Reads the whole body (it is needed for the log and still given to the handler). `Err` holds
/// the 413 answer for a body over the limit.
async fn take_body(req: &mut ServiceRequest, limit: usize) -> Result<web::Bytes, HttpResponse> {
    let mut payload = req.take_payload();
    let mut buf = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| ApiError::bad_request("body", e.to_string()).error_response())?;
        if buf.len() + chunk.len() > limit {
            return Err(ApiError::payload_too_large(limit).error_response());
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

pub async fn middleware(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    };
    let mutating = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    // Requests to no route come from probes and scanners, not clients: limited per IP before
    // anything is read or written, and kept as a bare security event (path and IP, no body),
    // so a flood can't fill the log.
    let unmatched = req.match_pattern().is_none();
    if mutating
        && unmatched
        && let Err(limited) = crate::auth::unauthenticated(&state, req.request()).await
    {
        let res = req.into_response(limited.error_response());
        write_entry(&state, &res, None, &content_type, None, true).await;
        return Ok(res.map_into_right_body());
    }
    let mut body = None;
    if mutating && !unmatched {
        let limit = state.settings.api.max_body_bytes;
        match take_body(&mut req, limit).await {
            Ok(bytes) => {
                body = Some(bytes.clone());
                req.set_payload(bytes_to_payload(bytes));
            }
            Err(answer) => return Ok(req.into_response(answer).map_into_right_body()),
        }
    }
    let user_agent = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let res = next.call(req).await?;
    write_entry(&state, &res, body, &content_type, user_agent, unmatched).await;
    Ok(res.map_into_left_body())
}

/// Writes the request's audit entry, if it needs one.
async fn write_entry<B>(
    state: &AppState,
    res: &ServiceResponse<B>,
    body: Option<web::Bytes>,
    content_type: &str,
    user_agent: Option<String>,
    unmatched: bool,
) {
    let ip = client_ip(state, res.request());
    let mutating = !matches!(
        *res.request().method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );

    let status = res.status().as_u16();
    let request = res.request();
    let note = request
        .extensions()
        .get::<AuditNote>()
        .cloned()
        .unwrap_or_default();
    let caller = request.extensions().get::<Caller>().copied();
    let security = note.event.or(match status {
        401 => Some(events::AUTH_FAILED),
        403 => Some(events::ACCESS_DENIED),
        429 => Some(events::RATE_LIMITED),
        _ if unmatched && mutating => Some(events::UNKNOWN_ROUTE),
        _ => None,
    });
    if security == Some(events::RATE_LIMITED) {
        let first = request
            .extensions()
            .get::<Decision>()
            .is_none_or(|d| state.limiter.should_report(d));
        if !first {
            return;
        }
    }
    if security.is_none() && !mutating {
        return;
    }
    let resource = request
        .match_info()
        .iter()
        .map(|(_, v)| v)
        .collect::<Vec<_>>()
        .join("/");
    let entry = Entry {
        org_id: caller.map(|c| c.org_id.uuid()).or(note.org_id),
        kind: if security.is_some() {
            KIND_SECURITY
        } else {
            KIND_REQUEST
        },
        event: security.unwrap_or("request").to_owned(),
        actor_type: caller.map(|c| c.actor_type()).or(note.actor.map(|a| a.0)),
        actor_id: caller.map(|c| c.actor_uuid()).or(note.actor.map(|a| a.1)),
        request_id: request_id::current(),
        method: Some(request.method().to_string()),
        route: request.match_pattern(),
        path: Some(request.path().to_owned()),
        resource: (!resource.is_empty()).then_some(resource),
        status: Some(status),
        ip: Some(ip),
        user_agent,
        // Only what a known caller sent: an anonymous body is anyone's to make up.
        body: body
            .filter(|_| caller.is_some() || note.actor.is_some())
            .and_then(|b| {
                audit::sanitize_body(content_type, &b, state.settings.audit.body_max_bytes)
            }),
        detail: note.detail.or_else(|| {
            res.response()
                .error()
                .filter(|_| security.is_some())
                .map(|e| e.to_string())
        }),
    };
    if let Err(e) = audit::record(&state.db, entry).await {
        tracing::error!(error = %e, "writing the audit log failed");
    }
}

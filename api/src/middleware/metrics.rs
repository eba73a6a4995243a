//! Counts and times every request by route template, method and status for `/metrics`.

use std::time::Instant;

use actix_web::{
    Error,
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    middleware::Next,
    web,
};

use crate::state::AppState;

/// The label for paths no route serves: raw paths would make the label set unbounded.
const UNMATCHED: &str = "unmatched";

/// The method label: the standard methods by name, anything a client made up as `other`
/// (any token is a valid HTTP method, so raw methods would make the label set unbounded).
fn method_label(method: &actix_web::http::Method) -> &'static str {
    match method.as_str() {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        "CONNECT" => "CONNECT",
        "TRACE" => "TRACE",
        _ => "other",
    }
}

pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let metrics = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.metrics.clone());
    let method = req.method().clone();
    let started = Instant::now();
    let result = next.call(req).await;
    if let Some(metrics) = metrics {
        let (route, status) = match &result {
            // Routing has run by now, so the request knows the template it matched.
            Ok(res) => (
                res.request().match_pattern(),
                res.response().status().as_u16(),
            ),
            Err(e) => (None, e.as_response_error().status_code().as_u16()),
        };
        metrics.observe(
            route.as_deref().unwrap_or(UNMATCHED),
            method_label(&method),
            status,
            started.elapsed(),
        );
    }
    result
}

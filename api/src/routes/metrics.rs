//! `/metrics` for Prometheus: outside `/api/v1` and the OpenAPI document, like the probes,
//! because scrapers are not API clients. A configured token guards it on a public listener.

use actix_web::{HttpRequest, HttpResponse, get, http::header::AUTHORIZATION, web};

use crate::{auth::credentials::secrets_equal, error::ApiError, state::AppState};

#[get("/metrics")]
pub async fn metrics(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let token = &state.settings.telemetry.metrics_token;
    if !token.is_empty() {
        let given = req
            .headers()
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if !given.is_some_and(|g| secrets_equal(g, token)) {
            return Err(ApiError::unauthorized(
                "/metrics needs `Authorization: Bearer <telemetry.metrics_token>`",
            ));
        }
    }
    Ok(HttpResponse::Ok()
        .content_type(crate::metrics::CONTENT_TYPE)
        .body(state.metrics.render(&state.db).await))
}

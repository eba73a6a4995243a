//! HTTP routes. Each module is one resource; `configure` mounts them.

pub mod analytics;
pub mod batches;
pub mod body;
pub mod control;
pub mod export;
pub mod health;
pub mod jobs;
pub mod params;
pub mod providers;
pub mod usage;
pub mod views;

use actix_web::{HttpResponse, http::StatusCode, web};

use crate::{openapi, services::submission::Accepted};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(health::health)
        .service(health::ready)
        .service(openapi::serve)
        .service(
            web::scope("/api/v1")
                .service(batches::submit)
                .service(batches::list_batches)
                .service(batches::get_batch)
                .service(batches::list_jobs)
                .service(control::cancel_batch)
                .service(control::retry_failed)
                .service(control::retry_job)
                .service(export::export)
                .service(jobs::submit)
                .service(jobs::get_job)
                .service(usage::usage)
                .service(providers::providers)
                .service(analytics::jobs)
                .service(analytics::backlinks)
                .service(analytics::costs),
        );
}

fn accepted_response(accepted: Accepted) -> HttpResponse {
    HttpResponse::build(StatusCode::from_u16(accepted.status).unwrap_or(StatusCode::ACCEPTED))
        .content_type("application/json")
        .body(accepted.body)
}

//! HTTP routes. Each module is one resource; `configure` mounts them.

pub mod analytics;
pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod batches;
pub mod body;
pub mod calls;
pub mod control;
pub mod export;
pub mod health;
pub mod items;
pub mod jobs;
pub mod metrics;
pub mod org;
pub mod params;
pub mod providers;
pub mod review;
pub mod review_views;
pub mod usage;
pub mod users;
pub mod views;
pub mod webhook_views;
pub mod webhooks;

use actix_web::{HttpResponse, http::StatusCode, web};

use crate::{openapi, services::submission::Accepted};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(health::health)
        .service(health::ready)
        .service(metrics::metrics)
        .service(openapi::serve)
        .service(crate::docs::index)
        .service(crate::docs::file)
        .service(
            web::scope("/api/v1")
                .wrap(actix_web::middleware::from_fn(crate::auth::middleware))
                .service(auth::register)
                .service(auth::login)
                .service(auth::refresh)
                .service(auth::logout)
                .service(auth::me)
                .service(api_keys::create_api_key)
                .service(api_keys::list_api_keys)
                .service(api_keys::revoke_api_key)
                .service(users::create_user)
                .service(users::list_users)
                .service(users::get_user)
                .service(users::update_user)
                .service(org::get_org)
                .service(org::update_org)
                .service(audit::logs)
                .service(audit::security_events)
                .service(batches::submit)
                .service(batches::list_batches)
                .service(batches::get_batch)
                .service(batches::list_jobs)
                .service(calls::batch_calls)
                .service(control::cancel_batch)
                .service(control::retry_failed)
                .service(control::retry_job)
                .service(items::list_items)
                .service(items::get_item)
                .service(items::get_version)
                .service(review::review_item)
                .service(review::review_bulk)
                .service(export::export)
                .service(export::download_export)
                .service(jobs::submit)
                .service(jobs::get_job)
                .service(usage::usage)
                .service(providers::providers)
                .service(crate::live::sse::batch_events)
                .service(crate::live::ws::batch_socket)
                .service(crate::live::ws::job_socket)
                .service(webhooks::create_webhook)
                .service(webhooks::list_webhooks)
                .service(webhooks::get_webhook)
                .service(webhooks::update_webhook)
                .service(webhooks::delete_webhook)
                .service(webhooks::rotate_secret)
                .service(webhooks::list_deliveries)
                .service(webhooks::get_delivery)
                .service(webhooks::retry_delivery)
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

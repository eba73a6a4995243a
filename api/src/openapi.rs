//! The OpenAPI document: every route, generated from the code (utoipa), served at
//! `/api-docs/openapi.json` and checked in at `openapi/openapi.json`.

use actix_web::{HttpResponse, get};
use utoipa::{
    Modify, OpenApi,
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
};

use crate::{error, intake, routes};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "BACOWR API",
        description = "Backlink Content Writer: submit batches of link assignments, follow their progress, read the articles.",
        license(name = "MIT"),
    ),
    paths(
        routes::health::health,
        routes::health::ready,
        routes::batches::submit,
        routes::batches::list_batches,
        routes::batches::get_batch,
        routes::batches::list_jobs,
        routes::control::cancel_batch,
        routes::control::retry_failed,
        routes::control::retry_job,
        routes::items::list_items,
        routes::items::get_item,
        routes::items::get_version,
        routes::review::review_item,
        routes::review::review_bulk,
        routes::export::export,
        routes::jobs::submit,
        routes::jobs::get_job,
        routes::usage::usage,
        routes::providers::providers,
        crate::live::sse::batch_events,
        crate::live::ws::batch_socket,
        crate::live::ws::job_socket,
        routes::webhooks::create_webhook,
        routes::webhooks::list_webhooks,
        routes::webhooks::get_webhook,
        routes::webhooks::update_webhook,
        routes::webhooks::delete_webhook,
        routes::webhooks::rotate_secret,
        routes::webhooks::list_deliveries,
        routes::webhooks::get_delivery,
        routes::webhooks::retry_delivery,
        routes::analytics::jobs,
        routes::analytics::backlinks,
        routes::analytics::costs,
    ),
    components(schemas(
        error::ErrorBody,
        error::FieldError,
        intake::SubmitBatch,
        intake::LinkInput,
        routes::views::BatchView,
        routes::views::BatchPage,
        routes::control::RetryFailed,
        routes::views::JobView,
        routes::views::JobPage,
        routes::views::ArticleView,
        routes::views::ArticleVersionView,
        routes::views::QcSummary,
        routes::views::ReviewCounts,
        routes::review_views::ReviewItemView,
        routes::review_views::ReviewItemPage,
        routes::review_views::ItemQc,
        routes::review_views::DecisionView,
        routes::review_views::RefusedItem,
        routes::review_views::BulkReviewResult,
        routes::review::ReviewBody,
        routes::review::BulkReviewBody,
        bacowr_shared::domain::ReviewStatus,
        bacowr_shared::domain::ReviewDecision,
        intake::QcInput,
        routes::usage::UsageView,
        routes::usage::UsageLine,
        routes::providers::ProvidersView,
        routes::providers::DeploymentView,
        routes::providers::BreakerCounts,
        routes::providers::LatencyView,
        routes::providers::RateBudgetView,
        crate::services::estimate::Estimate,
        crate::services::estimate::EstimateFigures,
        crate::services::quota::QuotaReport,
        bacowr_shared::quota::Exceeded,
        bacowr_shared::quota::Metric,
        bacowr_shared::quota::check::QuotaLine,
        bacowr_shared::events::LiveEvent,
        bacowr_shared::events::EventKind,
        crate::live::ResetMessage,
        routes::webhooks::CreateWebhook,
        routes::webhooks::UpdateWebhook,
        routes::webhooks::WebhookEndpointView,
        routes::webhooks::WebhookEndpointPage,
        routes::webhooks::WebhookDeliveryView,
        routes::webhooks::WebhookDeliveryPage,
        routes::webhooks::WebhookDeliveryDetail,
        routes::webhooks::WebhookAttemptView,
        bacowr_shared::webhooks::WebhookEvent,
        bacowr_shared::webhooks::DeliveryStatus,
        crate::export::Format,
        crate::export::ZipArchive,
        crate::export::json::ExportDocument,
        crate::export::json::ExportedItem,
        crate::export::json::ExportedLink,
        crate::export::json::ExportedReview,
        crate::export::json::ExportedArticle,
        crate::export::json::ExportedQc,
        crate::analytics::Range,
        crate::analytics::jobs::JobAnalytics,
        crate::analytics::jobs::StatusCounts,
        crate::analytics::jobs::DayCounts,
        crate::analytics::jobs::Durations,
        crate::analytics::backlinks::BacklinkAnalytics,
        crate::analytics::backlinks::BacklinkTotals,
        crate::analytics::backlinks::DomainStats,
        crate::analytics::costs::CostAnalytics,
        crate::analytics::costs::CostFigures,
        crate::analytics::costs::DayCost,
        crate::analytics::costs::BatchCost,
        crate::analytics::costs::ProviderCost,
        crate::analytics::costs::ModelCost,
    )),
    modifiers(&BearerAuth),
    security(("api_key" = [])),
    tags(
        (name = "batches", description = "Bulk link assignments"),
        (name = "jobs", description = "Single assignments and their articles"),
        (name = "review", description = "Reviewing a batch's articles: approve, reject, regenerate"),
        (name = "usage", description = "Provider usage and cost"),
        (name = "live", description = "Live progress: Server-Sent Events and WebSockets, resumable by event id"),
        (name = "analytics", description = "Jobs, backlinks and costs over a date range"),
        (name = "operations", description = "Health and readiness"),
        (name = "webhooks", description = "Signed event deliveries (Standard Webhooks) to an organization's endpoints"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An organization's API key: `Authorization: Bearer bcw_…`",
                    ))
                    .build(),
            ),
        );
    }
}

/// The document as checked in: pretty JSON with a trailing newline.
pub fn document() -> String {
    let mut json = ApiDoc::openapi()
        .to_pretty_json()
        .expect("the OpenAPI document serialises");
    json.push('\n');
    json
}

#[get("/api-docs/openapi.json")]
pub async fn serve() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(document())
}

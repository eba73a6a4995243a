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
        routes::export::export,
        routes::jobs::submit,
        routes::jobs::get_job,
        routes::usage::usage,
        routes::providers::providers,
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
        (name = "usage", description = "Provider usage and cost"),
        (name = "analytics", description = "Jobs, backlinks and costs over a date range"),
        (name = "operations", description = "Health and readiness"),
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

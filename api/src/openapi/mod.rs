//! The OpenAPI document: every route, generated from the code (utoipa), served at
//! `/api-docs/openapi.json` and checked in at `openapi/openapi.json`.

use actix_web::{HttpResponse, get};
use utoipa::OpenApi;

mod conventions;
pub mod examples;
pub mod schemas;

pub use conventions::operations;
use conventions::{BearerAuth, Conventions};

use crate::{error, intake, routes};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "BACOWR API",
        description = "Backlink Content Writer: submit batches of link assignments, follow their progress, read the articles.\n\n\
Every error answers with an `ErrorBody`: `detail` for people, `error_code` for programs, `field` naming the bad input, \
`request_id` to quote. A method a path doesn't declare answers 405 with an `Allow` header listing the ones it does; \
a path that isn't here answers 404. Lists page with `limit` and the previous page's `next_cursor` as `cursor`.",
        license(name = "MIT"),
    ),
    paths(
        routes::health::health,
        routes::health::ready,
        routes::auth::register,
        routes::auth::login,
        routes::auth::refresh,
        routes::auth::logout,
        routes::auth::me,
        routes::api_keys::create_api_key,
        routes::api_keys::list_api_keys,
        routes::api_keys::revoke_api_key,
        routes::users::create_user,
        routes::users::list_users,
        routes::users::get_user,
        routes::users::update_user,
        routes::org::get_org,
        routes::org::update_org,
        routes::audit::logs,
        routes::audit::security_events,
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
        routes::export::download_export,
        routes::jobs::submit,
        routes::jobs::get_job,
        routes::usage::usage,
        routes::calls::batch_calls,
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
        routes::auth::RegisterRequest,
        routes::auth::LoginRequest,
        routes::auth::RefreshRequest,
        routes::auth::Registered,
        routes::auth::MeView,
        crate::services::accounts::Tokens,
        routes::api_keys::CreateApiKey,
        routes::api_keys::ApiKeyView,
        routes::api_keys::CreatedApiKey,
        routes::api_keys::ApiKeyList,
        routes::users::CreateUser,
        routes::users::UpdateUser,
        routes::users::UserView,
        routes::users::UserList,
        routes::org::UpdateOrg,
        routes::org::OrgView,
        routes::org::RateLimitsView,
        routes::org::QuotasView,
        routes::audit::AuditEntryView,
        routes::audit::AuditPage,
        bacowr_shared::domain::Role,
        bacowr_shared::domain::Scope,
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
        routes::calls::BatchCallsView,
        routes::calls::CheckCount,
        routes::calls::OutcomeCount,
        routes::calls::DeploymentCalls,
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
        crate::export::ExportFile,
        crate::routes::batches::CsvSheet,
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
    modifiers(&BearerAuth, &Conventions),
    tags(
        (name = "auth", description = "Sign-up, sign-in, token refresh and sign-out; who am I"),
        (name = "api-keys", description = "Keys for programs: scoped, expiring, revocable"),
        (name = "users", description = "The organization's people and their roles"),
        (name = "organization", description = "Organization settings: rate limits, quotas, budgets"),
        (name = "audit", description = "Audit log and security events"),
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

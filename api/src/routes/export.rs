//! `GET /api/v1/batches/{id}/export[/{format}]`: the batch's approved articles as a download.

use actix_web::{
    HttpResponse, get,
    http::header::{ContentDisposition, DispositionParam, DispositionType},
    web,
};
use sea_orm::{ActiveEnum, ColumnTrait, EntityTrait, QueryFilter};
use serde::Deserialize;
use utoipa::IntoParams;

use bacowr_shared::{entities::batch, ids::BatchId};

use super::params;
use crate::{
    auth::{Authorized, ReadBatches},
    error::{ApiError, ErrorBody},
    export::{Export, Format, source},
    request_id,
    state::AppState,
};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// `json` (default), `csv`, `markdown` (also `md`), `html` or `docx`.
    #[param(value_type = Option<Format>, default = "json")]
    pub format: Option<String>,
}

/// Downloads the batch's approved articles, and only those, in sheet order.
///
/// - `json`: one document with the batch and, per item, the link, review, article, QC report,
///   trust links, tokens and cost (schema `ExportDocument`).
/// - `csv`: one row per link: `row, publisher_domain, target_url, anchor_text, language,
///   title, word_count, qc_passed, cost_usd, article_url`; cells a spreadsheet would run as a
///   formula start with `'`.
/// - `markdown`, `html`, `docx`: a zip with one file per article named
///   `NN_publisher_titleslug.ext` (`NN` the sheet row, zero-padded).
///
/// The body is streamed as it is rendered. If the server fails after it has started sending,
/// it logs the error with the request id and cuts the body off: the transfer ends without its
/// final chunk (and a zip without its central directory), so a client must treat a
/// connection error or an unreadable archive as a failed export and retry.
#[utoipa::path(
    get,
    path = "/api/v1/batches/{batch_id}/export",
    operation_id = "export_batch",
    tag = "batches",
    params(("batch_id" = BatchId, Path, description = "The batch's id (`batch_…`)"), ExportParams),
    responses(
        (status = 200, description = "the export, as an attachment `batch_<id>_<format>.<ext>`: JSON for `json`, CSV for `csv`, a zip for `markdown`, `html` and `docx`",
            headers(("Content-Disposition" = String, description = "`attachment; filename=\"batch_<id>_<format>.<ext>\"`")),
            content(
                (crate::export::json::ExportDocument = "application/json"),
                (String = "text/csv", example = json!("row,publisher_domain,target_url,anchor_text,language,title,word_count,qc_passed,deployment,provider,model,cost_usd,article_url\r\n1,bloggen.se,https://client.se/cyklar,bästa cyklarna,sv,Så väljer du rätt cykel,812,true,openai,openai,gpt-4o-mini,0.001118,https://bacowr.example/api/v1/batches/batch_0192f0c4e5a27b6c8d9e0f1a2b3c4d5e/items/item_0192f0c4e5a27b6c8d9e0f1a2b3c4d62\r\n")),
                (crate::export::ZipArchive = "application/zip"),
            )),
        (status = 400, description = "malformed id or unknown `format`", body = ErrorBody),
        (status = 404, description = "no such batch in this organization", body = ErrorBody),
        (status = 409, description = "nothing in the batch is approved yet (`field`: `status`)", body = ErrorBody),
    )
)]
#[get("/batches/{batch_id}/export")]
pub async fn export(
    tenant: Authorized<ReadBatches>,
    path: web::Path<String>,
    query: web::Query<ExportParams>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = params::parse_id(&path, "batch_id", BatchId::parse)?;
    let format = Format::parse(query.format.as_deref())?;
    download(&tenant, id, format, &state).await
}

/// Downloads the batch's approved articles as a file, whatever the format: the same export as
/// `export_batch`, documented as bytes so that a generated client hands back the file itself
/// (a client generator that reads a JSON answer as JSON can't also return a zip from the same
/// operation). The `Content-Type` says which it is.
#[utoipa::path(
    get,
    path = "/api/v1/batches/{batch_id}/export/{format}",
    operation_id = "download_batch_export",
    tag = "batches",
    params(
        ("batch_id" = BatchId, Path, description = "The batch's id (`batch_…`)"),
        ("format" = Format, Path, description = "`json`, `csv`, `markdown` (also `md`), `html` or `docx`"),
    ),
    responses(
        (status = 200, description = "the export file, as an attachment `batch_<id>_<format>.<ext>`: a zip for `markdown`, `html` and `docx`, CSV for `csv`, JSON for `json`",
            headers(("Content-Disposition" = String, description = "`attachment; filename=\"batch_<id>_<format>.<ext>\"`")),
            content(
                (crate::export::ExportFile = "application/zip"),
                (crate::export::ExportFile = "text/csv"),
                (crate::export::ExportFile = "application/json"),
            )),
        (status = 400, description = "malformed id or unknown `format`", body = ErrorBody),
        (status = 404, description = "no such batch in this organization", body = ErrorBody),
        (status = 409, description = "nothing in the batch is approved yet (`field`: `status`)", body = ErrorBody),
    )
)]
#[get("/batches/{batch_id}/export/{format}")]
pub async fn download_export(
    tenant: Authorized<ReadBatches>,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (batch_id, format) = path.into_inner();
    let id = params::parse_id(&batch_id, "batch_id", BatchId::parse)?;
    let format = Format::parse(Some(&format))?;
    download(&tenant, id, format, &state).await
}

/// Both routes: the batch (this organization's), something approved in it, then the stream.
async fn download(
    tenant: &Authorized<ReadBatches>,
    id: BatchId,
    format: Format,
    state: &AppState,
) -> Result<HttpResponse, ApiError> {
    let found = batch::Entity::find_by_id(id.uuid())
        .filter(batch::Column::OrgId.eq(tenant.org_id.uuid()))
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::not_found("batch", &id.to_string()))?;
    if source::approved_count(&state.db, found.org_id, found.id).await? == 0 {
        return Err(ApiError::conflict(
            "status",
            format!(
                "batch {id} has no approved items to export yet (batch status {}; {} pending, \
                 {} rejected, {} regenerating)",
                found.status.to_value(),
                found.pending_items,
                found.rejected_items,
                found.regenerating_items
            ),
        ));
    }
    let body = Export {
        db: state.db.clone(),
        batch: found,
        format,
        public_base: state.settings.api.public_base().to_owned(),
        request_id: request_id::current().unwrap_or_default(),
    }
    .start();
    Ok(HttpResponse::Ok()
        .content_type(format.content_type())
        .insert_header(ContentDisposition {
            disposition: DispositionType::Attachment,
            parameters: vec![DispositionParam::Filename(format.file_name(id))],
        })
        .insert_header(("Cache-Control", "no-store"))
        .streaming(body))
}

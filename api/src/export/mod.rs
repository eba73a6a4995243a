//! Exports of a batch's approved articles (`GET /batches/{id}/export`): JSON, CSV, and zips
//! of Markdown, HTML or .docx files. One module per format; `stream` carries the bytes.
//!
//! The export is rendered by a task while it is sent: approved items are read in keyset
//! pages of [`source::PAGE_SIZE`], each page rendered and handed to a bounded channel that the
//! response body drains, so memory stays flat for 1,000 articles. An error after the first
//! byte can't become an error status any more: it is logged with the request id and the body
//! is cut off (no final chunk, and for zips no central directory), which clients detect.

pub mod csv;
pub mod docx;
pub mod html;
pub mod json;
pub mod markdown;
pub mod naming;
pub mod source;
pub mod stream;

use chrono::Utc;
use futures::Stream;
use sea_orm::DatabaseConnection;
use serde::Deserialize;
use tracing::Instrument;

use bacowr_shared::{
    entities::batch,
    ids::{BatchId, ReviewItemId},
};

use self::{
    source::{ApprovedItems, ExportRow},
    stream::{Chunk, Closed, Sink, ZipStream},
};
use crate::{error::ApiError, routes::views::BatchView};

/// What `?format=` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Json,
    Csv,
    Markdown,
    Html,
    Docx,
}

impl Format {
    pub const ALL: [Format; 5] = [
        Self::Json,
        Self::Csv,
        Self::Markdown,
        Self::Html,
        Self::Docx,
    ];

    /// `json` when absent; a 400 naming `format` for anything unknown.
    pub fn parse(raw: Option<&str>) -> Result<Self, ApiError> {
        match raw.map(str::trim).map(str::to_ascii_lowercase).as_deref() {
            None | Some("json") => Ok(Self::Json),
            Some("csv") => Ok(Self::Csv),
            Some("markdown" | "md") => Ok(Self::Markdown),
            Some("html") => Ok(Self::Html),
            Some("docx") => Ok(Self::Docx),
            Some(_) => Err(ApiError::bad_request(
                "format",
                "must be one of json, csv, markdown, html, docx",
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Csv => "csv",
            Self::Markdown => "markdown",
            Self::Html => "html",
            Self::Docx => "docx",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Json => "application/json",
            Self::Csv => "text/csv; charset=utf-8",
            Self::Markdown | Self::Html | Self::Docx => "application/zip",
        }
    }

    /// The extension of the download itself.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Csv => "csv",
            Self::Markdown | Self::Html | Self::Docx => "zip",
        }
    }

    /// `batch_<id>_<format>.<ext>`: the typed id already starts with `batch_`.
    pub fn file_name(self, batch_id: BatchId) -> String {
        format!("{batch_id}_{}.{}", self.as_str(), self.extension())
    }
}

/// A zip archive with one file per approved article (`markdown`, `html`, `docx`).
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct ZipArchive(pub Vec<u8>);

/// An export file's bytes, whichever format it is in (the `Content-Type` says which).
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct ExportFile(pub Vec<u8>);

/// Everything the rendering task needs, owned (it outlives the handler).
pub struct Export {
    pub db: DatabaseConnection,
    pub batch: batch::Model,
    pub format: Format,
    /// `api.public_url` without its trailing slash; empty: item URLs are paths.
    pub public_base: String,
    pub request_id: String,
}

impl Export {
    /// Starts rendering on the current runtime; the returned stream is the response body.
    pub fn start(self) -> impl Stream<Item = Chunk> + 'static {
        let (sink, body) = stream::channel();
        let span = tracing::Span::current();
        actix_web::rt::spawn(
            async move {
                let request_id = self.request_id.clone();
                let (batch_id, format) = (BatchId::from_uuid(self.batch.id), self.format.as_str());
                match self.run(&sink).await {
                    Ok(items) => {
                        sink.finish().await;
                        tracing::info!(%batch_id, format, items, "export sent");
                    }
                    Err(RunError::Closed(_)) => {
                        tracing::info!(%batch_id, format, "export abandoned by the client");
                    }
                    Err(e) => {
                        tracing::error!(
                            %request_id, %batch_id, format, error = %e,
                            "export failed mid-stream; the body was cut off"
                        );
                        sink.abort("export failed; see the server log for this request id")
                            .await;
                    }
                }
            }
            .instrument(span),
        );
        body
    }

    fn item_url(&self, row: &ExportRow) -> String {
        format!(
            "{}/api/v1/batches/{}/items/{}",
            self.public_base,
            BatchId::from_uuid(self.batch.id),
            ReviewItemId::from_uuid(row.item.id)
        )
    }

    async fn run(self, sink: &Sink) -> Result<usize, RunError> {
        let mut pages = ApprovedItems::new(self.batch.org_id, self.batch.id);
        let now = Utc::now();
        let mut count = 0;
        match self.format {
            Format::Json => {
                sink.send(json::head(&BatchView::from(self.batch.clone()), now)?)
                    .await?;
                loop {
                    let page = pages.next_page(&self.db).await?;
                    if page.is_empty() {
                        break;
                    }
                    let mut out = Vec::with_capacity(page.len() * 8 * 1024);
                    for row in &page {
                        let item = json::ExportedItem::new(row, self.item_url(row));
                        json::item(&mut out, count == 0, &item)?;
                        count += 1;
                    }
                    sink.send(out).await?;
                }
                sink.send(json::TAIL.to_vec()).await?;
            }
            Format::Csv => {
                let mut rows = csv::CsvRows::new();
                rows.header()?;
                loop {
                    let page = pages.next_page(&self.db).await?;
                    if page.is_empty() {
                        break;
                    }
                    for row in &page {
                        rows.row(row, &self.item_url(row))?;
                        count += 1;
                    }
                    sink.send(rows.take()?).await?;
                }
                sink.send(rows.take()?).await?;
            }
            Format::Markdown | Format::Html | Format::Docx => {
                let mut zip = ZipStream::new(now);
                let mut namer = naming::Namer::new(self.batch.total_jobs);
                loop {
                    let page = pages.next_page(&self.db).await?;
                    if page.is_empty() {
                        break;
                    }
                    for row in &page {
                        let (ext, data, compress) = match self.format {
                            Format::Markdown => ("md", markdown::render(row).into_bytes(), true),
                            Format::Html => ("html", html::render(row).into_bytes(), true),
                            _ => ("docx", docx::render(row)?, false),
                        };
                        let name = namer.name(
                            row.number(),
                            &row.job.publisher_domain,
                            &row.article.title,
                            ext,
                        );
                        zip.add(&name, &data, compress)?;
                        count += 1;
                        // One file at a time to the socket: the buffer never holds more.
                        sink.send(zip.take()).await?;
                    }
                }
                sink.send(zip.finish()?).await?;
            }
        }
        Ok(count)
    }
}

#[derive(Debug, thiserror::Error)]
enum RunError {
    #[error(transparent)]
    Closed(#[from] Closed),
    #[error("database: {0}")]
    Db(#[from] sea_orm::DbErr),
    #[error("zip: {0}")]
    Zip(#[from] zip::result::ZipError),
    #[error("csv: {0}")]
    Csv(#[from] ::csv::Error),
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

//! Turning a submitted body (JSON or CSV) into validated link assignments. All-or-nothing:
//! every bad row and field is collected into one 422.

mod csv;
mod json;
mod options;
pub mod strict;

use bacowr_shared::domain::LinkAssignment;

use crate::error::{ApiError, FieldError};

pub use json::{LinkInput, SubmitBatch};
pub use options::{BatchOptions, QcInput, RawOptions};

pub const MAX_NAME_CHARS: usize = 200;

/// One link as submitted, before validation.
pub(crate) struct RawLink {
    pub publisher_domain: String,
    pub target_url: String,
    pub anchor_text: String,
    pub language: Option<String>,
    /// CSV line number, for error messages.
    pub line: Option<u64>,
    /// Already reported as structurally bad; kept only so row numbers stay aligned.
    pub malformed: bool,
}

pub struct Submission {
    pub name: Option<String>,
    pub links: Vec<LinkAssignment>,
    pub options: BatchOptions,
}

/// What a submission is checked against.
pub struct Limits<'a> {
    pub max_links: usize,
    /// The configured deployment names a batch may choose from.
    pub deployments: &'a [String],
}

pub fn parse_json(body: &[u8], limits: &Limits<'_>) -> Result<Submission, ApiError> {
    let (name, raw, options, mut errors) = json::parse(body)?;
    finish(name, raw, options, &mut errors, limits)
}

/// `POST /api/v1/jobs`: one link as a JSON object.
pub fn parse_single(body: &[u8]) -> Result<bacowr_shared::domain::LinkAssignment, ApiError> {
    let raw = json::parse_one(body)?;
    LinkAssignment::parse(
        &raw.publisher_domain,
        &raw.target_url,
        &raw.anchor_text,
        raw.language.as_deref(),
    )
    .map_err(|bad| {
        ApiError::validation(
            bad.into_iter()
                .map(|e| FieldError {
                    field: e.field.to_owned(),
                    message: e.message,
                    row: None,
                    line: None,
                })
                .collect(),
        )
    })
}

/// CSV carries links only; batch options come from the query string.
pub fn parse_csv(
    body: &[u8],
    options: RawOptions,
    limits: &Limits<'_>,
) -> Result<Submission, ApiError> {
    let (raw, mut errors) = csv::parse(body)?;
    finish(None, raw, options, &mut errors, limits)
}

fn finish(
    name: Option<String>,
    raw: Vec<RawLink>,
    options: RawOptions,
    errors: &mut Vec<FieldError>,
    limits: &Limits<'_>,
) -> Result<Submission, ApiError> {
    let max_links = limits.max_links;
    if raw.is_empty() && errors.is_empty() {
        return Err(ApiError::validation(vec![FieldError {
            field: "links".into(),
            message: "must contain at least one link".into(),
            row: None,
            line: None,
        }]));
    }
    if raw.len() > max_links {
        return Err(ApiError::validation(vec![FieldError {
            field: "links".into(),
            message: format!(
                "{} links submitted; a batch holds at most {max_links}",
                raw.len()
            ),
            row: None,
            line: None,
        }]));
    }
    let name = match name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty()) {
        Some(n) if n.chars().count() > MAX_NAME_CHARS => {
            errors.push(FieldError {
                field: "name".into(),
                message: format!("must be at most {MAX_NAME_CHARS} characters"),
                row: None,
                line: None,
            });
            None
        }
        other => other,
    };
    let options = options.resolve(limits.deployments, errors);
    let mut links = Vec::with_capacity(raw.len());
    for (row, link) in raw.into_iter().enumerate() {
        if link.malformed {
            continue;
        }
        match LinkAssignment::parse(
            &link.publisher_domain,
            &link.target_url,
            &link.anchor_text,
            link.language.as_deref(),
        ) {
            Ok(parsed) => links.push(parsed),
            Err(bad) => errors.extend(bad.into_iter().map(|e| FieldError {
                field: format!("links[{row}].{}", e.field),
                message: e.message,
                row: Some(row),
                line: link.line,
            })),
        }
    }
    if !errors.is_empty() {
        errors.sort_by_key(|e| e.row.unwrap_or(usize::MAX));
        return Err(ApiError::validation(std::mem::take(errors)));
    }
    let options = options.expect("no errors means the options resolved");
    Ok(Submission {
        name,
        links,
        options,
    })
}

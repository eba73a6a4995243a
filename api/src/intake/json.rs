use serde::Deserialize;
use serde_json::Value;

use super::{QcInput, RawLink, RawOptions};
use crate::error::{ApiError, FieldError};

/// `POST /api/v1/batches` as JSON.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SubmitBatch {
    /// A label for the batch, e.g. the client and month.
    #[schema(example = "Acme: November links", max_length = 200)]
    pub name: Option<String>,
    /// 1 to 1,000 link assignments (`api.max_links_per_batch`, 1,000 by default).
    #[schema(min_items = 1, max_items = 1000)]
    pub links: Vec<LinkInput>,
    /// The QC profile and per-batch threshold overrides.
    pub qc: Option<QcInput>,
    /// Language for links whose own field, publisher TLD and target page say nothing.
    #[schema(example = "sv")]
    pub default_language: Option<String>,
    /// Deployments this batch may use, in order: a chain, or one name to pin a provider. Each
    /// must be a configured deployment.
    #[schema(example = json!(["claude", "gpt"]), min_items = 1)]
    pub providers: Option<Vec<String>>,
}

/// One link assignment.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct LinkInput {
    /// The bare domain the article is published on.
    #[schema(example = "bloggen.se", min_length = 3, max_length = 255)]
    pub publisher_domain: String,
    /// The absolute http(s) URL the anchor links to.
    #[schema(example = "https://client.se/cyklar", max_length = 2048)]
    pub target_url: String,
    /// The link text, 1-500 characters after trimming.
    #[schema(example = "bästa cyklarna", min_length = 1, max_length = 500)]
    pub anchor_text: String,
    /// ISO 639-1 code; by default the publisher's TLD decides.
    #[schema(example = "sv")]
    pub language: Option<String>,
}

fn bad_body(message: String) -> ApiError {
    ApiError::bad_request("body", message)
}

fn read_json(body: &[u8]) -> Result<Value, ApiError> {
    super::strict::parse_object(body).map(Value::Object)
}

/// The batch name, the links in order, the batch options, and the structural errors found.
type Parsed = (Option<String>, Vec<RawLink>, RawOptions, Vec<FieldError>);

/// Reads the body loosely (each field as any JSON value) so one 422 can name every bad field
/// instead of serde stopping at the first.
pub(super) fn parse(body: &[u8]) -> Result<Parsed, ApiError> {
    let value = read_json(body)?;
    let Value::Object(mut root) = value else {
        return Err(bad_body(
            "the body must be a JSON object with a `links` array".into(),
        ));
    };
    let mut errors = Vec::new();
    let name = match root.remove("name") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(_) => {
            errors.push(field_error("name", None, "must be a string"));
            None
        }
    };
    let links = match root.remove("links") {
        Some(Value::Array(items)) => items,
        None | Some(Value::Null) => {
            return Err(ApiError::validation(vec![field_error(
                "links",
                None,
                "is required: an array of {publisher_domain, target_url, anchor_text, language?}",
            )]));
        }
        Some(_) => {
            return Err(ApiError::validation(vec![field_error(
                "links",
                None,
                "must be an array",
            )]));
        }
    };
    let options = RawOptions::from_json(&mut root, &mut errors);
    // A misspelt optional field would otherwise be silently ignored.
    for key in root.keys() {
        errors.push(field_error(
            key,
            None,
            "is not a batch field (name, links, qc, default_language, providers)",
        ));
    }
    let raw = links
        .into_iter()
        .enumerate()
        .map(|(row, item)| read_link(row, item, &mut errors))
        .collect();
    Ok((name, raw, options, errors))
}

pub(super) fn parse_one(body: &[u8]) -> Result<RawLink, ApiError> {
    let value = read_json(body)?;
    if !value.is_object() {
        return Err(bad_body("the body must be a JSON object".into()));
    }
    let mut errors = Vec::new();
    let link = read_link(0, value, &mut errors);
    if errors.is_empty() {
        Ok(link)
    } else {
        for e in &mut errors {
            e.field = e.field.trim_start_matches("links[0].").to_owned();
            e.row = None;
        }
        Err(ApiError::validation(errors))
    }
}

fn field_error(field: &str, row: Option<usize>, message: &str) -> FieldError {
    FieldError {
        field: field.to_owned(),
        message: message.to_owned(),
        row,
        line: None,
    }
}

const LINK_FIELDS: [&str; 4] = ["publisher_domain", "target_url", "anchor_text", "language"];

fn read_link(row: usize, item: Value, errors: &mut Vec<FieldError>) -> RawLink {
    if let Some(fields) = item.as_object() {
        for key in fields.keys().filter(|k| !LINK_FIELDS.contains(&k.as_str())) {
            errors.push(field_error(
                &format!("links[{row}].{key}"),
                Some(row),
                "is not a link field (publisher_domain, target_url, anchor_text, language)",
            ));
        }
    }
    let mut text = |name: &str, required: bool| -> Option<String> {
        match item.get(name) {
            Some(Value::String(s)) => Some(s.clone()),
            None | Some(Value::Null) if !required => None,
            None | Some(Value::Null) => {
                errors.push(field_error(
                    &format!("links[{row}].{name}"),
                    Some(row),
                    "is required",
                ));
                None
            }
            Some(_) => {
                errors.push(field_error(
                    &format!("links[{row}].{name}"),
                    Some(row),
                    "must be a string",
                ));
                None
            }
        }
    };
    if !item.is_object() {
        errors.push(field_error(
            &format!("links[{row}]"),
            Some(row),
            "must be an object",
        ));
        return RawLink::skipped();
    }
    let publisher_domain = text("publisher_domain", true);
    let target_url = text("target_url", true);
    let anchor_text = text("anchor_text", true);
    let language = text("language", false);
    match (publisher_domain, target_url, anchor_text) {
        (Some(publisher_domain), Some(target_url), Some(anchor_text)) => RawLink {
            publisher_domain,
            target_url,
            anchor_text,
            language,
            line: None,
            malformed: false,
        },
        _ => RawLink::skipped(),
    }
}

impl RawLink {
    /// A placeholder for a row already reported as malformed; it keeps row numbers aligned and
    /// is never validated into a link, because its error is already recorded.
    fn skipped() -> Self {
        RawLink {
            publisher_domain: String::new(),
            target_url: String::new(),
            anchor_text: String::new(),
            language: None,
            line: None,
            malformed: true,
        }
    }
}

//! Query parameters shared by the list routes, parsed into field-named 400s.

use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::ApiError;

pub const DEFAULT_LIMIT: u64 = 50;
pub const MAX_LIMIT: u64 = 200;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Items per page, 1-200 (default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200, default = 50)]
    pub limit: Option<String>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobListParams {
    /// Items per page, 1-200 (default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200, default = 50)]
    pub limit: Option<String>,
    /// `next_cursor` from the previous page (`row_<n>`).
    #[param(pattern = "^row_[0-9]+$")]
    pub cursor: Option<String>,
    /// Only jobs in this status.
    #[param(value_type = Option<bacowr_shared::domain::JobStatus>)]
    pub status: Option<String>,
}

/// Batch options for CSV uploads, which carry links only (JSON sends them in the body).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SubmitParams {
    /// CSV only: the QC profile, `standard` (default) or `long_form`.
    #[param(schema_with = crate::openapi::schemas::qc_profile)]
    pub qc_profile: Option<String>,
    /// CSV only: language for links whose own, publisher TLD and target page say nothing: an
    /// ISO 639-1 code such as `sv`, `en` or `de`.
    #[param(example = "sv")]
    pub default_language: Option<String>,
    /// CSV only: deployments this batch may use, comma-separated, e.g. `claude,gpt`.
    pub providers: Option<String>,
    /// Validate and estimate tokens and cost without creating anything (200 with an estimate).
    #[param(value_type = Option<bool>, default = false)]
    pub dry_run: Option<String>,
}

pub fn limit(raw: Option<&str>) -> Result<u64, ApiError> {
    match raw {
        None => Ok(DEFAULT_LIMIT),
        Some(s) => s
            .parse::<u64>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                ApiError::bad_request("limit", format!("must be an integer from 1 to {MAX_LIMIT}"))
            }),
    }
}

pub fn parse_id<T>(
    raw: &str,
    field: &str,
    parse: fn(&str) -> Result<T, bacowr_shared::ids::IdParseError>,
) -> Result<T, ApiError> {
    parse(raw).map_err(|e| ApiError::bad_request(field, e.to_string()))
}

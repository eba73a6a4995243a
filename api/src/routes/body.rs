//! Reading request bodies under the configured size limit, and the JSON, query and path
//! extractor errors in the project's error format.

use actix_web::{
    HttpRequest,
    error::{JsonPayloadError, QueryPayloadError},
    web::{self, Bytes, BytesMut},
};
use futures::StreamExt;

use crate::error::ApiError;

/// How much of an oversized body is read and thrown away before answering 413, so that
/// ordinary clients see the 413 rather than a reset connection.
const DRAIN_LIMIT: usize = 32 * 1024 * 1024;

pub async fn read_limited(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<Bytes, ApiError> {
    let declared = req
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let mut body = BytesMut::new();
    let mut seen = 0usize;
    let mut too_large = declared.is_some_and(|n| n > limit);
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| ApiError::bad_request("body", format!("unreadable body: {e}")))?;
        seen += chunk.len();
        if seen > limit {
            too_large = true;
        }
        if too_large {
            if seen > DRAIN_LIMIT {
                break;
            }
            continue;
        }
        body.extend_from_slice(&chunk);
    }
    if too_large {
        return Err(ApiError::payload_too_large(limit));
    }
    Ok(body.freeze())
}

/// The request's media type, lower-cased, without parameters (`text/csv; charset=utf-8` →
/// `text/csv`); empty when no Content-Type was sent.
pub fn media_type(req: &HttpRequest) -> String {
    req.headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// JSON is assumed when no Content-Type is sent, as most HTTP clients expect.
pub fn is_json(media_type: &str) -> bool {
    media_type.is_empty() || media_type == "application/json" || media_type.ends_with("+json")
}

pub fn json_error(err: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let api = match &err {
        JsonPayloadError::OverflowKnownLength { limit, .. }
        | JsonPayloadError::Overflow { limit } => ApiError::payload_too_large(*limit),
        JsonPayloadError::ContentType => ApiError::unsupported_media_type("(not JSON)"),
        other => ApiError::bad_request("body", format!("invalid JSON body: {other}")),
    };
    api.into()
}

pub fn query_error(err: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::bad_request("query", format!("invalid query string: {err}")).into()
}

pub fn path_error(err: actix_web::error::PathError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::bad_request("path", format!("invalid path: {err}")).into()
}

//! The API's error answer: `{detail, error_code, field, timestamp, request_id}`,
//! plus `errors` naming every bad row and field of a validation failure. Internal errors are
//! logged (and reach Sentry through the tracing layer) and answered with a bare 500.

use actix_web::{HttpResponse, ResponseError, http::StatusCode};
use chrono::{DateTime, Utc};
use sea_orm::DbErr;
use serde::Serialize;

use bacowr_shared::{error::ErrorCode, quota::Exceeded};

use crate::request_id;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// Path of the bad value, e.g. `links[3].target_url`.
    pub field: String,
    pub message: String,
    /// 0-based index of the bad link, when the error is about one link.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<usize>,
    /// 1-based line of a CSV upload, counting the header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub detail: String,
    pub error_code: ErrorCode,
    pub field: Option<String>,
    pub timestamp: DateTime<Utc>,
    pub request_id: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// `quota_exceeded` only: the limit that would be exceeded, with the numbers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quota: Option<Exceeded>,
}

#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    code: ErrorCode,
    detail: String,
    field: Option<String>,
    errors: Vec<FieldError>,
    retry_after_secs: Option<u64>,
    quota: Option<Box<Exceeded>>,
}

impl ApiError {
    fn new(status: StatusCode, code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            field: None,
            errors: Vec::new(),
            retry_after_secs: None,
            quota: None,
        }
    }

    /// The message a client sees.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn bad_request(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorCode::BadRequest, detail).with_field(field)
    }

    /// One 422 naming every bad field; `field` is the first of them.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let n = errors.len();
        let detail = match errors.first() {
            Some(first) if n == 1 => format!("{}: {}", first.field, first.message),
            Some(first) => format!(
                "{n} invalid values; first: {}: {}",
                first.field, first.message
            ),
            None => "invalid request".to_owned(),
        };
        Self {
            field: errors.first().map(|e| e.field.clone()),
            errors,
            ..Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::ValidationFailed,
                detail,
            )
        }
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized, detail)
            .with_field("Authorization")
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, ErrorCode::Forbidden, detail)
    }

    /// 429: `retry_after_secs` goes out as `Retry-After`.
    pub fn rate_limited(retry_after_secs: u64, detail: impl Into<String>) -> Self {
        Self {
            retry_after_secs: Some(retry_after_secs.max(1)),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::RateLimited,
                detail,
            )
        }
    }

    pub fn not_found(what: &str, id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            format!("no {what} with id {id}"),
        )
    }

    pub fn route_not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, "no such route")
    }

    pub fn idempotency_conflict() -> Self {
        Self::new(
            StatusCode::CONFLICT,
            ErrorCode::IdempotencyConflict,
            "this Idempotency-Key was already used with a different request",
        )
        .with_field("Idempotency-Key")
    }

    /// The resource is in a state that forbids the request; `detail` names the state.
    pub fn conflict(field: &str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, ErrorCode::Conflict, detail).with_field(field)
    }

    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::PayloadTooLarge,
            format!("the request body is larger than {limit} bytes"),
        )
        .with_field("body")
    }

    pub fn unsupported_media_type(got: &str) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::UnsupportedMediaType,
            format!("Content-Type {got:?} is not accepted; send application/json or text/csv"),
        )
        .with_field("Content-Type")
    }

    /// 402: a quota or budget would be exceeded; `field` names the metric.
    pub fn quota_exceeded(e: Exceeded) -> Self {
        Self {
            field: Some(e.metric.as_str().to_owned()),
            quota: Some(Box::new(e.clone())),
            ..Self::new(
                StatusCode::PAYMENT_REQUIRED,
                ErrorCode::QuotaExceeded,
                e.to_string(),
            )
        }
    }

    pub fn unavailable(dependency: &str) -> Self {
        Self {
            retry_after_secs: Some(5),
            ..Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::ServiceUnavailable,
                format!("{dependency} is unavailable; retry shortly"),
            )
        }
    }

    /// Logs the cause with the request's span (and so its request id) and answers 500.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
            "internal error; quote the request_id when reporting it",
        )
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.status, self.detail)
    }
}

impl From<DbErr> for ApiError {
    fn from(e: DbErr) -> Self {
        match e {
            DbErr::Conn(_) | DbErr::ConnectionAcquire(_) => {
                tracing::error!(error = %e, "Postgres unavailable");
                Self::unavailable("the database")
            }
            other => Self::internal(other),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let body = ErrorBody {
            detail: self.detail.clone(),
            error_code: self.code,
            field: self.field.clone(),
            timestamp: Utc::now(),
            request_id: request_id::current().unwrap_or_default(),
            errors: self.errors.clone(),
            quota: self.quota.as_deref().cloned(),
        };
        let mut response = HttpResponse::build(self.status);
        if let Some(secs) = self.retry_after_secs {
            response.insert_header(("Retry-After", secs.to_string()));
        }
        response.json(body)
    }
}

//! Client-facing error codes. They are part of the API contract, kept apart from internal
//! errors, whose detail is logged and never returned.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request body or a parameter is malformed (bad JSON, bad CSV header, bad id).
    BadRequest,
    /// The request parsed but some fields are invalid; `errors` names each one.
    ValidationFailed,
    Unauthorized,
    Forbidden,
    NotFound,
    /// The path exists but not with this method (405); `Allow` lists the methods it has.
    MethodNotAllowed,
    /// The same `Idempotency-Key` was used with a different request.
    IdempotencyConflict,
    Conflict,
    PayloadTooLarge,
    UnsupportedMediaType,
    RateLimited,
    /// A quota or budget of the organization would be exceeded (402); `field` names the
    /// metric and `quota` has the numbers.
    QuotaExceeded,
    /// Postgres or Redis is unreachable; retry later.
    ServiceUnavailable,
    Internal,
}

/// Job failure codes stored on a failed job (`jobs.error_code`).
pub mod job_errors {
    /// Every provider attempt failed.
    pub const PROVIDER_FAILED: &str = "provider_failed";
    /// The provider answered, but not with a usable article.
    pub const BAD_PROVIDER_OUTPUT: &str = "bad_provider_output";
    /// The job's worker died or lost its lease on every allowed attempt (the dead letter).
    pub const WORKER_LOST: &str = "worker_lost";
    /// The next provider call could have taken the organization past a budget or quota (or the
    /// job past its cost cap), so it was not made; the message has the numbers.
    pub const BUDGET_EXCEEDED: &str = "budget_exceeded";
}

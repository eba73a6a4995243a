//! The rate-limit buckets of a request: per caller and per organization on every
//! authenticated request, a stricter one for expensive operations, per IP for unauthenticated
//! ones. Organizations may have their own values (`PATCH /api/v1/org`), read through a short
//! cache so the check costs no query per request.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use actix_web::{HttpMessage, HttpRequest};
use sea_orm::{DatabaseConnection, EntityTrait};

use bacowr_shared::{config::RateLimitSettings, entities::organization, ids::OrgId};

use super::Caller;
use crate::{
    error::ApiError,
    ratelimit::{Bucket, Decision},
    state::AppState,
};

/// How long an organization's own limits are cached: a change holds within this.
const CACHE_FOR: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy)]
pub struct OrgLimits {
    pub per_caller: u32,
    pub per_org: u32,
    pub expensive: u32,
}

#[derive(Clone, Default)]
pub struct OrgLimitsCache(Arc<Mutex<HashMap<OrgId, (Instant, OrgLimits)>>>);

impl OrgLimitsCache {
    pub async fn get(
        &self,
        db: &DatabaseConnection,
        defaults: &RateLimitSettings,
        org: OrgId,
    ) -> Result<OrgLimits, ApiError> {
        if let Some((at, limits)) = self.lock().get(&org)
            && at.elapsed() < CACHE_FOR
        {
            return Ok(*limits);
        }
        let row = organization::Entity::find_by_id(org.uuid()).one(db).await?;
        let pick = |own: Option<i64>, default: u32| {
            own.and_then(|v| u32::try_from(v).ok())
                .filter(|v| *v > 0)
                .unwrap_or(default)
        };
        let limits = OrgLimits {
            per_caller: pick(
                row.as_ref().and_then(|r| r.rate_per_minute),
                defaults.per_caller_per_minute,
            ),
            per_org: pick(
                row.as_ref().and_then(|r| r.org_rate_per_minute),
                defaults.per_org_per_minute,
            ),
            expensive: pick(
                row.as_ref().and_then(|r| r.expensive_per_minute),
                defaults.expensive_per_minute,
            ),
        };
        self.lock().insert(org, (Instant::now(), limits));
        Ok(limits)
    }

    /// Forgets an organization's limits after they change (on this replica; others within
    /// [`CACHE_FOR`]).
    pub fn forget(&self, org: OrgId) {
        self.lock().remove(&org);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<OrgId, (Instant, OrgLimits)>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The client's IP: the peer address, or the proxy's forwarded one when configured to trust it.
pub fn client_ip(state: &AppState, req: &HttpRequest) -> String {
    let info = req.connection_info();
    let ip = if state.settings.http.trust_proxy_headers {
        info.realip_remote_addr().map(str::to_owned)
    } else {
        req.peer_addr().map(|a| a.ip().to_string())
    };
    ip.unwrap_or_else(|| "unknown".to_owned())
}

fn refused(decision: &Decision, what: &str) -> ApiError {
    ApiError::rate_limited(
        decision.retry_after_secs(),
        format!(
            "rate limit reached: {} {what} per minute; retry in {} s",
            decision.limit,
            decision.retry_after_secs()
        ),
    )
}

/// Checks `buckets`, leaves the decision for the response headers and the audit log.
async fn check(
    state: &AppState,
    req: &HttpRequest,
    buckets: &[Bucket],
    what: &str,
) -> Result<(), ApiError> {
    let decision = state.limiter.check(buckets).await;
    let allowed = decision.allowed;
    let error = (!allowed).then(|| refused(&decision, what));
    req.extensions_mut().insert(decision);
    error.map_or(Ok(()), Err)
}

/// Every authenticated request: the caller's and the organization's budgets together.
pub(super) async fn charge(
    state: &AppState,
    req: &HttpRequest,
    caller: &Caller,
) -> Result<(), ApiError> {
    let limits = state
        .org_limits
        .get(&state.db, &state.settings.rate_limit, caller.org_id)
        .await?;
    let buckets = [
        Bucket::per_minute(format!("caller:{}", caller.label()), limits.per_caller),
        Bucket::per_minute(format!("org:{}", caller.org_id), limits.per_org),
    ];
    check(state, req, &buckets, "requests").await
}

/// Batch and job submissions, retries and regenerations: they spend provider money.
pub async fn expensive(
    state: &AppState,
    req: &HttpRequest,
    caller: &Caller,
) -> Result<(), ApiError> {
    let limits = state
        .org_limits
        .get(&state.db, &state.settings.rate_limit, caller.org_id)
        .await?;
    let bucket = Bucket::per_minute(format!("expensive:{}", caller.label()), limits.expensive);
    check(
        state,
        req,
        &[bucket],
        "submissions, retries or regenerations",
    )
    .await
}

/// Unauthenticated requests and failed authentications, per client IP.
pub async fn unauthenticated(state: &AppState, req: &HttpRequest) -> Result<(), ApiError> {
    let ip = client_ip(state, req);
    let bucket = Bucket::per_minute(
        format!("unauth:ip:{ip}"),
        state.settings.rate_limit.unauthenticated_per_minute,
    );
    check(state, req, &[bucket], "unauthenticated requests").await
}

/// Login attempts: per client IP and per account, so neither spraying one password over many
/// accounts nor many passwords at one account from many IPs gets far.
pub async fn login(state: &AppState, req: &HttpRequest, email: &str) -> Result<(), ApiError> {
    let ip = client_ip(state, req);
    let per_minute = state.settings.rate_limit.login_per_minute;
    let account = crate::auth::credentials::hash_secret(email);
    let buckets = [
        Bucket::per_minute(format!("login:ip:{ip}"), per_minute),
        Bucket::per_minute(format!("login:account:{}", &account[..32]), per_minute),
    ];
    check(state, req, &buckets, "login attempts").await
}

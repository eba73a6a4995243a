//! Hardening headers on every response, and the caller's rate-limit state
//! (`RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset`, `RateLimit-Policy`, IETF
//! draft) when the request was charged to a bucket.

use actix_web::{
    Error, HttpMessage,
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    http::header::{self, HeaderMap, HeaderName, HeaderValue},
    middleware::Next,
    web,
};

use crate::{ratelimit::Decision, state::AppState};

fn set_default(headers: &mut HeaderMap, name: HeaderName, value: &'static str) {
    if !headers.contains_key(&name) {
        headers.insert(name, HeaderValue::from_static(value));
    }
}

fn set_number(headers: &mut HeaderMap, name: &'static str, value: impl ToString) {
    if let Ok(v) = HeaderValue::from_str(&value.to_string()) {
        headers.insert(HeaderName::from_static(name), v);
    }
}

pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let hsts = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|s| s.settings.http.hsts);
    let mut res = next.call(req).await?;
    let decision = res.request().extensions().get::<Decision>().cloned();
    let headers = res.headers_mut();
    set_default(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set_default(headers, header::X_FRAME_OPTIONS, "DENY");
    set_default(headers, header::REFERRER_POLICY, "no-referrer");
    // JSON, CSV and downloads only: nothing here should ever run script or be framed.
    set_default(
        headers,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; frame-ancestors 'none'",
    );
    set_default(headers, header::CACHE_CONTROL, "no-store");
    set_default(
        headers,
        HeaderName::from_static("cross-origin-resource-policy"),
        "same-origin",
    );
    if hsts {
        set_default(
            headers,
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        );
    }
    if let Some(d) = decision
        && d.limit != u32::MAX
    {
        set_number(headers, "ratelimit-limit", d.limit);
        set_number(headers, "ratelimit-remaining", d.remaining);
        set_number(headers, "ratelimit-reset", d.reset_secs());
        set_number(
            headers,
            "ratelimit-policy",
            format!("{};w={}", d.limit, d.period.as_secs()),
        );
    }
    Ok(res)
}

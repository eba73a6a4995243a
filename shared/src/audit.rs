//! The audit log: every mutating request and every security event, one row each, with the
//! request body's secrets redacted. Written by the API (requests, refused access, rate limits)
//! and by the worker (budget alerts).

use chrono::Utc;
use sea_orm::{ActiveValue::Set, ConnectionTrait, DbErr, EntityTrait};
use serde_json::{Map, Value};

use crate::{entities::audit_log, ids::AuditLogId};

pub const KIND_REQUEST: &str = "request";
pub const KIND_SECURITY: &str = "security";

/// Security event names.
pub mod events {
    /// A request with a missing, malformed, expired, revoked or unknown credential.
    pub const AUTH_FAILED: &str = "auth.failed";
    /// A wrong email or password.
    pub const LOGIN_FAILED: &str = "login.failed";
    /// A refresh token presented a second time: its whole session was revoked.
    pub const REFRESH_REUSED: &str = "refresh.reused";
    /// An authenticated caller without the scope or role a route needs.
    pub const ACCESS_DENIED: &str = "access.denied";
    pub const RATE_LIMITED: &str = "rate_limited";
    /// A mutating request to a path no route serves (probes, scanners); kept without its body.
    pub const UNKNOWN_ROUTE: &str = "route.unknown";
    /// Spend, tokens or jobs passed 80% of a quota or budget.
    pub const BUDGET_ALERT: &str = "budget.alert";
    /// A batch or job refused, or a job stopped, because a quota or budget is used up.
    pub const BUDGET_EXCEEDED: &str = "budget.exceeded";
}

/// The value every redacted secret is replaced with.
pub const REDACTED: &str = "[REDACTED]";

/// One audit row; unset fields stay NULL.
#[derive(Debug, Clone, Default)]
pub struct Entry {
    pub org_id: Option<uuid::Uuid>,
    pub kind: &'static str,
    pub event: String,
    pub actor_type: Option<&'static str>,
    pub actor_id: Option<uuid::Uuid>,
    pub request_id: Option<String>,
    pub method: Option<String>,
    pub route: Option<String>,
    pub path: Option<String>,
    pub resource: Option<String>,
    pub status: Option<u16>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub body: Option<Value>,
    pub detail: Option<String>,
}

impl Entry {
    /// A security event of `org_id` (if known), with no request attached.
    pub fn security(org_id: Option<uuid::Uuid>, event: &str, detail: impl Into<String>) -> Self {
        Self {
            org_id,
            kind: KIND_SECURITY,
            event: event.to_owned(),
            detail: Some(detail.into()),
            ..Self::default()
        }
    }
}

pub async fn record(db: &impl ConnectionTrait, entry: Entry) -> Result<(), DbErr> {
    // Postgres refuses U+0000 in text and JSON alike: a request that carried one (and was
    // refused for it) must still be on record, so it is replaced, never a reason to lose the row.
    let clip =
        |s: Option<String>, n: usize| s.map(|s| unnul(&s).chars().take(n).collect::<String>());
    audit_log::Entity::insert(audit_log::ActiveModel {
        id: Set(AuditLogId::new().uuid()),
        org_id: Set(entry.org_id),
        kind: Set(entry.kind.to_owned()),
        event: Set(entry.event.chars().take(64).collect()),
        actor_type: Set(entry.actor_type.map(str::to_owned)),
        actor_id: Set(entry.actor_id),
        request_id: Set(clip(entry.request_id, 64)),
        method: Set(clip(entry.method, 10)),
        route: Set(clip(entry.route, 200)),
        path: Set(clip(entry.path, 500)),
        resource: Set(clip(entry.resource, 200)),
        status: Set(entry.status.map(i32::from)),
        ip: Set(clip(entry.ip, 64)),
        user_agent: Set(clip(entry.user_agent, 300)),
        body: Set(entry.body.map(unnul_value)),
        detail: Set(clip(entry.detail, 2000)),
        created_at: Set(Utc::now()),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

fn unnul(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains('\0') {
        std::borrow::Cow::Owned(s.replace('\0', "\u{FFFD}"))
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

fn unnul_value(value: Value) -> Value {
    match value {
        Value::String(s) => Value::String(unnul(&s).into_owned()),
        Value::Array(items) => Value::Array(items.into_iter().map(unnul_value).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (unnul(&k).into_owned(), unnul_value(v)))
                .collect(),
        ),
        other => other,
    }
}

/// Field names whose values are secrets, compared without case, `-` or `_`.
const SECRET_NAMES: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "apikey",
    "key",
    "authorization",
    "auth",
    "cookie",
    "setcookie",
    "credential",
    "credentials",
    "signature",
    "privatekey",
    "clientsecret",
    "dsn",
];

/// Name fragments that make any field a secret (`refresh_token`, `webhook_secret`, ...).
const SECRET_FRAGMENTS: &[&str] = &[
    "password",
    "secret",
    "token",
    "apikey",
    "cookie",
    "credential",
    "privatekey",
];

fn is_secret_name(name: &str) -> bool {
    let norm: String = name
        .chars()
        .filter(|c| !matches!(c, '-' | '_' | ' ' | '.'))
        .flat_map(char::to_lowercase)
        .collect();
    SECRET_NAMES.contains(&norm.as_str()) || SECRET_FRAGMENTS.iter().any(|f| norm.contains(f))
}

/// Values that are secrets whatever their field is called: our own keys and secrets, bearer
/// credentials, JWTs.
fn looks_secret(value: &str) -> bool {
    let v = value.trim();
    v.starts_with("bcw_")
        || v.starts_with("bcr_")
        || v.starts_with("whsec_")
        || v.to_ascii_lowercase().starts_with("bearer ")
        || v.to_ascii_lowercase().starts_with("basic ")
        || (v.starts_with("eyJ") && v.matches('.').count() == 2)
}

/// The value with every secret replaced by [`REDACTED`], at any depth.
pub fn redact(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let v = if is_secret_name(&k) && !v.is_null() {
                        Value::String(REDACTED.to_owned())
                    } else {
                        redact(v)
                    };
                    (k, v)
                })
                .collect::<Map<String, Value>>(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(redact).collect()),
        Value::String(s) if looks_secret(&s) => Value::String(REDACTED.to_owned()),
        other => other,
    }
}

/// A request body as stored: JSON redacted, anything else described, never more than
/// `max_bytes` of it kept.
pub fn sanitize_body(content_type: &str, bytes: &[u8], max_bytes: usize) -> Option<Value> {
    if bytes.is_empty() {
        return None;
    }
    let is_json = content_type.is_empty() || content_type.contains("json");
    let parsed = is_json
        .then(|| serde_json::from_slice::<Value>(bytes).ok())
        .flatten();
    let Some(value) = parsed else {
        return Some(serde_json::json!({
            "content_type": content_type,
            "bytes": bytes.len(),
        }));
    };
    let redacted = redact(value);
    let text = redacted.to_string();
    if text.len() <= max_bytes {
        return Some(redacted);
    }
    let cut = (0..=max_bytes)
        .rev()
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(0);
    Some(serde_json::json!({
        "truncated": true,
        "bytes": bytes.len(),
        "preview": &text[..cut],
    }))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn secrets_are_redacted_at_any_depth() {
        let body = json!({
            "email": "a@b.example",
            "password": "hunter2",
            "nested": {"Refresh-Token": "abc", "list": [{"api_key": "k1"}, {"client_secret": 5}]},
            "headers": {"Authorization": "Bearer x", "Cookie": "sid=1"},
            "note": "bcw_0123456789abcdef",
            "name": "Keyword research",
            "webhook": {"url": "https://h.example", "secret": null}
        });
        let out = redact(body);
        let text = out.to_string();
        for leaked in ["hunter2", "\"abc\"", "k1", "Bearer x", "sid=1", "bcw_0123"] {
            assert!(!text.contains(leaked), "{leaked} leaked: {text}");
        }
        assert_eq!(out["email"], "a@b.example");
        assert_eq!(out["name"], "Keyword research");
        assert_eq!(out["nested"]["list"][1]["client_secret"], REDACTED);
        assert!(out["webhook"]["secret"].is_null());
    }

    #[test]
    fn large_and_non_json_bodies_are_summarised() {
        let big = json!({"links": vec!["x".repeat(100); 100], "token": "t"}).to_string();
        let out = sanitize_body("application/json", big.as_bytes(), 500).unwrap();
        assert_eq!(out["truncated"], true);
        assert!(out["preview"].as_str().unwrap().len() <= 500);
        let csv = sanitize_body("text/csv", b"publisher,target\n", 500).unwrap();
        assert_eq!(csv["bytes"], 17);
        assert!(sanitize_body("application/json", b"", 500).is_none());
    }
}

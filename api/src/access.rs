//! The authorization matrix: what every route requires, written down once. Handlers enforce it
//! through their extractor type (`Authorized<ReadBatches>`, …); the OpenAPI document's
//! per-operation `security` is generated from this table; tests check every route against it
//! with every kind of caller, and that the README shows this very table.

use bacowr_shared::domain::{Role, Scope};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No credential (health, docs, sign-up and sign-in).
    Public,
    /// Any user or API key of the organization.
    Authenticated,
    /// A user whose role grants the scope, or a key that holds it.
    Scope(Scope),
}

#[derive(Debug, Clone, Copy)]
pub struct RouteAccess {
    pub method: &'static str,
    /// As in the OpenAPI document.
    pub path: &'static str,
    pub access: Access,
}

const fn route(method: &'static str, path: &'static str, access: Access) -> RouteAccess {
    RouteAccess {
        method,
        path,
        access,
    }
}

use Access::{Authenticated, Public};
const READ: Access = Access::Scope(Scope::BatchesRead);
const WRITE: Access = Access::Scope(Scope::BatchesWrite);
const REVIEW: Access = Access::Scope(Scope::Review);
const ADMIN: Access = Access::Scope(Scope::Admin);

pub const MATRIX: &[RouteAccess] = &[
    route("GET", "/health", Public),
    route("GET", "/ready", Public),
    route("POST", "/api/v1/auth/register", Public),
    route("POST", "/api/v1/auth/login", Public),
    route("POST", "/api/v1/auth/refresh", Public),
    route("POST", "/api/v1/auth/logout", Authenticated),
    route("GET", "/api/v1/me", Authenticated),
    route("POST", "/api/v1/batches", WRITE),
    route("GET", "/api/v1/batches", READ),
    route("GET", "/api/v1/batches/{batch_id}", READ),
    route("GET", "/api/v1/batches/{batch_id}/jobs", READ),
    route("GET", "/api/v1/batches/{batch_id}/calls", READ),
    route("POST", "/api/v1/batches/{batch_id}/cancel", WRITE),
    route("POST", "/api/v1/batches/{batch_id}/retry-failed", WRITE),
    route("GET", "/api/v1/batches/{batch_id}/items", READ),
    route("GET", "/api/v1/batches/{batch_id}/items/{item_id}", READ),
    route(
        "GET",
        "/api/v1/batches/{batch_id}/items/{item_id}/versions/{version}",
        READ,
    ),
    route(
        "POST",
        "/api/v1/batches/{batch_id}/items/{item_id}/review",
        REVIEW,
    ),
    route("POST", "/api/v1/batches/{batch_id}/review", REVIEW),
    route("GET", "/api/v1/batches/{batch_id}/export", READ),
    route("GET", "/api/v1/batches/{batch_id}/export/{format}", READ),
    route("GET", "/api/v1/batches/{id}/events", READ),
    route("GET", "/api/v1/ws/batches/{id}", READ),
    route("GET", "/api/v1/ws/jobs/{id}", READ),
    route("POST", "/api/v1/jobs", WRITE),
    route("GET", "/api/v1/jobs/{job_id}", READ),
    route("POST", "/api/v1/jobs/{job_id}/retry", WRITE),
    route("GET", "/api/v1/usage", READ),
    route("GET", "/api/v1/providers", READ),
    route("GET", "/api/v1/analytics/jobs", READ),
    route("GET", "/api/v1/analytics/backlinks", READ),
    route("GET", "/api/v1/analytics/costs", READ),
    route("POST", "/api/v1/webhooks", ADMIN),
    route("GET", "/api/v1/webhooks", ADMIN),
    route("GET", "/api/v1/webhooks/{webhook_id}", ADMIN),
    route("PATCH", "/api/v1/webhooks/{webhook_id}", ADMIN),
    route("DELETE", "/api/v1/webhooks/{webhook_id}", ADMIN),
    route("POST", "/api/v1/webhooks/{webhook_id}/rotate-secret", ADMIN),
    route("GET", "/api/v1/webhooks/{webhook_id}/deliveries", ADMIN),
    route(
        "GET",
        "/api/v1/webhooks/{webhook_id}/deliveries/{msg_id}",
        ADMIN,
    ),
    route(
        "POST",
        "/api/v1/webhooks/{webhook_id}/deliveries/{msg_id}/retry",
        ADMIN,
    ),
    route("POST", "/api/v1/api-keys", ADMIN),
    route("GET", "/api/v1/api-keys", ADMIN),
    route("DELETE", "/api/v1/api-keys/{key_id}", ADMIN),
    route("POST", "/api/v1/users", ADMIN),
    route("GET", "/api/v1/users", ADMIN),
    route("GET", "/api/v1/users/{user_id}", ADMIN),
    route("PATCH", "/api/v1/users/{user_id}", ADMIN),
    route("GET", "/api/v1/org", ADMIN),
    route("PATCH", "/api/v1/org", ADMIN),
    route("GET", "/api/v1/audit/logs", ADMIN),
    route("GET", "/api/v1/audit/security-events", ADMIN),
];

/// Whether a user of `role` may call a route that needs `access`.
pub fn role_may(role: Role, access: Access) -> bool {
    match access {
        Access::Public | Access::Authenticated => true,
        Access::Scope(scope) => role.scopes().contains(scope),
    }
}

/// The matrix as the README shows it: one row per route, one column per role, plus the scope
/// an API key needs.
pub fn markdown_table() -> String {
    let mark = |ok: bool| if ok { "✓" } else { "—" };
    let mut out = String::from(
        "| method | route | owner | admin | member | API key scope |\n|---|---|---|---|---|---|\n",
    );
    for r in MATRIX {
        let key = match r.access {
            Access::Public => "public (no credential)".to_owned(),
            Access::Authenticated => "any".to_owned(),
            Access::Scope(s) => format!("`{s}`"),
        };
        let roles: Vec<&str> = Role::ALL
            .into_iter()
            .map(|role| {
                if r.access == Access::Public {
                    "public"
                } else {
                    mark(role_may(role, r.access))
                }
            })
            .collect();
        out.push_str(&format!(
            "| {} | `{}` | {} | {} | {} | {key} |\n",
            r.method, r.path, roles[0], roles[1], roles[2]
        ));
    }
    out
}

//! Accounts and abuse limits: `[auth]`, `[rate_limit]`, `[audit]` and `[http]`.

use serde::Deserialize;

use super::ConfigError;

/// The embedded development secret. A production deployment refuses to start with it.
pub const DEV_JWT_SECRET: &str = "bacowr-development-secret-do-not-use-in-production";

fn invalid(field: &'static str, message: &str) -> Result<(), ConfigError> {
    Err(ConfigError::Invalid {
        field,
        message: message.to_owned(),
    })
}

#[derive(Clone, Deserialize)]
pub struct AuthSettings {
    /// HS256 key for access tokens; at least 32 bytes.
    pub jwt_secret: String,
    pub jwt_issuer: String,
    pub access_ttl_secs: u64,
    pub refresh_ttl_secs: u64,
    pub registration_enabled: bool,
    pub min_password_len: usize,
}

impl std::fmt::Debug for AuthSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthSettings")
            .field("jwt_secret", &"[REDACTED]")
            .field("jwt_issuer", &self.jwt_issuer)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Debug, Deserialize)]
pub struct RateLimitSettings {
    /// `redis` (shared by every API replica) or `memory` (this process only).
    pub store: String,
    pub per_caller_per_minute: u32,
    pub per_org_per_minute: u32,
    pub expensive_per_minute: u32,
    pub login_per_minute: u32,
    pub unauthenticated_per_minute: u32,
}

#[derive(Clone, Debug, Deserialize)]
pub struct AuditSettings {
    pub retention_days: u32,
    pub body_max_bytes: usize,
}

#[derive(Clone, Debug, Deserialize)]
pub struct HttpSettings {
    pub cors_allowed_origins: Vec<String>,
    pub trust_proxy_headers: bool,
    pub hsts: bool,
}

impl AuthSettings {
    /// `production`: the deployment's environment name (`telemetry.environment`).
    pub(super) fn validate(&self, production: bool) -> Result<(), ConfigError> {
        if self.jwt_secret.len() < 32 {
            return invalid("auth.jwt_secret", "must be at least 32 bytes");
        }
        if production && self.jwt_secret == DEV_JWT_SECRET {
            return invalid(
                "auth.jwt_secret",
                "is the embedded development secret; set BACOWR_AUTH__JWT_SECRET to a random \
                 value of at least 32 bytes (e.g. `openssl rand -hex 32`) in production",
            );
        }
        if !(60..=3600).contains(&self.access_ttl_secs) {
            return invalid("auth.access_ttl_secs", "must be between 60 and 3600");
        }
        if self.refresh_ttl_secs < self.access_ttl_secs {
            return invalid(
                "auth.refresh_ttl_secs",
                "must be at least auth.access_ttl_secs",
            );
        }
        if !(8..=128).contains(&self.min_password_len) {
            return invalid("auth.min_password_len", "must be between 8 and 128");
        }
        Ok(())
    }
}

impl RateLimitSettings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if !matches!(self.store.as_str(), "redis" | "memory") {
            return invalid("rate_limit.store", "must be \"redis\" or \"memory\"");
        }
        for (field, v) in [
            (
                "rate_limit.per_caller_per_minute",
                self.per_caller_per_minute,
            ),
            ("rate_limit.per_org_per_minute", self.per_org_per_minute),
            ("rate_limit.expensive_per_minute", self.expensive_per_minute),
            ("rate_limit.login_per_minute", self.login_per_minute),
            (
                "rate_limit.unauthenticated_per_minute",
                self.unauthenticated_per_minute,
            ),
        ] {
            if v == 0 {
                return invalid(field, "must be at least 1");
            }
        }
        Ok(())
    }
}

impl AuditSettings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.retention_days == 0 {
            return invalid("audit.retention_days", "must be at least 1");
        }
        if !(256..=1_048_576).contains(&self.body_max_bytes) {
            return invalid("audit.body_max_bytes", "must be between 256 and 1048576");
        }
        Ok(())
    }
}

impl HttpSettings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        for origin in &self.cors_allowed_origins {
            let ok = url::Url::parse(origin).is_ok_and(|u| {
                matches!(u.scheme(), "http" | "https") && u.path() == "/" && !origin.ends_with('/')
            });
            if !ok {
                return Err(ConfigError::Invalid {
                    field: "http.cors_allowed_origins",
                    message: format!("{origin:?} is not an origin such as https://app.example.com"),
                });
            }
        }
        Ok(())
    }
}

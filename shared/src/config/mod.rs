//! Configuration in one place: embedded commented defaults (`config/default.toml`), then the
//! file named by `BACOWR_CONFIG`, then `BACOWR_*` environment variables (`__` separates the
//! section from the key). Validated once at start.

use std::{collections::BTreeMap, net::SocketAddr, path::PathBuf, time::Duration};

use figment::{
    Figment,
    providers::{Env, Format, Toml},
};
use serde::Deserialize;

mod delivery;
mod deployments;
mod security;

pub use delivery::{EventsSettings, WebhookSettings};
pub use deployments::{DeploymentSettings, ProviderKind, RouterSettings};
pub use security::{AuditSettings, AuthSettings, DEV_JWT_SECRET, HttpSettings, RateLimitSettings};

pub const DEFAULTS: &str = include_str!("../../config/default.toml");

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Load(#[from] Box<figment::Error>),
    #[error("configuration: {field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
}

#[derive(Clone, Deserialize)]
pub struct Settings {
    pub database: DatabaseSettings,
    pub redis: RedisSettings,
    pub api: ApiSettings,
    pub worker: WorkerSettings,
    pub dispatch: DispatchSettings,
    pub provider: ProviderSettings,
    pub router: RouterSettings,
    #[serde(default)]
    pub deployments: BTreeMap<String, DeploymentSettings>,
    pub context: ContextSettings,
    pub telemetry: TelemetrySettings,
    pub events: EventsSettings,
    pub webhooks: WebhookSettings,
    pub auth: AuthSettings,
    pub rate_limit: RateLimitSettings,
    pub audit: AuditSettings,
    pub http: HttpSettings,
}

#[derive(Clone, Deserialize)]
pub struct DatabaseSettings {
    pub url: String,
    pub max_connections: u32,
    pub auto_migrate: bool,
}

#[derive(Clone, Deserialize)]
pub struct RedisSettings {
    pub url: String,
    pub namespace: String,
    pub response_timeout_ms: u64,
    pub connection_timeout_ms: u64,
}

#[derive(Clone, Deserialize)]
pub struct ApiSettings {
    pub listen: SocketAddr,
    pub max_links_per_batch: usize,
    pub max_body_bytes: usize,
    pub idempotency_ttl_hours: u32,
    /// Where clients reach the API, for absolute links in exports; empty: relative paths.
    pub public_url: String,
}

impl ApiSettings {
    /// `public_url` without a trailing slash (empty when unset), to prefix API paths with.
    pub fn public_base(&self) -> &str {
        self.public_url.trim_end_matches('/')
    }
}

#[derive(Clone, Deserialize)]
pub struct WorkerSettings {
    pub concurrency: usize,
    pub lease_secs: u64,
    pub heartbeat_secs: u64,
    pub missed_heartbeats: usize,
    pub poll_interval_ms: u64,
    pub shutdown_grace_secs: u64,
    pub http_listen: String,
}

#[derive(Clone, Deserialize)]
pub struct DispatchSettings {
    pub enabled: bool,
    pub tick_ms: u64,
    pub window: usize,
    pub org_max_running: usize,
    pub redispatch_after_secs: u64,
    pub max_attempts: u32,
    pub trim_per_tick: usize,
}

/// apalis-redis 1.0 crashes every worker past ~8,000 due tasks (measured).
pub const MAX_DISPATCH_WINDOW: usize = 2000;

#[derive(Clone, Deserialize)]
pub struct ProviderSettings {
    pub name: String,
    pub base_url: String,
    pub api_key: String,
    pub model: String,
    pub structured_output: String,
    pub max_output_tokens: u32,
    pub temperature: f32,
    pub timeout_secs: u64,
    pub max_attempts: usize,
    pub backoff_initial_ms: u64,
    pub backoff_max_ms: u64,
    pub price_table: String,
    /// The legacy deployment's own prices, where the price table has none.
    #[serde(default)]
    pub price_input_per_mtok: Option<f64>,
    #[serde(default)]
    pub price_output_per_mtok: Option<f64>,
}

#[derive(Clone, Deserialize)]
pub struct ContextSettings {
    pub enabled: bool,
    pub connect_timeout_ms: u64,
    pub read_timeout_ms: u64,
    pub total_timeout_ms: u64,
    pub max_body_bytes: usize,
    pub max_redirects: usize,
    pub cache_ttl_secs: u64,
    pub failure_cache_ttl_secs: u64,
    pub allow_hosts: Vec<String>,
    pub trust_link_avoid: Vec<String>,
    pub user_agent: String,
    /// A stand-in web (llm-sim's fixture site): every page fetch goes there instead of the
    /// internet, so a simulated run of any sheet behaves like a real one. Empty: the web.
    pub simulate_web: String,
}

#[derive(Clone, Deserialize)]
pub struct TelemetrySettings {
    pub log_format: String,
    pub log_level: String,
    pub otlp_endpoint: String,
    pub service_name: String,
    pub sample_ratio: f64,
    pub sentry_dsn: String,
    pub environment: String,
    pub metrics_token: String,
}

impl Settings {
    /// Defaults, then `BACOWR_CONFIG`'s file, then `BACOWR_*` env.
    pub fn load() -> Result<Self, ConfigError> {
        let file = std::env::var_os("BACOWR_CONFIG").map(PathBuf::from);
        Self::from_figment(Self::figment(file))
    }

    pub fn figment(file: Option<PathBuf>) -> Figment {
        let mut figment = Figment::from(Toml::string(DEFAULTS));
        if let Some(path) = file {
            figment = figment.merge(Toml::file_exact(path));
        }
        figment.merge(
            Env::prefixed("BACOWR_")
                .ignore(&["CONFIG"])
                .split("__")
                .lowercase(true),
        )
    }

    pub fn from_figment(figment: Figment) -> Result<Self, ConfigError> {
        let settings: Settings = figment.extract().map_err(Box::new)?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |field, message: &str| {
            Err(ConfigError::Invalid {
                field,
                message: message.to_owned(),
            })
        };
        if self.api.max_links_per_batch == 0 {
            return invalid("api.max_links_per_batch", "must be at least 1");
        }
        if self.api.max_body_bytes < 1024 {
            return invalid("api.max_body_bytes", "must be at least 1024");
        }
        if !(0.0..=1.0).contains(&self.telemetry.sample_ratio) {
            return invalid("telemetry.sample_ratio", "must be between 0.0 and 1.0");
        }
        if !self.api.public_url.is_empty() {
            match url::Url::parse(&self.api.public_url) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.query().is_none() => {}
                _ => {
                    return invalid(
                        "api.public_url",
                        "must be empty or an http(s) URL such as https://bacowr.example.com",
                    );
                }
            }
        }
        if self.worker.concurrency == 0 {
            return invalid("worker.concurrency", "must be at least 1");
        }
        if self.worker.heartbeat_secs == 0 || self.worker.missed_heartbeats == 0 {
            return invalid("worker.heartbeat_secs", "heartbeats must be positive");
        }
        if self.dispatch.window == 0 || self.dispatch.window > MAX_DISPATCH_WINDOW {
            return invalid("dispatch.window", "must be between 1 and 2000");
        }
        if self.dispatch.org_max_running == 0 {
            return invalid("dispatch.org_max_running", "must be at least 1");
        }
        if self.dispatch.max_attempts == 0 {
            return invalid("dispatch.max_attempts", "must be at least 1");
        }
        if self.dispatch.tick_ms == 0 {
            return invalid("dispatch.tick_ms", "must be at least 1");
        }
        if self.worker.lease_secs < 3 {
            return invalid("worker.lease_secs", "must be at least 3");
        }
        if !self.worker.http_listen.is_empty()
            && self.worker.http_listen.parse::<SocketAddr>().is_err()
        {
            return invalid(
                "worker.http_listen",
                "must be empty or an address like 0.0.0.0:9090",
            );
        }
        if self.provider.max_attempts == 0 {
            return invalid("provider.max_attempts", "must be at least 1");
        }
        if !self
            .redis
            .namespace
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_:.".contains(c))
            || self.redis.namespace.is_empty()
        {
            return invalid(
                "redis.namespace",
                "must be non-empty: letters, digits, '-', '_', ':' or '.'",
            );
        }
        if !matches!(
            self.provider.structured_output.as_str(),
            "json_schema" | "json_object" | "none"
        ) {
            return invalid(
                "provider.structured_output",
                "must be \"json_schema\", \"json_object\" or \"none\"",
            );
        }
        for name in &self.router.chain {
            if !self.deployments.contains_key(name) {
                return Err(ConfigError::Invalid {
                    field: "router.chain",
                    message: format!(
                        "names deployment {name:?}, which [deployments] does not define"
                    ),
                });
            }
        }
        for d in self.deployments.values() {
            if d.price_input_per_mtok.is_some() != d.price_output_per_mtok.is_some() {
                return invalid(
                    "deployments.*.price_input_per_mtok",
                    "set price_input_per_mtok and price_output_per_mtok together",
                );
            }
        }
        if !(0.0..=1.0).contains(&self.router.breaker_failure_rate) {
            return invalid("router.breaker_failure_rate", "must be between 0 and 1");
        }
        if self.is_production() && !self.context.simulate_web.is_empty() {
            return invalid(
                "context.simulate_web",
                "a simulated web is for development; production fetches the real pages",
            );
        }
        if self.context.max_redirects > 10 {
            return invalid("context.max_redirects", "must be at most 10");
        }
        self.events.validate()?;
        self.webhooks.validate()?;
        self.auth.validate(self.is_production())?;
        self.rate_limit.validate()?;
        self.audit.validate()?;
        self.http.validate()?;
        if !matches!(self.telemetry.log_format.as_str(), "json" | "pretty") {
            return invalid("telemetry.log_format", "must be \"json\" or \"pretty\"");
        }
        Ok(())
    }
}

impl Settings {
    /// Production mode (`telemetry.environment = "production"`): nothing insecure or
    /// degraded is accepted.
    pub fn is_production(&self) -> bool {
        self.telemetry
            .environment
            .eq_ignore_ascii_case("production")
    }

    /// The deployments of the router's chain, in order; the `[provider]` section alone when
    /// no chain is configured.
    pub fn chain(&self) -> Vec<(String, DeploymentSettings)> {
        if self.router.chain.is_empty() {
            let p = &self.provider;
            return vec![(
                p.name.clone(),
                DeploymentSettings {
                    kind: ProviderKind::OpenAi,
                    model: p.model.clone(),
                    base_url: p.base_url.clone(),
                    api_key: p.api_key.clone(),
                    api_key_env: String::new(),
                    timeout_secs: p.timeout_secs,
                    rpm: 0,
                    tpm: 0,
                    price_provider: p.name.clone(),
                    structured_output: p.structured_output.clone(),
                    max_output_tokens: None,
                    reasoning_effort: None,
                    thinking_budget: None,
                    temperature: None,
                    price_input_per_mtok: p.price_input_per_mtok,
                    price_cached_input_per_mtok: None,
                    price_output_per_mtok: p.price_output_per_mtok,
                    free: false,
                },
            )];
        }
        self.router
            .chain
            .iter()
            .filter_map(|name| Some((name.clone(), self.deployments.get(name)?.clone())))
            .collect()
    }
}

impl WorkerSettings {
    pub fn lease(&self) -> Duration {
        Duration::from_secs(self.lease_secs)
    }
}

impl Settings {
    /// Every deployment of the chain priced on `date`, or one message naming each deployment
    /// that has no price: such a deployment is refused at start, never charged a guess.
    pub fn check_prices(
        &self,
        table: &crate::pricing::PriceTable,
        date: chrono::NaiveDate,
    ) -> Result<(), String> {
        let missing: Vec<String> = self
            .chain()
            .iter()
            .filter_map(|(name, d)| d.price(name, table, date).err())
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(missing.join("\n"))
        }
    }
}

/// Secrets stay out of logs even when a whole settings value is printed.
impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("api.listen", &self.api.listen)
            .field("redis.namespace", &self.redis.namespace)
            .field("provider.base_url", &self.provider.base_url)
            .field("provider.model", &self.provider.model)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;

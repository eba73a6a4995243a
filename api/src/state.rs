use bacowr_shared::config::Settings;
use sea_orm::DatabaseConnection;

/// Everything a request handler needs; cheap to clone (connection pools and handles).
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    /// Redis for a fleet; this process in the embedded build.
    pub backplane: bacowr_shared::backplane::Backplane,
    pub settings: Settings,
    /// Dated provider prices, for estimates.
    pub prices: std::sync::Arc<bacowr_shared::pricing::PriceTable>,
    /// Live events, published after commit (best effort).
    pub events: bacowr_shared::events::Publisher,
    /// This process's one Redis pub/sub subscription, shared by its SSE and WebSocket clients.
    pub live: crate::live::hub::Hub,
    /// Signs and checks access tokens.
    pub jwt: crate::auth::jwt::JwtKeys,
    pub limiter: crate::ratelimit::Limiter,
    pub org_limits: crate::auth::OrgLimitsCache,
    /// This process's request counters and timings, for `/metrics`.
    pub metrics: std::sync::Arc<crate::metrics::ApiMetrics>,
}

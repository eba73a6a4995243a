use bacowr_shared::config::Settings;
use redis::aio::ConnectionManager;
use sea_orm::DatabaseConnection;

/// Everything a request handler needs; cheap to clone (connection pools and handles).
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub redis: ConnectionManager,
    pub settings: Settings,
    /// Dated provider prices, for estimates.
    pub prices: std::sync::Arc<bacowr_shared::pricing::PriceTable>,
}

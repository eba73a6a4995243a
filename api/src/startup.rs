//! Building the HTTP server from settings: connections, schema check, middleware, routes.

use std::net::TcpListener;

use actix_web::{App, HttpServer, dev::Server, middleware::from_fn, web};

use bacowr_shared::{
    config::Settings,
    db::{connect_database, connect_redis},
    events::Publisher,
    pricing::PriceTable,
};

use crate::{
    error::ApiError, live::hub::Hub, request_id, routes, services::idempotency, state::AppState,
};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("Postgres: {0}")]
    Database(#[from] sea_orm::DbErr),
    #[error("{0}")]
    Schema(#[from] bacowr_migrations::SchemaError),
    #[error("Redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("cannot listen: {0}")]
    Listen(#[from] std::io::Error),
    #[error("{0}")]
    Prices(#[from] bacowr_shared::pricing::PriceTableError),
}

pub struct Application {
    port: u16,
    server: Server,
}

impl Application {
    /// Binds `settings.api.listen` (port 0 picks a free port, as tests do).
    pub async fn build(settings: Settings) -> Result<Self, StartError> {
        let listener = TcpListener::bind(settings.api.listen)?;
        let db = connect_database(&settings.database).await?;
        bacowr_migrations::ensure_migrated(&db, settings.database.auto_migrate).await?;
        let redis = connect_redis(&settings.redis).await?;
        let prices = PriceTable::load(&settings.provider.price_table)?;
        let live = Hub::start(
            redis::Client::open(settings.redis.url.as_str())?,
            &settings.redis.namespace,
            settings.events.subscriber_buffer,
        );
        let state = AppState {
            events: Publisher::new(redis.clone(), &settings),
            live,
            prices: std::sync::Arc::new(prices),
            db,
            redis,
            settings,
        };
        spawn_housekeeping(state.clone());
        let port = listener.local_addr()?.port();
        let server = server(listener, state)?;
        Ok(Self { port, server })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

fn server(listener: TcpListener, state: AppState) -> std::io::Result<Server> {
    let limit = state.settings.api.max_body_bytes;
    let data = web::Data::new(state);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(
                web::JsonConfig::default()
                    .limit(limit)
                    .error_handler(routes::body::json_error),
            )
            .app_data(web::QueryConfig::default().error_handler(routes::body::query_error))
            .app_data(web::PathConfig::default().error_handler(routes::body::path_error))
            .configure(routes::configure)
            .default_service(web::to(|| async {
                Err::<&str, _>(ApiError::route_not_found())
            }))
            .wrap(from_fn(request_id::middleware))
    })
    .listen(listener)?
    .run();
    Ok(server)
}

/// Drops expired idempotency answers hourly; any replica may do it, the delete is idempotent.
fn spawn_housekeeping(state: AppState) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            tick.tick().await;
            match idempotency::sweep(&state.db, state.settings.api.idempotency_ttl_hours).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(swept = n, "expired idempotency keys removed"),
                Err(e) => tracing::warn!(error = %e, "idempotency sweep failed"),
            }
        }
    });
}

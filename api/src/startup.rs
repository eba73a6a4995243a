//! Building the HTTP server from settings: connections, schema check, middleware, routes.

use std::net::TcpListener;

use actix_web::{
    App, HttpServer,
    dev::{Server, ServerHandle},
    middleware::from_fn,
    web,
};

use bacowr_shared::{
    backplane::Backplane,
    config::Settings,
    events::Publisher,
    infra::{Infra, InfraError},
    pricing::PriceTable,
};

use crate::{
    auth::{OrgLimitsCache, jwt::JwtKeys},
    live::hub::Hub,
    middleware::{audit, headers, metrics},
    ratelimit::Limiter,
    request_id, routes,
    services::{accounts, idempotency},
    state::AppState,
};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    Infra(#[from] InfraError),
    #[error("{0}")]
    Schema(#[from] bacowr_migrations::SchemaError),
    #[error("Redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("cannot listen: {0}")]
    Listen(#[from] std::io::Error),
    #[error("{0}")]
    Prices(#[from] bacowr_shared::pricing::PriceTableError),
    #[error("auth.jwt_secret: {0}")]
    Jwt(#[from] jsonwebtoken::errors::Error),
}

pub struct Application {
    port: u16,
    server: Server,
}

impl Application {
    /// Binds `settings.api.listen` (port 0 picks a free port, as tests do), on Postgres and
    /// Redis: a fleet's API process.
    pub async fn build(settings: Settings) -> Result<Self, StartError> {
        let infra = Infra::connect(&settings).await?;
        bacowr_migrations::ensure_migrated(&infra.db, settings.database.auto_migrate).await?;
        Self::build_with(settings, infra).await
    }

    /// The same server on connections made elsewhere (the embedded build shares its with the
    /// workers of the process). The schema must be current.
    pub async fn build_with(settings: Settings, infra: Infra) -> Result<Self, StartError> {
        let listener = TcpListener::bind(settings.api.listen)?;
        let Infra { db, backplane, .. } = infra;
        let prices = PriceTable::load(&settings.provider.price_table)?;
        let buffer = settings.events.subscriber_buffer;
        let live = match &backplane {
            Backplane::Redis(_) => Hub::start(
                redis::Client::open(settings.redis.url.as_str())?,
                &settings.redis.namespace,
                buffer,
            ),
            Backplane::Local(local) => Hub::start_local(local, &settings.redis.namespace, buffer),
        };
        let limiter = Limiter::new(match &backplane {
            Backplane::Redis(conn) if settings.rate_limit.store == "redis" => {
                Some((conn.clone(), settings.redis.namespace.clone()))
            }
            _ => None,
        });
        let state = AppState {
            jwt: JwtKeys::new(&settings.auth)?,
            limiter,
            org_limits: OrgLimitsCache::default(),
            metrics: std::sync::Arc::default(),
            events: Publisher::new(backplane.clone(), &settings),
            live,
            prices: std::sync::Arc::new(prices),
            db,
            backplane,
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

    /// Stops the server from elsewhere (the `bacowr` command runs it beside its workers).
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

fn server(listener: TcpListener, state: AppState) -> std::io::Result<Server> {
    let limit = state.settings.api.max_body_bytes;
    let origins = state.settings.http.cors_allowed_origins.clone();
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
            .default_service(web::to(crate::method_not_allowed::fallback))
            .wrap(cors(&origins))
            .wrap(from_fn(audit::middleware))
            .wrap(from_fn(headers::middleware))
            .wrap(from_fn(metrics::middleware))
            .wrap(from_fn(request_id::middleware))
            // Outermost: a Sentry hub per request, and 5xx answers reported (scrubbed of
            // credentials and bodies by the telemetry setup).
            .wrap(sentry_actix::Sentry::new())
    })
    .listen(listener)?
    .run();
    Ok(server)
}

/// Browsers may call the API only from the configured origins; none by default.
fn cors(origins: &[String]) -> actix_cors::Cors {
    let mut cors = actix_cors::Cors::default()
        .allowed_methods(["GET", "POST", "PUT", "PATCH", "DELETE"])
        .allowed_headers([
            actix_web::http::header::AUTHORIZATION,
            actix_web::http::header::CONTENT_TYPE,
            actix_web::http::header::HeaderName::from_static("idempotency-key"),
            actix_web::http::header::HeaderName::from_static("last-event-id"),
        ])
        .expose_headers([
            "x-request-id",
            "retry-after",
            "ratelimit-limit",
            "ratelimit-remaining",
            "ratelimit-reset",
            "ratelimit-policy",
        ])
        .max_age(600);
    for origin in origins {
        cors = cors.allowed_origin(origin);
    }
    cors
}

/// Hourly: drops expired idempotency answers, audit entries past their retention and spent
/// refresh tokens. Any replica may do it; the deletes are idempotent.
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
            match accounts::sweep(&state.db, state.settings.audit.retention_days).await {
                Ok(n) if n > 0 => {
                    tracing::info!(swept = n, "expired audit entries and tokens removed")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "audit and token sweep failed"),
            }
        }
    });
}

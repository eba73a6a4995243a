//! The one telemetry setup: JSON (or pretty) logs through `tracing`, OpenTelemetry OTLP export
//! when an endpoint is configured, Sentry when a DSN is configured. Span fields (such as the
//! request id) are flattened into every log line written inside the span.

use std::collections::HashMap;

use opentelemetry::{
    global,
    propagation::{Extractor, Injector},
    trace::TracerProvider as _,
};
use opentelemetry_sdk::{propagation::TraceContextPropagator, trace::SdkTracerProvider};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::{EnvFilter, Layer, layer::SubscriberExt, util::SubscriberInitExt};

use crate::config::TelemetrySettings;

/// Keeps exporters alive; flushes them when dropped at shutdown.
pub struct TelemetryGuard {
    tracer_provider: Option<SdkTracerProvider>,
    _sentry: Option<sentry::ClientInitGuard>,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.tracer_provider.take() {
            let _ = provider.shutdown();
        }
    }
}

/// Installs the global subscriber. Call once per process, first thing in `main`.
pub fn init(service: &'static str, settings: &TelemetrySettings) -> TelemetryGuard {
    global::set_text_map_propagator(TraceContextPropagator::new());
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(settings.log_level.as_str()));

    let fmt_layer = if settings.log_format == "pretty" {
        tracing_subscriber::fmt::layer().with_target(true).boxed()
    } else {
        tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .boxed()
    };

    let tracer_provider = (!settings.otlp_endpoint.is_empty())
        .then(|| build_tracer_provider(service, &settings.otlp_endpoint))
        .and_then(|r| r.map_err(|e| eprintln!("OTLP export disabled: {e}")).ok());
    let otel_layer = tracer_provider.as_ref().map(|p| {
        tracing_opentelemetry::layer()
            .with_tracer(p.tracer(service))
            .boxed()
    });

    let sentry_guard = (!settings.sentry_dsn.is_empty()).then(|| {
        sentry::init((
            settings.sentry_dsn.as_str(),
            sentry::ClientOptions::new()
                .release(sentry::release_name!().unwrap_or_default())
                .environment(settings.environment.clone()),
        ))
    });
    let sentry_layer = sentry_guard.as_ref().map(|_| {
        use sentry::integrations::tracing::{BreadcrumbLayer, ErrorLayer};
        // Errors become Sentry events; warnings and info become their breadcrumbs.
        ErrorLayer::new()
            .with_filter(tracing_subscriber::filter::LevelFilter::ERROR)
            .and_then(
                BreadcrumbLayer::new().with_filter(tracing_subscriber::filter::LevelFilter::INFO),
            )
            .boxed()
    });

    // A second init (tests start many apps in one process) keeps the first subscriber.
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(fmt_layer)
        .with(otel_layer)
        .with(sentry_layer)
        .try_init();

    TelemetryGuard {
        tracer_provider,
        _sentry: sentry_guard,
    }
}

fn build_tracer_provider(
    service: &'static str,
    endpoint: &str,
) -> Result<SdkTracerProvider, opentelemetry_otlp::ExporterBuildError> {
    use opentelemetry_otlp::{WithExportConfig, WithHttpConfig as _};
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(format!("{}/v1/traces", endpoint.trim_end_matches('/')))
        .with_headers(HashMap::new())
        .build()?;
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name(service)
        .build();
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build();
    global::set_tracer_provider(provider.clone());
    Ok(provider)
}

struct MapCarrier<'a>(&'a mut HashMap<String, String>);

impl Injector for MapCarrier<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key.to_owned(), value);
    }
}

impl Extractor for MapCarrier<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(String::as_str).collect()
    }
}

/// The W3C `traceparent` of the current span, to carry trace context through the queue.
pub fn current_traceparent() -> Option<String> {
    let mut map = HashMap::new();
    let context = tracing::Span::current().context();
    global::get_text_map_propagator(|p| p.inject_context(&context, &mut MapCarrier(&mut map)));
    map.remove("traceparent")
}

/// Makes `span` a child of the trace that `traceparent` names (from a queued task).
pub fn set_parent(span: &tracing::Span, traceparent: Option<&str>) {
    let Some(traceparent) = traceparent else {
        return;
    };
    let mut map = HashMap::from([("traceparent".to_owned(), traceparent.to_owned())]);
    let context = global::get_text_map_propagator(|p| p.extract(&MapCarrier(&mut map)));
    let _ = span.set_parent(context);
}

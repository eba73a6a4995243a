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
    init_with(service, settings, None)
}

/// Libraries that put response bodies in their own log lines, kept out of every layer (logs,
/// traces and Sentry alike): async-openai logs an answer it cannot deserialize whole, at
/// ERROR, and that answer is an article. Their errors still reach us as values.
const SILENCED_TARGETS: &[&str] = &["async_openai"];

pub fn silenced(target: &str) -> bool {
    SILENCED_TARGETS
        .iter()
        .any(|t| target == *t || target.strip_prefix(t).is_some_and(|r| r.starts_with("::")))
}

/// [`init`], exporting traces through `tracer_provider` instead of OTLP (tests pass an
/// in-memory exporter). The log filter governs log lines only: spans reach the trace
/// exporter at info whatever the log level, so turning logs down never breaks a trace.
pub fn init_with(
    service: &'static str,
    settings: &TelemetrySettings,
    tracer_provider: Option<SdkTracerProvider>,
) -> TelemetryGuard {
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
    }
    .with_filter(filter);

    let service_name = if settings.service_name.is_empty() {
        service.to_owned()
    } else {
        settings.service_name.clone()
    };
    let endpoint = Some(settings.otlp_endpoint.clone())
        .filter(|e| !e.is_empty())
        .or_else(|| std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT").ok())
        .filter(|e| !e.is_empty());
    let tracer_provider = tracer_provider.or_else(|| {
        let endpoint = endpoint?;
        build_tracer_provider(&service_name, settings, &endpoint)
            .map_err(|e| eprintln!("OTLP export disabled: {e}"))
            .ok()
    });
    if let Some(provider) = &tracer_provider {
        global::set_tracer_provider(provider.clone());
    }
    let otel_layer = tracer_provider.as_ref().map(|p| {
        tracing_opentelemetry::layer()
            .with_tracer(p.tracer(service_name.clone()))
            .with_filter(tracing_subscriber::filter::LevelFilter::INFO)
            .boxed()
    });

    let dsn = Some(settings.sentry_dsn.clone())
        .filter(|d| !d.is_empty())
        .or_else(|| std::env::var("SENTRY_DSN").ok())
        .filter(|d| !d.is_empty());
    let sentry_guard = dsn.map(|dsn| sentry::init((dsn, sentry_options(settings))));
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
        .with(tracing_subscriber::filter::filter_fn(|m| {
            !silenced(m.target())
        }))
        .with(fmt_layer)
        .with(otel_layer)
        .with(sentry_layer)
        .try_init();

    TelemetryGuard {
        tracer_provider,
        _sentry: sentry_guard,
    }
}

/// Sentry sees errors and who they happened to (the organization), never secrets or content:
/// no default PII, and request data cut to method, URL and harmless headers before sending.
fn sentry_options(settings: &TelemetrySettings) -> sentry::ClientOptions {
    let mut options = sentry::ClientOptions::new()
        .release(sentry::release_name!().unwrap_or_default())
        .environment(settings.environment.clone());
    options.send_default_pii = false;
    // sentry-actix would otherwise buffer request bodies to attach them: article briefs
    // and credentials must not leave.
    options.max_request_body_size = sentry::MaxRequestBodySize::None;
    options.before_send = Some(std::sync::Arc::new(|event| Some(scrub(event))));
    options
}

/// Request headers Sentry may keep: nothing that authenticates or identifies a person.
const SAFE_HEADERS: &[&str] = &[
    "content-type",
    "content-length",
    "user-agent",
    "x-request-id",
];

/// Strips request bodies, cookies, query strings and every header not known to be harmless
/// (API keys, tokens and article text must never leave for a third party).
pub fn scrub(mut event: sentry::protocol::Event<'static>) -> sentry::protocol::Event<'static> {
    if let Some(request) = event.request.as_mut() {
        request.data = None;
        request.cookies = None;
        request.query_string = None;
        request.env.clear();
        request
            .headers
            .retain(|name, _| SAFE_HEADERS.contains(&name.to_ascii_lowercase().as_str()));
    }
    event
}

fn build_tracer_provider(
    service_name: &str,
    settings: &TelemetrySettings,
    endpoint: &str,
) -> Result<SdkTracerProvider, opentelemetry_otlp::ExporterBuildError> {
    use opentelemetry_otlp::{WithExportConfig, WithHttpConfig as _};
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(format!("{}/v1/traces", endpoint.trim_end_matches('/')))
        .with_headers(HashMap::new())
        .build()?;
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource(service_name, settings))
        .with_sampler(sampler(settings.sample_ratio))
        .build())
}

/// Service name, version and environment on every exported span.
pub fn resource(service_name: &str, settings: &TelemetrySettings) -> opentelemetry_sdk::Resource {
    opentelemetry_sdk::Resource::builder()
        .with_service_name(service_name.to_owned())
        .with_attributes([
            opentelemetry::KeyValue::new("service.version", env!("CARGO_PKG_VERSION")),
            opentelemetry::KeyValue::new(
                "deployment.environment.name",
                settings.environment.clone(),
            ),
        ])
        .build()
}

/// New traces are sampled at `ratio`; a trace started upstream keeps its caller's decision,
/// so one request's spans are all kept or all dropped across the API, queue and workers.
pub fn sampler(ratio: f64) -> opentelemetry_sdk::trace::Sampler {
    use opentelemetry_sdk::trace::Sampler;
    Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(ratio)))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentry_events_lose_credentials_bodies_and_query_strings() {
        let request = sentry::protocol::Request {
            method: Some("POST".into()),
            data: Some(r#"{"links":[{"anchor_text":"secret brief"}]}"#.into()),
            query_string: Some("token=abc".into()),
            cookies: Some("session=xyz".into()),
            headers: [
                ("Authorization", "Bearer bcw_live_secret"),
                ("Cookie", "session=xyz"),
                ("X-Api-Key", "bcw_other"),
                ("User-Agent", "agency-client/1.0"),
                ("x-request-id", "req_1"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
            ..Default::default()
        };
        let event = sentry::protocol::Event {
            request: Some(request),
            ..Default::default()
        };
        let scrubbed = scrub(event).request.unwrap();
        assert_eq!(scrubbed.method.as_deref(), Some("POST"));
        assert!(scrubbed.data.is_none());
        assert!(scrubbed.query_string.is_none());
        assert!(scrubbed.cookies.is_none());
        let mut kept: Vec<&str> = scrubbed.headers.keys().map(String::as_str).collect();
        kept.sort_unstable();
        assert_eq!(kept, ["User-Agent", "x-request-id"]);
    }
}

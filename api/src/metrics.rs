//! The API process's figures, served on `/metrics` in the Prometheus (OpenMetrics) text
//! format. Requests are labelled by route template (`/api/v1/batches/{batch_id}`), never the
//! raw path, so the label set stays bounded whatever clients send.

use std::{sync::atomic::AtomicU64, time::Duration};

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{Histogram, exponential_buckets},
    },
    registry::Registry,
};
use sea_orm::{DatabaseConnection, DbErr, FromQueryResult, Statement};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BatchLabel {
    batch_id: String,
}

fn duration_buckets() -> Histogram {
    // 1 ms to ~24 s.
    Histogram::new(exponential_buckets(0.001, 2.5, 12))
}

/// Batches reported in `batch_review_progress_percent`: the ones with work awaiting a
/// reviewer, and those finished within the last hour (so the series reaches 100 before it
/// goes), newest first. Bounded: it is a gauge per batch.
const REVIEW_BATCHES: u64 = 100;

pub struct ApiMetrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: Family<RequestLabels, Histogram, fn() -> Histogram>,
    review_progress: Family<BatchLabel, Gauge<f64, AtomicU64>>,
}

impl Default for ApiMetrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "api_requests",
            "HTTP requests answered, by route template, method and status",
            requests.clone(),
        );
        let durations = Family::<RequestLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            duration_buckets,
        );
        registry.register(
            "api_request_duration_seconds",
            "Time to answer HTTP requests, by route template, method and status",
            durations.clone(),
        );
        let review_progress = Family::<BatchLabel, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "batch_review_progress_percent",
            "Share of a batch's articles with a final review decision (approved or rejected)",
            review_progress.clone(),
        );
        Self {
            registry,
            requests,
            durations,
            review_progress,
        }
    }
}

impl ApiMetrics {
    /// `route` is the matched template, or `unmatched` for paths no route serves.
    pub fn observe(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        let labels = RequestLabels {
            route: route.to_owned(),
            method: method.to_owned(),
            status,
        };
        self.requests.get_or_create(&labels).inc();
        self.durations
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
    }

    /// The exposition, with the review gauges read from the database now. A failed read
    /// leaves them out (and is logged) rather than failing the scrape of everything else.
    pub async fn render(&self, db: &DatabaseConnection) -> String {
        self.review_progress.clear();
        match review_progress(db).await {
            Ok(rows) => {
                for row in rows {
                    self.review_progress
                        .get_or_create(&BatchLabel {
                            batch_id: bacowr_shared::ids::BatchId::from_uuid(row.batch_id)
                                .to_string(),
                        })
                        .set(row.percent);
                }
            }
            Err(e) => tracing::warn!(error = %e, "review progress for /metrics failed"),
        }
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

#[derive(FromQueryResult)]
struct Progress {
    batch_id: uuid::Uuid,
    percent: f64,
}

/// From the batches' own review counters (kept in step with their items in the same
/// transactions), so a scrape reads one row per batch, never the items.
async fn review_progress(db: &DatabaseConnection) -> Result<Vec<Progress>, DbErr> {
    let sql = format!(
        "SELECT id AS batch_id, \
           CAST(100.0 * (approved_items + rejected_items) \
             / (pending_items + regenerating_items + approved_items + rejected_items) \
             AS DOUBLE PRECISION) AS percent \
         FROM batches \
         WHERE pending_items + regenerating_items + approved_items + rejected_items > 0 \
           AND (pending_items + regenerating_items > 0 OR completed_at > $1) \
         ORDER BY created_at DESC \
         LIMIT {REVIEW_BATCHES}"
    );
    let since = chrono::Utc::now() - chrono::Duration::hours(1);
    Progress::find_by_statement(Statement::from_sql_and_values(
        db.get_database_backend(),
        sql,
        [since.into()],
    ))
    .all(db)
    .await
}

/// The OpenMetrics content type the exposition is written in.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

//! The parts of the API's schemas the CLI reads and writes. Each model names the OpenAPI schema
//! it mirrors; a test checks every field against `openapi/openapi.json`, so the CLI breaks in
//! CI, not at an agency, when the API changes shape.

use serde::{Deserialize, Serialize};

/// A model mirroring one schema of `openapi/openapi.json`.
pub trait Model {
    const SCHEMA: &'static str;
    /// Wire name and Rust type of each field; a field not typed `Option<…>` must be one the
    /// schema requires.
    const FIELDS: &'static [(&'static str, &'static str)];
}

/// Defines a struct and its [`Model`] impl.
macro_rules! model {
    ($schema:literal $(#[$meta:meta])* pub struct $name:ident {
        $( $(#[$fmeta:meta])* $field:ident : $ty:ty ),* $(,)?
    }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Serialize, Deserialize)]
        pub struct $name { $( $(#[$fmeta])* pub $field: $ty ),* }

        impl Model for $name {
            const SCHEMA: &'static str = $schema;
            const FIELDS: &'static [(&'static str, &'static str)] =
                &[$((stringify!($field), stringify!($ty))),*];
        }
    };
}

model! { "ErrorBody"
    /// The API's error format.
    pub struct ErrorBody {
        detail: String,
        error_code: String,
        #[serde(default)]
        field: Option<String>,
        #[serde(default)]
        errors: Option<Vec<FieldError>>,
        request_id: String,
        timestamp: String,
    }
}

model! { "FieldError"
    pub struct FieldError {
        field: String,
        message: String,
        #[serde(default)]
        line: Option<u64>,
        #[serde(default)]
        row: Option<u64>,
    }
}

model! { "JobCounts"
    pub struct JobCounts {
        queued: i64,
        running: i64,
        succeeded: i64,
        needs_review: i64,
        failed: i64,
        cancelled: i64,
    }
}

model! { "ReviewCounts"
    pub struct ReviewCounts {
        pending: i64,
        approved: i64,
        rejected: i64,
        regenerating: i64,
    }
}

model! { "QcSummary"
    pub struct QcSummary {
        profile: String,
        passed: i64,
        needs_review: i64,
        failed: i64,
        first_try_passed: i64,
        first_try_pass_rate: f64,
    }
}

model! { "BatchView"
    pub struct BatchView {
        id: String,
        #[serde(default)]
        name: Option<String>,
        status: String,
        total_jobs: i64,
        counts: JobCounts,
        progress: f64,
        tokens_in: i64,
        tokens_out: i64,
        cost_usd: f64,
        qc: QcSummary,
        review: ReviewCounts,
        created_at: String,
        #[serde(default)]
        finished_at: Option<String>,
        #[serde(default)]
        providers: Option<Vec<String>>,
        #[serde(default)]
        duplicates: Option<Vec<Vec<usize>>>,
    }
}

model! { "JobError"
    pub struct JobError {
        code: String,
        message: String,
    }
}

model! { "JobView"
    pub struct JobView {
        id: String,
        row_index: i64,
        publisher_domain: String,
        target_url: String,
        anchor_text: String,
        status: String,
        attempts: i64,
        tokens_in: i64,
        tokens_out: i64,
        cost_usd: f64,
        created_at: String,
        #[serde(default)]
        started_at: Option<String>,
        #[serde(default)]
        finished_at: Option<String>,
        #[serde(default)]
        error: Option<JobError>,
    }
}

model! { "JobPage"
    pub struct JobPage {
        items: Vec<JobView>,
        #[serde(default)]
        next_cursor: Option<String>,
    }
}

model! { "ItemQc"
    pub struct ItemQc {
        passed: bool,
        failed_checks: i64,
    }
}

model! { "ReviewItemView"
    pub struct ReviewItemView {
        id: String,
        job_id: String,
        row_index: i64,
        publisher_domain: String,
        target_url: String,
        anchor_text: String,
        status: String,
        article_version: i64,
        title: String,
        word_count: i64,
        qc: ItemQc,
        regenerations: i64,
    }
}

model! { "ReviewItemPage"
    pub struct ReviewItemPage {
        items: Vec<ReviewItemView>,
        #[serde(default)]
        next_cursor: Option<String>,
    }
}

model! { "BulkReviewBody"
    pub struct BulkReviewBody {
        decision: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        item_ids: Option<Vec<String>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        all_passing_qc: Option<bool>,
        #[serde(skip_serializing_if = "Option::is_none")]
        notes: Option<String>,
    }
}

model! { "RefusedItem"
    pub struct RefusedItem {
        item_id: String,
        status: String,
        detail: String,
    }
}

model! { "BulkReviewResult"
    pub struct BulkReviewResult {
        decision: String,
        applied: Vec<ReviewItemView>,
        refused: Vec<RefusedItem>,
        batch: BatchView,
    }
}

model! { "BreakerCounts"
    pub struct BreakerCounts {
        closed: i64,
        open: i64,
        half_open: i64,
    }
}

model! { "DeploymentView"
    pub struct DeploymentView {
        name: String,
        kind: String,
        model: String,
        breakers: BreakerCounts,
        recent_calls: i64,
        #[serde(default)]
        recent_success_rate: Option<f64>,
    }
}

model! { "ProvidersView"
    pub struct ProvidersView {
        deployments: Vec<DeploymentView>,
    }
}

/// Every model, for the check against the OpenAPI document.
pub type Fields = &'static [(&'static str, &'static str)];

pub fn all() -> Vec<(&'static str, Fields)> {
    fn entry<M: Model>() -> (&'static str, Fields) {
        (M::SCHEMA, M::FIELDS)
    }
    vec![
        entry::<ErrorBody>(),
        entry::<FieldError>(),
        entry::<JobCounts>(),
        entry::<ReviewCounts>(),
        entry::<QcSummary>(),
        entry::<BatchView>(),
        entry::<JobError>(),
        entry::<JobView>(),
        entry::<JobPage>(),
        entry::<ItemQc>(),
        entry::<ReviewItemView>(),
        entry::<ReviewItemPage>(),
        entry::<BulkReviewBody>(),
        entry::<RefusedItem>(),
        entry::<BulkReviewResult>(),
        entry::<BreakerCounts>(),
        entry::<DeploymentView>(),
        entry::<ProvidersView>(),
    ]
}

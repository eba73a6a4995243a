//! Examples of the main bodies, shared by every operation that takes or answers them, so that
//! Swagger UI's "Try it out" starts from a request the server accepts. `tools/openapi-check.sh`
//! validates each against its schema.

use serde_json::{Value, json};

const BATCH_ID: &str = "batch_0192f0c4e5a27b6c8d9e0f1a2b3c4d5e";
const JOB_ID: &str = "job_0192f0c4e5a27b6c8d9e0f1a2b3c4d60";

/// `POST /api/v1/batches` as JSON.
pub fn submit_batch() -> Value {
    json!({
        "name": "Acme: November links",
        "links": [
            {
                "publisher_domain": "bloggen.se",
                "target_url": "https://client.se/cyklar",
                "anchor_text": "bästa cyklarna",
                "language": "sv"
            },
            {
                "publisher_domain": "techblog.example.com",
                "target_url": "https://client.example.com/e-bikes",
                "anchor_text": "electric bikes for commuting"
            }
        ],
        "qc": {"profile": "standard", "overrides": {"max_words": 950}},
        "default_language": "en"
    })
}

/// `POST /api/v1/jobs`.
pub fn submit_job() -> Value {
    json!({
        "publisher_domain": "bloggen.se",
        "target_url": "https://client.se/cyklar",
        "anchor_text": "bästa cyklarna",
        "language": "sv"
    })
}

/// A batch just accepted: two jobs queued.
pub fn batch() -> Value {
    json!({
        "id": BATCH_ID,
        "name": "Acme: November links",
        "status": "queued",
        "total_jobs": 2,
        "counts": {
            "queued": 2, "running": 0, "succeeded": 0,
            "needs_review": 0, "failed": 0, "cancelled": 0
        },
        "progress": 0.0,
        "tokens_in": 0,
        "tokens_out": 0,
        "cost_usd": 0.0,
        "qc": {
            "profile": "standard",
            "passed": 0,
            "needs_review": 0,
            "failed": 0,
            "first_try_passed": 0,
            "first_try_pass_rate": 0.0,
            "thresholds": {
                "min_words": 750, "max_words": 950, "anchor_max_count": 1,
                "anchor_min_start_word": 250, "anchor_max_start_word": 550,
                "anchor_outside_first_last_paragraph": true,
                "min_trust_links": 1, "max_trust_links": 2,
                "trust_links_before_anchor": true, "max_headings": 1,
                "require_h1": false, "min_h2": 0, "allow_lists": false,
                "min_paragraphs": 4, "check_banned_phrases": true,
                "check_language": true, "max_regenerations": 2
            }
        },
        "review": {"pending": 0, "approved": 0, "rejected": 0, "regenerating": 0},
        "default_language": "en",
        "providers": null,
        "created_at": "2026-11-02T09:30:00Z",
        "updated_at": "2026-11-02T09:30:00Z",
        "finished_at": null,
        "cancelled_at": null,
        "completed_at": null
    })
}

/// A job that finished: succeeded on its first draft.
pub fn job() -> Value {
    json!({
        "id": JOB_ID,
        "batch_id": BATCH_ID,
        "row_index": 0,
        "publisher_domain": "bloggen.se",
        "target_url": "https://client.se/cyklar",
        "anchor_text": "bästa cyklarna",
        "language": "sv",
        "status": "succeeded",
        "attempts": 1,
        "total_attempts": 1,
        "error": null,
        "tokens_in": 1912,
        "tokens_out": 1385,
        "cost_usd": 0.001118,
        "created_at": "2026-11-02T09:30:00Z",
        "started_at": "2026-11-02T09:30:02Z",
        "finished_at": "2026-11-02T09:30:41Z",
        "versions": [{
            "id": "art_0192f0c4e5a27b6c8d9e0f1a2b3c4d61",
            "version": 1,
            "regenerations": 0,
            "deployment": "openai",
            "provider": "openai",
            "model": "gpt-4o-mini",
            "qc_passed": true,
            "word_count": 812,
            "created_at": "2026-11-02T09:30:40Z"
        }]
    })
}

/// A single job just accepted.
pub fn queued_job() -> Value {
    json!({
        "id": JOB_ID,
        "batch_id": null,
        "row_index": 0,
        "publisher_domain": "bloggen.se",
        "target_url": "https://client.se/cyklar",
        "anchor_text": "bästa cyklarna",
        "language": "sv",
        "status": "queued",
        "attempts": 0,
        "total_attempts": 0,
        "error": null,
        "tokens_in": 0,
        "tokens_out": 0,
        "cost_usd": 0.0,
        "created_at": "2026-11-02T09:30:00Z",
        "started_at": null,
        "finished_at": null
    })
}

/// `dry_run=true`: the estimate for the two links of [`submit_batch`].
pub fn estimate() -> Value {
    json!({
        "links": 2,
        "provider": "openai",
        "model": "gpt-4o-mini",
        "qc_profile": "standard",
        "expected": {
            "calls": 2, "tokens_in": 3800, "tokens_out": 2720,
            "cost_usd": 0.002202, "cost_micros": 2202
        },
        "maximum": {
            "calls": 6, "tokens_in": 11400, "tokens_out": 8160,
            "cost_usd": 0.006606, "cost_micros": 6606
        },
        "assumptions": "1900 prompt tokens per call, 1.6 completion tokens per article word, 850 words per article; prices of openai (gpt-4o-mini) today",
        "quota": {
            "within_limits": true,
            "limits": [{
                "metric": "spend_per_month",
                "unit": "micro_usd",
                "limit": 250000000,
                "used": 1200000,
                "requested": 2202,
                "remaining": 248800000,
                "period": "2026-11",
                "exceeded": false
            }]
        }
    })
}

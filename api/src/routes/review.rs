//! Review decisions: `POST /batches/{id}/items/{item_id}/review` for one item, and
//! `POST /batches/{id}/review` for many (listed ids, or every pending item that passed QC).

use actix_web::{HttpRequest, post, web};
use serde::Deserialize;

use bacowr_shared::{
    domain::{ReviewDecision, ReviewStatus},
    ids::{BatchId, ReviewItemId},
};

use super::{
    items::{full_item, parse_item_path, with_jobs_and_articles},
    params,
    review_views::{BulkReviewResult, RefusedItem, ReviewItemView},
};
use crate::{
    auth::{self, Authorized, Review},
    error::{ApiError, ErrorBody},
    services::review::{self, Request, Selection, status_name},
    state::AppState,
};

const MAX_NOTES_CHARS: usize = 4000;
const MAX_BULK_ITEMS: usize = 1000;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"decision": "needs_regeneration", "notes": "Name the 2026 models and keep it under 850 words."}))]
pub struct ReviewBody {
    /// `approve` or `reject` (a pending item), or `needs_regeneration` (a pending or rejected
    /// item: a new version is written with `notes` as feedback).
    #[schema(value_type = ReviewDecision)]
    pub decision: Option<String>,
    /// The reviewer's notes, at most 4,000 characters; for `needs_regeneration`, what the new
    /// version should change.
    #[schema(max_length = 4000)]
    pub notes: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"decision": "approve", "all_passing_qc": true}))]
pub struct BulkReviewBody {
    #[schema(value_type = ReviewDecision)]
    pub decision: Option<String>,
    /// At most 4,000 characters.
    #[schema(max_length = 4000)]
    pub notes: Option<String>,
    /// The items to decide (1 to 1,000); or instead `all_passing_qc`.
    #[schema(value_type = Option<Vec<ReviewItemId>>, min_items = 1, max_items = 1000)]
    pub item_ids: Option<Vec<String>>,
    /// Decide every pending item whose current version passed QC.
    pub all_passing_qc: Option<bool>,
}

fn parse_decision(raw: Option<&str>) -> Result<ReviewDecision, ApiError> {
    let raw = raw.ok_or_else(|| ApiError::bad_request("decision", "is required"))?;
    serde_json::from_value(serde_json::Value::String(raw.to_owned())).map_err(|_| {
        ApiError::bad_request(
            "decision",
            "must be one of approve, reject, needs_regeneration",
        )
    })
}

fn parse_notes(raw: Option<&str>) -> Result<Option<&str>, ApiError> {
    let notes = raw.map(str::trim).filter(|n| !n.is_empty());
    if notes.is_some_and(|n| n.chars().count() > MAX_NOTES_CHARS) {
        return Err(ApiError::bad_request(
            "notes",
            format!("must be at most {MAX_NOTES_CHARS} characters"),
        ));
    }
    Ok(notes)
}

/// Decide one review item. Illegal transitions answer 409 naming the item's current state.
#[utoipa::path(
    post,
    path = "/api/v1/batches/{batch_id}/items/{item_id}/review",
    operation_id = "review_item",
    tag = "review",
    params(
        ("batch_id" = BatchId, Path, description = "The batch's id (`batch_…`)"),
        ("item_id" = ReviewItemId, Path, description = "The review item's id (`item_…`)"),
    ),
    request_body = ReviewBody,
    responses(
        (status = 200, description = "decided; the item as it is now", body = ReviewItemView),
        (status = 400, description = "malformed body, bad id, decision or notes", body = ErrorBody),
        (status = 404, description = "no such batch or item in this organization", body = ErrorBody),
        (status = 409, description = "the decision can't be taken from the item's current state (named in `detail`), or a regeneration is asked while the batch is still generating", body = ErrorBody),
        (status = 429, description = "a rate limit is reached: requests per minute, or for `needs_regeneration` the stricter budget for submissions, retries and regenerations; retry after `Retry-After` seconds", body = ErrorBody),
    )
)]
#[post("/batches/{batch_id}/items/{item_id}/review")]
pub async fn review_item(
    tenant: Authorized<Review>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: crate::intake::strict::StrictJson<ReviewBody>,
    state: web::Data<AppState>,
) -> Result<web::Json<ReviewItemView>, ApiError> {
    let (batch_id, item_id) = parse_item_path(&path)?;
    let decision = parse_decision(body.decision.as_deref())?;
    if decision == ReviewDecision::NeedsRegeneration {
        auth::expensive(&state, &req, &tenant).await?;
    }
    let notes = parse_notes(body.notes.as_deref())?;
    let decided = review::decide(
        &state,
        &tenant,
        Request {
            batch_id,
            selection: Selection::Items(vec![item_id]),
            decision,
            notes,
        },
    )
    .await?;
    if let Some((_, current)) = decided.refused.first() {
        return Err(refusal(decision, *current));
    }
    let item = decided
        .applied
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::internal("a decided item vanished"))?;
    Ok(web::Json(full_item(&state, item).await?))
}

fn refusal(decision: ReviewDecision, current: ReviewStatus) -> ApiError {
    let allowed: Vec<_> = decision
        .allowed_from()
        .iter()
        .map(|s| status_name(*s))
        .collect();
    ApiError::conflict(
        "status",
        format!(
            "the item is {}; `{}` applies only to {} items",
            status_name(current),
            decision.as_str(),
            allowed.join(" or ")
        ),
    )
}

/// Decide many items at once: the listed `item_ids`, or `all_passing_qc`. Items in a state
/// the decision doesn't apply to are listed in `refused`; the rest are decided in one
/// transaction.
#[utoipa::path(
    post,
    path = "/api/v1/batches/{batch_id}/review",
    operation_id = "bulk_review_items",
    tag = "review",
    params(("batch_id" = BatchId, Path, description = "The batch's id (`batch_…`)")),
    request_body = BulkReviewBody,
    responses(
        (status = 200, description = "the items decided, those refused with their state, and the batch", body = BulkReviewResult),
        (status = 400, description = "malformed body, bad id, decision, notes, item_ids or all_passing_qc", body = ErrorBody),
        (status = 404, description = "no such batch, or an item id not in it", body = ErrorBody),
        (status = 409, description = "regeneration asked while the batch is still generating, or one of the items' jobs is still running", body = ErrorBody),
        (status = 429, description = "a rate limit is reached: requests per minute, or for `needs_regeneration` the stricter budget for submissions, retries and regenerations; retry after `Retry-After` seconds", body = ErrorBody),
    )
)]
#[post("/batches/{batch_id}/review")]
pub async fn review_bulk(
    tenant: Authorized<Review>,
    req: HttpRequest,
    path: web::Path<String>,
    body: crate::intake::strict::StrictJson<BulkReviewBody>,
    state: web::Data<AppState>,
) -> Result<web::Json<BulkReviewResult>, ApiError> {
    let batch_id = params::parse_id(&path, "batch_id", BatchId::parse)?;
    let decision = parse_decision(body.decision.as_deref())?;
    if decision == ReviewDecision::NeedsRegeneration {
        auth::expensive(&state, &req, &tenant).await?;
    }
    let notes = parse_notes(body.notes.as_deref())?;
    let selection = match (&body.item_ids, body.all_passing_qc) {
        (Some(_), Some(true)) => {
            return Err(ApiError::bad_request(
                "item_ids",
                "send either item_ids or all_passing_qc, not both",
            ));
        }
        (None, Some(true)) => Selection::AllPassingQc,
        (None, _) => {
            return Err(ApiError::bad_request(
                "item_ids",
                "is required unless all_passing_qc is true",
            ));
        }
        (Some(raw), _) => {
            if raw.is_empty() || raw.len() > MAX_BULK_ITEMS {
                return Err(ApiError::bad_request(
                    "item_ids",
                    format!("must list 1 to {MAX_BULK_ITEMS} items"),
                ));
            }
            let mut ids = Vec::with_capacity(raw.len());
            for (n, s) in raw.iter().enumerate() {
                let id = ReviewItemId::parse(s)
                    .map_err(|e| ApiError::bad_request(format!("item_ids[{n}]"), e.to_string()))?;
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
            Selection::Items(ids)
        }
    };
    let decided = review::decide(
        &state,
        &tenant,
        Request {
            batch_id,
            selection,
            decision,
            notes,
        },
    )
    .await?;
    let refused = decided
        .refused
        .iter()
        .map(|(id, current)| RefusedItem {
            item_id: *id,
            status: *current,
            detail: refusal(decision, *current).detail().to_owned(),
        })
        .collect();
    Ok(web::Json(BulkReviewResult {
        decision: decided.decision,
        applied: with_jobs_and_articles(&state, decided.applied).await?,
        refused,
        batch: decided.batch.into(),
    }))
}

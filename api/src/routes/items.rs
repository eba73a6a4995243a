//! Reading review items: `GET /batches/{id}/items` (filtered by review status and QC
//! result, worst QC first), `GET /batches/{id}/items/{item_id}` (with the article, every
//! version and the decision history) and `GET .../items/{item_id}/versions/{version}`.

use std::collections::HashMap;

use actix_web::{get, web};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Deserialize;
use utoipa::IntoParams;

use bacowr_shared::{
    domain::ReviewStatus,
    entities::{article, job, review_decision, review_item},
    ids::{BatchId, ReviewItemId},
};

use super::{
    batches::find_batch,
    params,
    review_views::{DecisionView, ReviewItemPage, ReviewItemView},
    views::{ArticleVersionView, ArticleView},
};
use crate::{
    auth::{Authorized, Caller, ReadBatches},
    error::{ApiError, ErrorBody},
    state::AppState,
};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ItemListParams {
    /// Items per page, 1-200 (default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200, default = 50)]
    pub limit: Option<String>,
    /// `next_cursor` from the previous page (of the same `sort`).
    #[param(pattern = "^(qc_[0-9]+_[0-9]+|row_[0-9]+)$")]
    pub cursor: Option<String>,
    /// Only items in this review status.
    #[param(value_type = Option<ReviewStatus>)]
    pub status: Option<String>,
    /// Only items whose current version `passed` or `failed` QC.
    #[param(schema_with = crate::openapi::schemas::qc_filter)]
    pub qc: Option<String>,
    /// `qc` (default): most failed QC checks first, then sheet order; `row`: sheet order.
    #[param(schema_with = crate::openapi::schemas::item_sort)]
    pub sort: Option<String>,
}

#[derive(Clone, Copy, PartialEq)]
enum Sort {
    Qc,
    Row,
}

/// A batch's review items.
#[utoipa::path(
    get,
    path = "/api/v1/batches/{batch_id}/items",
    operation_id = "list_review_items",
    tag = "review",
    params(("batch_id" = BatchId, Path, description = "The batch's id (`batch_…`)"), ItemListParams),
    responses(
        (status = 200, description = "a page of the batch's review items", body = ReviewItemPage),
        (status = 400, description = "bad id, status, qc, sort, limit or cursor", body = ErrorBody),
        (status = 404, description = "no such batch in this organization", body = ErrorBody),
    )
)]
#[get("/batches/{batch_id}/items")]
pub async fn list_items(
    tenant: Authorized<ReadBatches>,
    path: web::Path<String>,
    query: web::Query<ItemListParams>,
    state: web::Data<AppState>,
) -> Result<web::Json<ReviewItemPage>, ApiError> {
    let id = params::parse_id(&path, "batch_id", BatchId::parse)?;
    let limit = params::limit(query.limit.as_deref())?;
    let status = query
        .status
        .as_deref()
        .map(|s| {
            ReviewStatus::parse(s).ok_or_else(|| {
                ApiError::bad_request(
                    "status",
                    "must be one of pending, approved, rejected, regenerating",
                )
            })
        })
        .transpose()?;
    let qc = match query.qc.as_deref() {
        None => None,
        Some("passed") => Some(true),
        Some("failed") => Some(false),
        Some(_) => return Err(ApiError::bad_request("qc", "must be `passed` or `failed`")),
    };
    let sort = match query.sort.as_deref() {
        None | Some("qc") => Sort::Qc,
        Some("row") => Sort::Row,
        Some(_) => return Err(ApiError::bad_request("sort", "must be `qc` or `row`")),
    };
    let after = query
        .cursor
        .as_deref()
        .map(|c| parse_cursor(c, sort))
        .transpose()?;
    find_batch(&state, &tenant, id).await?;

    let mut select = review_item::Entity::find()
        .filter(review_item::Column::BatchId.eq(id.uuid()))
        .filter(review_item::Column::OrgId.eq(tenant.org_id.uuid()))
        .limit(limit + 1);
    if let Some(status) = status {
        select = select.filter(review_item::Column::Status.eq(status));
    }
    if let Some(passed) = qc {
        select = select.filter(review_item::Column::QcPassed.eq(passed));
    }
    if sort == Sort::Qc {
        select = select.order_by_desc(review_item::Column::QcFailedChecks);
    }
    select = select.order_by_asc(review_item::Column::RowIndex);
    if let Some((failed, row)) = after {
        select = select.filter(match sort {
            Sort::Row => Condition::all().add(review_item::Column::RowIndex.gt(row)),
            Sort::Qc => Condition::any()
                .add(review_item::Column::QcFailedChecks.lt(failed))
                .add(
                    Condition::all()
                        .add(review_item::Column::QcFailedChecks.eq(failed))
                        .add(review_item::Column::RowIndex.gt(row)),
                ),
        });
    }
    let mut rows = select.all(&state.db).await?;
    let next_cursor = (rows.len() as u64 > limit)
        .then(|| {
            rows.truncate(limit as usize);
            rows.last().map(|i| match sort {
                Sort::Qc => format!("qc_{}_{}", i.qc_failed_checks, i.row_index),
                Sort::Row => format!("row_{}", i.row_index),
            })
        })
        .flatten();
    Ok(web::Json(ReviewItemPage {
        items: with_jobs_and_articles(&state, rows).await?,
        next_cursor,
    }))
}

fn parse_cursor(c: &str, sort: Sort) -> Result<(i32, i32), ApiError> {
    let bad = || ApiError::bad_request("cursor", "not a cursor this list returned");
    match sort {
        Sort::Row => c
            .strip_prefix("row_")
            .and_then(|n| n.parse().ok())
            .map(|row| (0, row))
            .ok_or_else(bad),
        Sort::Qc => {
            let rest = c.strip_prefix("qc_").ok_or_else(bad)?;
            let (f, r) = rest.split_once('_').ok_or_else(bad)?;
            Ok((f.parse().map_err(|_| bad())?, r.parse().map_err(|_| bad())?))
        }
    }
}

/// Items with their jobs and current articles, in two queries whatever the page size.
pub async fn with_jobs_and_articles(
    state: &AppState,
    items: Vec<review_item::Model>,
) -> Result<Vec<ReviewItemView>, ApiError> {
    let job_ids: Vec<_> = items.iter().map(|i| i.job_id).collect();
    let article_ids: Vec<_> = items.iter().map(|i| i.article_id).collect();
    let jobs: HashMap<_, _> = job::Entity::find()
        .filter(job::Column::Id.is_in(job_ids))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|j| (j.id, j))
        .collect();
    let articles: HashMap<_, _> = article::Entity::find()
        .filter(article::Column::Id.is_in(article_ids))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    items
        .into_iter()
        .map(|i| {
            let j = jobs
                .get(&i.job_id)
                .ok_or_else(|| ApiError::internal("review item without its job"))?;
            let a = articles.get(&i.article_id);
            Ok(ReviewItemView::summary(i, j, a))
        })
        .collect()
}

/// One review item with the article under review, every version and the decisions.
#[utoipa::path(
    get,
    path = "/api/v1/batches/{batch_id}/items/{item_id}",
    operation_id = "get_review_item",
    tag = "review",
    params(
        ("batch_id" = BatchId, Path, description = "The batch's id (`batch_…`)"),
        ("item_id" = ReviewItemId, Path, description = "The review item's id (`item_…`)"),
    ),
    responses(
        (status = 200, description = "the item with its article, versions and decisions", body = ReviewItemView),
        (status = 400, description = "malformed id", body = ErrorBody),
        (status = 404, description = "no such batch or item in this organization", body = ErrorBody),
    )
)]
#[get("/batches/{batch_id}/items/{item_id}")]
pub async fn get_item(
    tenant: Authorized<ReadBatches>,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<web::Json<ReviewItemView>, ApiError> {
    let (batch_id, item_id) = parse_item_path(&path)?;
    let item = find_item(&state, &tenant, batch_id, item_id).await?;
    Ok(web::Json(full_item(&state, item).await?))
}

/// An item with its article, versions and history.
pub async fn full_item(
    state: &AppState,
    item: review_item::Model,
) -> Result<ReviewItemView, ApiError> {
    let articles = article::Entity::find()
        .filter(article::Column::JobId.eq(item.job_id))
        .order_by_asc(article::Column::Version)
        .all(&state.db)
        .await?;
    let history = review_decision::Entity::find()
        .filter(review_decision::Column::ItemId.eq(item.id))
        .order_by_asc(review_decision::Column::CreatedAt)
        .order_by_asc(review_decision::Column::Id)
        .all(&state.db)
        .await?;
    let item_id = item.id;
    let current = item.article_id;
    let mut view = with_jobs_and_articles(state, vec![item])
        .await?
        .pop()
        .ok_or_else(|| ApiError::internal(format!("review item {item_id} vanished")))?;
    view.versions = Some(articles.iter().map(ArticleVersionView::from).collect());
    view.article = articles
        .into_iter()
        .find(|a| a.id == current)
        .map(ArticleView::from);
    view.history = Some(history.into_iter().map(DecisionView::from).collect());
    Ok(view)
}

/// One stored version of an item's article (older versions stay readable).
#[utoipa::path(
    get,
    path = "/api/v1/batches/{batch_id}/items/{item_id}/versions/{version}",
    tag = "review",
    operation_id = "get_article_version",
    params(
        ("batch_id" = BatchId, Path, description = "The batch's id (`batch_…`)"),
        ("item_id" = ReviewItemId, Path, description = "The review item's id (`item_…`)"),
        ("version" = i32, Path, description = "1 for the first article", minimum = 1),
    ),
    responses(
        (status = 200, description = "the article version", body = ArticleView),
        (status = 400, description = "malformed id or version", body = ErrorBody),
        (status = 404, description = "no such batch, item or version", body = ErrorBody),
    )
)]
#[get("/batches/{batch_id}/items/{item_id}/versions/{version}")]
pub async fn get_version(
    tenant: Authorized<ReadBatches>,
    path: web::Path<(String, String, String)>,
    state: web::Data<AppState>,
) -> Result<web::Json<ArticleView>, ApiError> {
    let (b, i, v) = path.into_inner();
    let (batch_id, item_id) = parse_item_path(&(b, i))?;
    let version: i32 = v
        .parse()
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| ApiError::bad_request("version", "must be a positive integer"))?;
    let item = find_item(&state, &tenant, batch_id, item_id).await?;
    let found = article::Entity::find()
        .filter(article::Column::JobId.eq(item.job_id))
        .filter(article::Column::Version.eq(version))
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::not_found("article version", &v))?;
    Ok(web::Json(found.into()))
}

pub fn parse_item_path(path: &(String, String)) -> Result<(BatchId, ReviewItemId), ApiError> {
    Ok((
        params::parse_id(&path.0, "batch_id", BatchId::parse)?,
        params::parse_id(&path.1, "item_id", ReviewItemId::parse)?,
    ))
}

async fn find_item(
    state: &AppState,
    tenant: &Caller,
    batch_id: BatchId,
    item_id: ReviewItemId,
) -> Result<review_item::Model, ApiError> {
    find_batch(state, tenant, batch_id).await?;
    review_item::Entity::find_by_id(item_id.uuid())
        .filter(review_item::Column::BatchId.eq(batch_id.uuid()))
        .filter(review_item::Column::OrgId.eq(tenant.org_id.uuid()))
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::not_found("review item", &item_id.to_string()))
}

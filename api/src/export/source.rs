//! Reading a batch's approved items for export: keyset pages in sheet order, each item with
//! its job (the link assignment and its cost) and its current article, three queries a page.

use std::collections::HashMap;

use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

use bacowr_shared::{
    domain::ReviewStatus,
    entities::{article, job, review_item},
};

/// Items read per round trip: enough to keep the database busy, small enough that a
/// 1,000-article export never holds more than this many articles in memory.
pub const PAGE_SIZE: u64 = 50;

/// One approved item, ready to render.
#[derive(Debug, Clone)]
pub struct ExportRow {
    pub item: review_item::Model,
    pub job: job::Model,
    pub article: article::Model,
}

impl ExportRow {
    /// The row in the submitted sheet, 1-based, as file names and the CSV show it.
    pub fn number(&self) -> i32 {
        self.item.row_index + 1
    }
}

/// The approved items of a batch, page by page.
pub struct ApprovedItems {
    org_id: Uuid,
    batch_id: Uuid,
    after: Option<i32>,
    done: bool,
}

impl ApprovedItems {
    pub fn new(org_id: Uuid, batch_id: Uuid) -> Self {
        Self {
            org_id,
            batch_id,
            after: None,
            done: false,
        }
    }

    /// The next page (empty when there is no more). Keyed on `row_index`, which is unique
    /// within a batch; an approval is final, so items never leave the set while we read.
    pub async fn next_page(&mut self, db: &impl ConnectionTrait) -> Result<Vec<ExportRow>, DbErr> {
        if self.done {
            return Ok(Vec::new());
        }
        let mut select = approved(self.org_id, self.batch_id)
            .order_by_asc(review_item::Column::RowIndex)
            .limit(PAGE_SIZE);
        if let Some(after) = self.after {
            select = select.filter(review_item::Column::RowIndex.gt(after));
        }
        let items = select.all(db).await?;
        self.done = (items.len() as u64) < PAGE_SIZE;
        self.after = items.last().map(|i| i.row_index);
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let job_ids: Vec<Uuid> = items.iter().map(|i| i.job_id).collect();
        let article_ids: Vec<Uuid> = items.iter().map(|i| i.article_id).collect();
        let mut jobs: HashMap<Uuid, job::Model> = job::Entity::find()
            .filter(job::Column::OrgId.eq(self.org_id))
            .filter(job::Column::Id.is_in(job_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|j| (j.id, j))
            .collect();
        let mut articles: HashMap<Uuid, article::Model> = article::Entity::find()
            .filter(article::Column::OrgId.eq(self.org_id))
            .filter(article::Column::Id.is_in(article_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|a| (a.id, a))
            .collect();
        items
            .into_iter()
            .map(|item| {
                let job = jobs.remove(&item.job_id);
                let article = articles.remove(&item.article_id);
                match (job, article) {
                    (Some(job), Some(article)) => Ok(ExportRow { item, job, article }),
                    _ => Err(DbErr::RecordNotFound(format!(
                        "review item {} points at a missing job or article",
                        item.id
                    ))),
                }
            })
            .collect()
    }
}

fn approved(org_id: Uuid, batch_id: Uuid) -> sea_orm::Select<review_item::Entity> {
    review_item::Entity::find()
        .filter(review_item::Column::OrgId.eq(org_id))
        .filter(review_item::Column::BatchId.eq(batch_id))
        .filter(review_item::Column::Status.eq(ReviewStatus::Approved))
}

/// How many items of the batch are approved now.
pub async fn approved_count(
    db: &impl ConnectionTrait,
    org_id: Uuid,
    batch_id: Uuid,
) -> Result<u64, DbErr> {
    approved(org_id, batch_id).count(db).await
}

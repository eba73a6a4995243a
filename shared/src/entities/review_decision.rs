use sea_orm::entity::prelude::*;

use crate::domain::ReviewStatus;

/// One decision on a review item, kept forever: who moved it from what to what, and why.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "review_decisions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub item_id: Uuid,
    pub org_id: Uuid,
    /// `approve`, `reject`, `needs_regeneration`, or `regenerated` (the worker's new version).
    pub decision: String,
    pub from_status: ReviewStatus,
    pub to_status: ReviewStatus,
    pub article_version: i32,
    #[sea_orm(column_type = "Text", nullable)]
    pub notes: Option<String>,
    pub reviewer: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

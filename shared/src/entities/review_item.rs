use sea_orm::entity::prelude::*;

use crate::domain::ReviewStatus;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "review_items")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub batch_id: Option<Uuid>,
    /// One item per job: its versions come and go under the same item.
    #[sea_orm(unique)]
    pub job_id: Uuid,
    /// The job's row in the submitted sheet, for a stable order.
    pub row_index: i32,
    /// The version under review now (older versions stay in `articles`).
    pub article_id: Uuid,
    pub article_version: i32,
    pub status: ReviewStatus,
    /// Snapshot of the QC verdict the current version was stored with.
    pub qc_passed: bool,
    pub qc_failed_checks: i32,
    #[sea_orm(column_type = "Json", nullable)]
    pub qc_report: Option<Json>,
    /// The last reviewer's notes, who they were and when they decided.
    #[sea_orm(column_type = "Text", nullable)]
    pub notes: Option<String>,
    pub reviewer: Option<String>,
    pub reviewed_at: Option<DateTimeUtc>,
    /// Regenerations reviewers have asked for.
    pub regenerations: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

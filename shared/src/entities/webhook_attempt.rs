use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_attempts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub delivery_id: Uuid,
    /// 1 for the first attempt.
    pub attempt: i32,
    pub started_at: DateTimeUtc,
    pub duration_ms: i32,
    /// The receiver's HTTP status; `None` when no answer came (refused, timeout, SSRF guard).
    pub status_code: Option<i32>,
    #[sea_orm(column_type = "Text", nullable)]
    pub error: Option<String>,
    /// The start of the receiver's answer, at most 1 KB.
    #[sea_orm(column_type = "Text", nullable)]
    pub response_body: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

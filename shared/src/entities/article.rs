use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "articles")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub job_id: Uuid,
    pub org_id: Uuid,
    /// 1 for the first article of a job; regenerations add versions. (job_id, version) is
    /// unique, which is what makes a second delivery of one task harmless.
    pub version: i32,
    pub title: String,
    #[sea_orm(column_type = "Text")]
    pub body_markdown: String,
    pub word_count: i32,
    pub language: Option<String>,
    pub provider: String,
    pub model: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

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
    /// The provider kind that wrote it (`openai`, `anthropic`, `gemini`).
    pub provider: String,
    pub model: String,
    pub created_at: DateTimeUtc,
    pub meta_description: Option<String>,
    /// Whether the article passed QC as stored.
    pub qc_passed: bool,
    /// Every check with its measured value (see the worker's `qc::QcReport`).
    #[sea_orm(column_type = "Json", nullable)]
    pub qc_report: Option<Json>,
    /// The trust links kept in the article, with how each was verified.
    #[sea_orm(column_type = "Json", nullable)]
    pub trust_links: Option<Json>,
    /// Deterministic repairs applied before the final QC run.
    #[sea_orm(column_type = "Json", nullable)]
    pub autofixes: Option<Json>,
    /// Regenerations with QC feedback it took (0 = first draft).
    pub regenerations: i32,
    /// What was known about the target and publisher pages when writing.
    #[sea_orm(column_type = "Json", nullable)]
    pub context_report: Option<Json>,
    /// The deployment (router chain entry) that wrote it; older rows have none.
    pub deployment: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

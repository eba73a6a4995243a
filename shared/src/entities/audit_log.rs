use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_logs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Option<Uuid>,
    /// `request` or `security`.
    pub kind: String,
    /// `request` for a mutating request; a security event's name otherwise
    /// (`auth.failed`, `login.failed`, `access.denied`, `rate_limited`, `budget.alert`, ...).
    pub event: String,
    /// `user` or `api_key`.
    pub actor_type: Option<String>,
    pub actor_id: Option<Uuid>,
    pub request_id: Option<String>,
    pub method: Option<String>,
    /// The route template (`/api/v1/batches/{batch_id}`), never the raw path alone.
    pub route: Option<String>,
    pub path: Option<String>,
    pub resource: Option<String>,
    pub status: Option<i32>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The request body, secrets redacted, truncated.
    pub body: Option<Json>,
    pub detail: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

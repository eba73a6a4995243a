use sea_orm::entity::prelude::*;

use crate::webhooks::DeliveryStatus;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    /// The Standard Webhooks message id (`webhook-id`), the same on every attempt.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub endpoint_id: Uuid,
    pub org_id: Uuid,
    pub event_type: String,
    /// The envelope sent as the body: `{"type", "timestamp", "data"}`.
    #[sea_orm(column_type = "Json")]
    pub payload: Json,
    pub status: DeliveryStatus,
    /// HTTP attempts made so far.
    pub attempts: i32,
    /// When the next attempt is due (pending deliveries only).
    pub next_attempt_at: DateTimeUtc,
    /// When the dispatcher last pushed it to Redis; `None`: not in Redis.
    pub dispatched_at: Option<DateTimeUtc>,
    /// Set while a worker is sending it.
    pub lease_expires_at: Option<DateTimeUtc>,
    pub last_status_code: Option<i32>,
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub delivered_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

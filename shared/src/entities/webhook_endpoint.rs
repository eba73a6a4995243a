use sea_orm::entity::prelude::*;

#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_endpoints")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub url: String,
    pub description: Option<String>,
    /// The event types this endpoint receives, as a JSON list; empty: all of them.
    #[sea_orm(column_type = "Json")]
    pub event_types: Json,
    /// `whsec_<base64>`: the signing key. Never logged (see the `Debug` impl).
    pub secret: String,
    pub enabled: bool,
    /// Why it was disabled, when the system did it (e.g. the receiver answered 410 Gone).
    pub disabled_reason: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl Model {
    /// The event types this endpoint asked for; empty means every event.
    pub fn event_filter(&self) -> Vec<String> {
        serde_json::from_value(self.event_types.clone()).unwrap_or_default()
    }

    pub fn wants(&self, event: &str) -> bool {
        let filter = self.event_filter();
        filter.is_empty() || filter.iter().any(|e| e == event)
    }
}

/// The secret stays out of logs even when a whole row is printed.
impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("webhook_endpoint::Model")
            .field("id", &self.id)
            .field("org_id", &self.org_id)
            .field("url", &self.url)
            .field("event_types", &self.event_types)
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

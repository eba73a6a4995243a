//! Organizations and their API keys.

use chrono::Utc;
use sea_orm::{ActiveValue::Set, DatabaseConnection, DbErr, EntityTrait, TransactionTrait};

use bacowr_shared::{
    entities::{api_key, organization},
    ids::{ApiKeyId, OrgId},
};

use crate::auth::credentials;

pub struct CreatedOrg {
    pub org_id: OrgId,
    pub key_id: ApiKeyId,
    /// The only time the key is visible: it is stored as a hash.
    pub api_key: String,
}

/// Creates an organization and its first API key in one transaction.
pub async fn create_org(db: &DatabaseConnection, name: &str) -> Result<CreatedOrg, DbErr> {
    let org_id = OrgId::new();
    let key_id = ApiKeyId::new();
    let key = credentials::generate_key();
    let now = Utc::now();
    let txn = db.begin().await?;
    organization::Entity::insert(organization::ActiveModel {
        id: Set(org_id.uuid()),
        name: Set(name.to_owned()),
        created_at: Set(now),
        max_running: Set(None),
        ..Default::default()
    })
    .exec_without_returning(&txn)
    .await?;
    api_key::Entity::insert(api_key::ActiveModel {
        id: Set(key_id.uuid()),
        org_id: Set(org_id.uuid()),
        name: Set("first key".to_owned()),
        prefix: Set(credentials::display_prefix(&key)),
        key_hash: Set(credentials::hash_secret(&key)),
        created_at: Set(now),
        last_used_at: Set(None),
        revoked_at: Set(None),
        scopes: Set(bacowr_shared::domain::Scopes::all().to_string()),
        expires_at: Set(None),
        created_by: Set(None),
    })
    .exec_without_returning(&txn)
    .await?;
    txn.commit().await?;
    Ok(CreatedOrg {
        org_id,
        key_id,
        api_key: key,
    })
}

/// Sets how many of the organization's jobs may run at once across the fleet (`None`: the
/// configured default). Returns whether the organization exists.
pub async fn set_max_running(
    db: &DatabaseConnection,
    org_id: OrgId,
    max_running: Option<i32>,
) -> Result<bool, DbErr> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
    let updated = organization::Entity::update_many()
        .col_expr(organization::Column::MaxRunning, Expr::value(max_running))
        .filter(organization::Column::Id.eq(org_id.uuid()))
        .exec(db)
        .await?
        .rows_affected;
    Ok(updated == 1)
}

//! Every migration runs up and down, on a database of the test's own.

use bacowr_migrations::{Migrator, MigratorTrait, SchemaError, ensure_migrated};
use bacowr_shared::testing::TestDatabase;
use sea_orm_migration::sea_orm::{ConnectionTrait, Statement};

async fn tables(db: &sea_orm_migration::sea_orm::DatabaseConnection) -> Vec<String> {
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
        ))
        .await
        .unwrap();
    rows.iter()
        .map(|r| r.try_get::<String>("", "tablename").unwrap())
        .filter(|t| t != "seaql_migrations")
        .collect()
}

#[tokio::test]
async fn up_down_up_round_trip() {
    let test_db = TestDatabase::create().await;
    let db = test_db.connect().await;

    let err = ensure_migrated(&db, false).await.unwrap_err();
    assert!(matches!(err, SchemaError::Pending { count: 9, .. }));
    assert!(err.to_string().contains("bacowr-migrate up"), "{err}");

    Migrator::up(&db, None).await.unwrap();
    assert_eq!(
        tables(&db).await,
        [
            "api_keys",
            "articles",
            "batches",
            "idempotency_keys",
            "jobs",
            "llm_calls",
            "organizations"
        ]
    );
    ensure_migrated(&db, false).await.unwrap();

    // Each down undoes exactly one migration, in reverse order.
    // The last two migrations only add columns and indexes; the others each drop one table.
    for _ in 0..2 {
        Migrator::down(&db, Some(1)).await.unwrap();
        assert_eq!(tables(&db).await.len(), 7);
    }
    for remaining in (0..7).rev() {
        Migrator::down(&db, Some(1)).await.unwrap();
        assert_eq!(tables(&db).await.len(), remaining);
    }
    Migrator::up(&db, None).await.unwrap();
    assert_eq!(tables(&db).await.len(), 7);

    drop(db);
    test_db.drop_database().await;
}

#[tokio::test]
async fn auto_migrate_brings_a_database_up_to_date() {
    let test_db = TestDatabase::create().await;
    let db = test_db.connect().await;
    ensure_migrated(&db, true).await.unwrap();
    assert!(
        Migrator::get_pending_migrations(&db)
            .await
            .unwrap()
            .is_empty()
    );
    drop(db);
    test_db.drop_database().await;
}

/// #8 runs the same code on an embedded SQLite default: the schema must build there too.
#[tokio::test]
async fn the_schema_is_portable_to_sqlite() {
    let db = sea_orm_migration::sea_orm::Database::connect("sqlite::memory:")
        .await
        .unwrap();
    Migrator::up(&db, None).await.unwrap();
    ensure_migrated(&db, false).await.unwrap();
    Migrator::down(&db, None).await.unwrap();
    assert_eq!(
        Migrator::get_pending_migrations(&db).await.unwrap().len(),
        9
    );
}

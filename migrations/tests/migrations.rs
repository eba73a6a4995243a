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

    let count = Migrator::migrations().len();
    let err = ensure_migrated(&db, false).await.unwrap_err();
    assert!(
        matches!(err, SchemaError::Pending { count: c, .. } if c == count),
        "{err}"
    );
    assert!(err.to_string().contains("bacowr-migrate up"), "{err}");

    Migrator::up(&db, None).await.unwrap();
    let all = tables(&db).await;
    for table in [
        "api_keys",
        "articles",
        "batches",
        "idempotency_keys",
        "jobs",
        "llm_calls",
        "organizations",
        "review_decisions",
        "review_items",
    ] {
        assert!(
            all.iter().any(|t| t == table),
            "{table} missing from {all:?}"
        );
    }
    ensure_migrated(&db, false).await.unwrap();

    // Each down undoes exactly one migration, in reverse order, and never adds a table back;
    // all of them leave nothing.
    let mut before = all.len();
    for _ in 0..count {
        Migrator::down(&db, Some(1)).await.unwrap();
        let now = tables(&db).await.len();
        assert!(now <= before, "a down added a table");
        before = now;
    }
    assert!(tables(&db).await.is_empty());
    Migrator::up(&db, None).await.unwrap();
    assert_eq!(tables(&db).await, all);

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
        Migrator::migrations().len()
    );
}

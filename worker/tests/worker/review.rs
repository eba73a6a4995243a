//! A reviewer's regeneration whose worker keeps dying: once its attempts are used up the
//! dispatcher's lease recovery leaves the job with the article it had and the item back in
//! review, instead of a `failed` job with an item stuck in `regenerating`.

use std::time::Duration;

use chrono::Utc;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};

use bacowr_migrations::{Migrator, MigratorTrait};
use bacowr_shared::{
    domain::{JobStatus, ReviewStatus},
    entities::{batch, job, review_decision, review_item},
    events::Publisher,
    testing::{TestDatabase, TestRedis},
};
use bacowr_worker::{
    dispatch::recover::expired_leases,
    store::{claim, record_outcome},
};

use crate::store::{article_out, batch_row, call, seed};

const LEASE: Duration = Duration::from_secs(60);
const MAX_ATTEMPTS: u32 = 3;

#[tokio::test]
async fn a_regeneration_out_of_attempts_goes_back_to_review_with_its_article() {
    let test_db = TestDatabase::create().await;
    let db = test_db.connect().await;
    Migrator::up(&db, None).await.unwrap();
    let redis = TestRedis::create().await;
    let mut settings = bacowr_shared::config::Settings::from_figment(
        bacowr_shared::config::Settings::figment(None),
    )
    .unwrap();
    settings.redis.url = redis.url.clone();
    settings.redis.namespace = redis.namespace.clone();
    let conn = bacowr_shared::db::connect_redis(&settings.redis)
        .await
        .unwrap();
    let events = Publisher::new(bacowr_shared::backplane::Backplane::Redis(conn), &settings);

    let (org, batch_id, ids) = seed(&db, 1).await;
    let job = claim(&db, ids[0], org, "w1", LEASE, MAX_ATTEMPTS)
        .await
        .unwrap()
        .unwrap();
    assert!(
        record_outcome(&db, &job, "w1", article_out(), &[call(10)])
            .await
            .unwrap()
    );
    let item = review_item::Entity::find()
        .filter(review_item::Column::JobId.eq(ids[0].uuid()))
        .one(&db)
        .await
        .unwrap()
        .expect("the article opened a review item");
    assert_eq!(item.status, ReviewStatus::Pending);

    // What the API's needs_regeneration does to the rows.
    review_item::Entity::update_many()
        .col_expr(
            review_item::Column::Status,
            Expr::value(ReviewStatus::Regenerating),
        )
        .filter(review_item::Column::Id.eq(item.id))
        .exec(&db)
        .await
        .unwrap();
    job::Entity::update_many()
        .col_expr(job::Column::Status, Expr::value(JobStatus::Queued))
        .col_expr(
            job::Column::ReviewFeedback,
            Expr::value(Some(String::new())),
        )
        .col_expr(job::Column::AttemptFloor, Expr::col(job::Column::Attempts))
        .filter(job::Column::Id.eq(ids[0].uuid()))
        .exec(&db)
        .await
        .unwrap();
    let now = Utc::now();
    batch::move_counts(
        &db,
        batch_id.uuid(),
        batch::Column::PendingItems,
        batch::Column::RegeneratingItems,
        1,
        now,
    )
    .await
    .unwrap();
    batch::move_counts(
        &db,
        batch_id.uuid(),
        batch::Column::SucceededJobs,
        batch::Column::QueuedJobs,
        1,
        now,
    )
    .await
    .unwrap();

    // The regeneration's worker dies on every attempt.
    for attempt in 0..MAX_ATTEMPTS {
        let claimed = claim(
            &db,
            ids[0],
            org,
            &format!("dies-{attempt}"),
            LEASE,
            MAX_ATTEMPTS,
        )
        .await
        .unwrap();
        assert!(claimed.is_some(), "attempt {attempt} is claimed");
        job::Entity::update_many()
            .col_expr(
                job::Column::LeaseExpiresAt,
                Expr::value(Utc::now() - chrono::Duration::seconds(1)),
            )
            .filter(job::Column::Id.eq(ids[0].uuid()))
            .exec(&db)
            .await
            .unwrap();
    }
    let released = expired_leases(&db, &events, MAX_ATTEMPTS, Utc::now())
        .await
        .unwrap();
    assert_eq!(released, 1);

    let job = job::Entity::find_by_id(ids[0].uuid())
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        job.status,
        JobStatus::Succeeded,
        "the job keeps its article"
    );
    assert!(job.error_code.is_none());
    assert!(job.review_feedback.is_none());
    let item = review_item::Entity::find_by_id(item.id)
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(item.status, ReviewStatus::Pending);
    assert_eq!(item.article_version, 1);
    let history = review_decision::Entity::find()
        .filter(review_decision::Column::ItemId.eq(item.id))
        .all(&db)
        .await
        .unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].decision, "regeneration_failed");
    let b = batch_row(&db, batch_id).await;
    assert_eq!((b.pending_items, b.regenerating_items), (1, 0));
    assert_eq!(
        (
            b.succeeded_jobs,
            b.failed_jobs,
            b.running_jobs,
            b.queued_jobs
        ),
        (1, 0, 0, 0)
    );

    drop(db);
    test_db.drop_database().await;
    redis.clean().await;
}

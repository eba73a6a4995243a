//! P1: `POST /api/v1/batches` with 175 links, latency seen on loopback, against the floor of
//! the same work done directly: one multi-row insert of 175 rows and a 175-command Redis
//! pipeline.

use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DatabaseConnection, Statement, Value};

use crate::{
    env::{BoxError, Env, org_key},
    report::{Row, Target},
    stats::{Samples, median},
};

const LINKS: usize = 175;

pub async fn run(runs: usize, quick: bool) -> Result<Vec<Row>, BoxError> {
    let n = if quick { 8 } else { 60 };
    let (mut p50, mut p99, mut floor50, mut floor99, mut ratio) =
        (vec![], vec![], vec![], vec![], vec![]);
    for run in 0..runs {
        let env = Env::new().await;
        let (api, port) = env.api(&[]).await?;
        let db = env.connect().await;
        let key = org_key(&db, "bench").await?;
        let body = serde_json::to_vec(&crate::env::example_batch(LINKS))?;
        let client = reqwest::Client::new();
        let url = format!("http://127.0.0.1:{port}/api/v1/batches");
        let mut api_times = Vec::new();
        for i in 0..(n + 5) {
            let started = Instant::now();
            let resp = client
                .post(&url)
                .bearer_auth(&key)
                .header("content-type", "application/json")
                .header("idempotency-key", format!("bench-{run}-{i}"))
                .body(body.clone())
                .send()
                .await?;
            let status = resp.status();
            resp.bytes().await?;
            if status.as_u16() != 202 {
                return Err(format!("POST /api/v1/batches answered {status}").into());
            }
            // The first few warm the connection pools and caches.
            if i >= 5 {
                api_times.push(started.elapsed());
            }
        }
        let floor_times = floor(&db, &env.redis.url, &env.redis.namespace, n).await?;
        let api = {
            drop(api);
            Samples::from_durations(&api_times)
        };
        let fl = Samples::from_durations(&floor_times);
        eprintln!(
            "P1 run {run}: api p50 {:.2} ms p99 {:.2} ms; floor p50 {:.2} ms p99 {:.2} ms",
            api.pct(0.5),
            api.pct(0.99),
            fl.pct(0.5),
            fl.pct(0.99)
        );
        p50.push(api.pct(0.5));
        p99.push(api.pct(0.99));
        floor50.push(fl.pct(0.5));
        floor99.push(fl.pct(0.99));
        ratio.push(api.pct(0.5) / fl.pct(0.5));
        drop(db);
        env.cleanup().await;
    }
    let (p50, p99, ratio) = (median(&p50), median(&p99), median(&ratio));
    Ok(vec![
        Row::new(
            "P1",
            format!("POST /api/v1/batches, {LINKS} links: p50"),
            format!("{p50:.2} ms"),
            format!("{:.2} ms", median(&floor50)),
            Some(ratio),
            Target::all([
                Target::at_most(p50, 10.0, "p50 ≤ 10 ms"),
                Target::ratio_at_most(ratio, 3.0),
            ]),
        ),
        Row::new(
            "P1",
            format!("POST /api/v1/batches, {LINKS} links: p99"),
            format!("{p99:.2} ms"),
            format!("{:.2} ms", median(&floor99)),
            Some(p99 / median(&floor99)),
            Target::report(),
        ),
    ])
}

/// The same rows and pushes without the API: one multi-row INSERT in a transaction into a
/// table shaped like `jobs` (its columns, a primary key, none of its other indexes), then one
/// Redis pipeline of 175 RPUSHes.
async fn floor(
    db: &DatabaseConnection,
    redis_url: &str,
    namespace: &str,
    n: usize,
) -> Result<Vec<Duration>, BoxError> {
    db.execute_unprepared(
        "CREATE TABLE IF NOT EXISTS bench_floor_jobs (
            id uuid PRIMARY KEY, org_id uuid NOT NULL, batch_id uuid, row_index int NOT NULL,
            publisher_domain text NOT NULL, target_url text NOT NULL, anchor_text text NOT NULL,
            language text, status text NOT NULL, attempts int NOT NULL,
            created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL)",
    )
    .await?;
    let redis = redis::Client::open(redis_url)?;
    let mut conn = redis.get_multiplexed_async_connection().await?;
    let list = format!("{namespace}:bench:floor");
    let backend = db.get_database_backend();
    let org = uuid::Uuid::now_v7();
    let mut times = Vec::new();
    for i in 0..(n + 5) {
        let batch = uuid::Uuid::now_v7();
        let now = chrono::Utc::now();
        let mut sql = String::from(
            "INSERT INTO bench_floor_jobs (id, org_id, batch_id, row_index, publisher_domain, \
             target_url, anchor_text, language, status, attempts, created_at, updated_at) VALUES ",
        );
        let mut values: Vec<Value> = Vec::with_capacity(LINKS * 12);
        let mut ids = Vec::with_capacity(LINKS);
        for row in 0..LINKS {
            let base = row * 12;
            if row > 0 {
                sql.push(',');
            }
            sql.push('(');
            sql.push_str(
                &(1..=12)
                    .map(|k| format!("${}", base + k))
                    .collect::<Vec<_>>()
                    .join(","),
            );
            sql.push(')');
            let id = uuid::Uuid::now_v7();
            ids.push(id.to_string());
            values.extend([
                id.into(),
                org.into(),
                batch.into(),
                (row as i32).into(),
                "publisher.example.se".into(),
                format!("https://www.client.example/products/page-{row}").into(),
                "an anchor text of a few words".into(),
                "sv".into(),
                "queued".into(),
                0i32.into(),
                now.into(),
                now.into(),
            ]);
        }
        let started = Instant::now();
        let txn = sea_orm::TransactionTrait::begin(db).await?;
        txn.execute_raw(Statement::from_sql_and_values(backend, &sql, values))
            .await?;
        txn.commit().await?;
        let mut pipe = redis::pipe();
        for id in &ids {
            pipe.cmd("RPUSH").arg(&list).arg(id).ignore();
        }
        pipe.query_async::<()>(&mut conn).await?;
        if i >= 5 {
            times.push(started.elapsed());
        }
    }
    Ok(times)
}

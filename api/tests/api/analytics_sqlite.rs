//! The analytics statements in both dialects (#8): one data set seeded through the entities
//! into a Postgres database and into an in-memory SQLite one, then every report, over several
//! ranges, compared between the two. The Postgres figures themselves are checked by hand in
//! `analytics.rs`; this file checks that SQLite agrees with them.

use bacowr_shared::testing::fixtures;
use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ActiveModelTrait, Database, DatabaseConnection, DbBackend, IntoActiveModel};
use serde_json::{Value, json};
use uuid::Uuid;

use bacowr_api::analytics::{Range, backlinks, costs, jobs};
use bacowr_migrations::{Migrator, MigratorTrait};
use bacowr_shared::{
    domain::JobStatus,
    entities::{article, batch, job, llm_call},
    testing::TestDatabase,
};

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

/// The same rows, inserted into every database.
struct Seeder<'a> {
    dbs: &'a [&'a DatabaseConnection],
    seqs: HashMap<Uuid, i32>,
}

impl Seeder<'_> {
    async fn org(&self, name: &str) -> Uuid {
        let id = Uuid::now_v7();
        let org = fixtures::organization(id, name, t("2025-01-01T00:00:00Z"));
        for db in self.dbs {
            org.clone().into_active_model().insert(*db).await.unwrap();
        }
        id
    }

    async fn batch(&self, org: Uuid) -> Uuid {
        let id = Uuid::now_v7();
        let model =
            batch::Model::new_queued(id, org, Some("seeded".into()), 4, t("2025-01-01T00:00:00Z"));
        for db in self.dbs {
            model.clone().into_active_model().insert(*db).await.unwrap();
        }
        id
    }

    /// A job started a minute after creation that ran `run_ms` (a running job: started, not
    /// finished); `None`: never started.
    #[allow(clippy::too_many_arguments)]
    async fn job(
        &self,
        org: Uuid,
        batch: Option<Uuid>,
        row: i32,
        (publisher, target): (&str, &str),
        status: JobStatus,
        created: &str,
        run_ms: Option<i64>,
    ) -> Uuid {
        let id = Uuid::now_v7();
        let created = t(created);
        let started = run_ms.map(|_| created + Duration::minutes(1));
        let finished = match status {
            JobStatus::Running => None,
            _ => started
                .zip(run_ms)
                .map(|(s, ms)| s + Duration::milliseconds(ms)),
        };
        let model = job::Model {
            id,
            publisher_domain: publisher.into(),
            target_url: target.into(),
            language: Some("sv".into()),
            status,
            attempts: 1,
            started_at: started,
            finished_at: finished,
            ..fixtures::job(org, batch, row, created)
        };
        for db in self.dbs {
            model.clone().into_active_model().insert(*db).await.unwrap();
        }
        id
    }

    #[allow(clippy::too_many_arguments)]
    async fn article(
        &self,
        org: Uuid,
        job_id: Uuid,
        version: i32,
        words: i32,
        qc_passed: bool,
        regenerations: i32,
        autofixes: Option<Value>,
    ) {
        let model = article::Model {
            id: Uuid::now_v7(),
            job_id,
            org_id: org,
            version,
            title: format!("Article v{version}"),
            body_markdown: "Intro.\n\nBody.\n\nEnd.".into(),
            word_count: words,
            language: Some("sv".into()),
            provider: "llm-sim".into(),
            model: "sim-writer".into(),
            created_at: t("2025-03-01T00:00:00Z"),
            meta_description: None,
            qc_passed,
            qc_report: Some(json!({"checks": []})),
            trust_links: Some(json!([])),
            autofixes,
            regenerations,
            context_report: None,
            deployment: None,
        };
        for db in self.dbs {
            model.clone().into_active_model().insert(*db).await.unwrap();
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn call(
        &mut self,
        org: Uuid,
        job_id: Uuid,
        batch: Option<Uuid>,
        (provider, model): (&str, &str),
        at: &str,
        (tokens_in, tokens_out, cost_micros): (i64, i64, i64),
        outcome: &str,
    ) {
        let seq = self.seqs.entry(job_id).or_default();
        *seq += 1;
        let model = llm_call::Model {
            id: Uuid::now_v7(),
            org_id: org,
            job_id,
            batch_id: batch,
            attempt: 1,
            seq: *seq,
            provider: provider.into(),
            model: model.into(),
            outcome: outcome.into(),
            http_status: Some(200),
            tokens_in,
            tokens_out,
            cost_micros,
            latency_ms: 100,
            error: None,
            created_at: t(at),
            tokens_cached: 0,
            retry_after_ms: None,
            tokens_reasoning: 0,
            tokens_cache_write: 0,
            purpose: None,
            regenerated_for: None,
        };
        for db in self.dbs {
            model.clone().into_active_model().insert(*db).await.unwrap();
        }
    }
}

/// Seventeen jobs over 2025-03-01..03 (and some just outside the range or in another
/// organization) with articles and provider calls; returns the organization.
async fn seed(dbs: &[&DatabaseConnection]) -> Uuid {
    use JobStatus::*;
    let mut s = Seeder {
        dbs,
        seqs: HashMap::new(),
    };
    let org = s.org("analytics").await;
    let other = s.org("someone else").await;
    let (b1, b2, b3) = (s.batch(org).await, s.batch(org).await, s.batch(org).await);

    // 2025-03-01: four timed jobs (an even count).
    let j1 = s
        .job(
            org,
            Some(b1),
            0,
            ("bloggen.se", "https://www.client.se/a"),
            Succeeded,
            "2025-03-01T00:00:00.250Z",
            Some(10_000),
        )
        .await;
    let j2 = s
        .job(
            org,
            Some(b1),
            1,
            ("bloggen.se", "https://client.se/b?x=1"),
            Succeeded,
            "2025-03-01T09:00:00Z",
            Some(20_500),
        )
        .await;
    let j3 = s
        .job(
            org,
            Some(b1),
            2,
            ("news.de", "http://user@Shop.DE:8080/p"),
            NeedsReview,
            "2025-03-01T23:59:59.999Z",
            Some(30_000),
        )
        .await;
    s.job(
        org,
        Some(b1),
        3,
        ("news.de", "HTTPS://WWW.Other.com#frag"),
        Failed,
        "2025-03-01T12:00:00Z",
        Some(7_123),
    )
    .await;
    // 2025-03-02: three timed jobs (odd), a cancelled, a queued and a running one.
    let j5 = s
        .job(
            org,
            Some(b2),
            0,
            ("news.de", "https://shop.de/"),
            Failed,
            "2025-03-02T00:00:00Z",
            Some(40_000),
        )
        .await;
    s.job(
        org,
        Some(b2),
        1,
        ("mag.com", "https://other.com/x"),
        Cancelled,
        "2025-03-02T01:00:00Z",
        None,
    )
    .await;
    s.job(
        org,
        Some(b2),
        2,
        ("mag.com", "https://host.se?q=/path"),
        Queued,
        "2025-03-02T02:00:00Z",
        None,
    )
    .await;
    let j8 = s
        .job(
            org,
            Some(b2),
            3,
            ("mag.com", "ftp://a:b@files.example.org:21/f"),
            Succeeded,
            "2025-03-02T03:00:00Z",
            Some(50_000),
        )
        .await;
    let j9 = s
        .job(
            org,
            None,
            0,
            ("mag.com", "not a url"),
            Running,
            "2025-03-02T04:00:00Z",
            Some(1),
        )
        .await;
    s.job(
        org,
        Some(b2),
        4,
        ("news.de", "https://shop.de/other"),
        Failed,
        "2025-03-02T05:00:00Z",
        Some(4_500),
    )
    .await;
    // 2025-03-03: six timed jobs and a cancelled one; odd URLs for the host extraction.
    let j10 = s
        .job(
            org,
            None,
            0,
            ("blog.example", "mailto:x@y.com"),
            Succeeded,
            "2025-03-03T05:00:00Z",
            Some(3_000),
        )
        .await;
    let j11 = s
        .job(
            org,
            Some(b3),
            0,
            ("blog.example", "https://[::1]:8443/x"),
            Succeeded,
            "2025-03-03T06:00:00Z",
            Some(61_000),
        )
        .await;
    let j12 = s
        .job(
            org,
            Some(b3),
            1,
            ("blog.example", "https://host.com:abc/x"),
            NeedsReview,
            "2025-03-03T07:00:00Z",
            Some(15_000),
        )
        .await;
    s.job(
        org,
        Some(b3),
        2,
        ("Bloggen.se", "svn+ssh://u@repo.net/"),
        Failed,
        "2025-03-03T08:00:00Z",
        Some(2_000),
    )
    .await;
    let j14 = s
        .job(
            org,
            Some(b3),
            3,
            ("x.io", "1http://bad.com/"),
            Succeeded,
            "2025-03-03T09:00:00Z",
            Some(9_999),
        )
        .await;
    let j15 = s
        .job(
            org,
            Some(b3),
            4,
            ("x.io", "https://a@b@c.com/"),
            Succeeded,
            "2025-03-03T23:59:59Z",
            Some(1),
        )
        .await;
    s.job(
        org,
        Some(b3),
        5,
        ("x.io", "https://www.www.x.se"),
        Cancelled,
        "2025-03-03T10:00:00Z",
        None,
    )
    .await;
    // Just before the range, exactly at its (exclusive) end, and another organization's.
    let before = s
        .job(
            org,
            None,
            1,
            ("bloggen.se", "https://client.se/old"),
            Succeeded,
            "2025-02-28T23:59:59.999Z",
            Some(1_000_000),
        )
        .await;
    let at_end = s
        .job(
            org,
            None,
            2,
            ("bloggen.se", "https://client.se/new"),
            Succeeded,
            "2025-03-04T00:00:00Z",
            Some(1_000_000),
        )
        .await;
    let theirs = s
        .job(
            other,
            None,
            0,
            ("bloggen.se", "https://client.se/a"),
            Succeeded,
            "2025-03-01T10:00:00Z",
            Some(5_000),
        )
        .await;

    s.article(org, j1, 1, 800, true, 0, Some(json!([]))).await;
    s.article(org, j2, 1, 900, true, 0, Some(json!(["shortened"])))
        .await;
    s.article(org, j2, 2, 950, true, 0, Some(json!([]))).await;
    s.article(org, j3, 1, 700, false, 0, Some(json!([]))).await;
    s.article(org, j5, 1, 500, false, 0, None).await;
    s.article(org, j8, 1, 1200, true, 1, Some(json!([]))).await;
    s.article(org, j10, 1, 640, true, 0, None).await;
    s.article(org, j11, 1, 1001, true, 0, Some(json!({}))).await;
    s.article(org, j12, 1, 333, true, 0, Some(json!([]))).await;
    s.article(org, j14, 1, 410, false, 0, Some(json!(["a", "b"])))
        .await;
    s.article(org, j14, 2, 420, false, 1, Some(json!([]))).await;
    s.article(org, j14, 3, 431, true, 2, Some(json!([]))).await;
    s.article(org, j15, 1, 777, true, 0, Some(json!([]))).await;
    s.article(org, before, 1, 5000, true, 0, Some(json!([])))
        .await;
    s.article(org, at_end, 1, 5000, true, 0, Some(json!([])))
        .await;
    s.article(other, theirs, 1, 9999, true, 0, Some(json!([])))
        .await;

    let (openai, anthropic, sim) = ("openai", "anthropic", "llm-sim");
    s.call(
        org,
        j1,
        Some(b1),
        (openai, "gpt-4o"),
        "2025-03-01T00:00:01Z",
        (100, 200, 1500),
        "ok",
    )
    .await;
    s.call(
        org,
        j1,
        Some(b1),
        (anthropic, "claude-sonnet"),
        "2025-03-01T00:00:05.5Z",
        (50, 60, 700),
        "ok",
    )
    .await;
    s.call(
        org,
        j2,
        Some(b1),
        (openai, "gpt-4o-mini"),
        "2025-03-01T09:00:10Z",
        (10, 20, 30),
        "timeout",
    )
    .await;
    s.call(
        org,
        j2,
        Some(b1),
        (openai, "gpt-4o-mini"),
        "2025-03-01T09:00:20Z",
        (110, 220, 330),
        "ok",
    )
    .await;
    s.call(
        org,
        j3,
        Some(b1),
        (sim, "sim-writer"),
        "2025-03-01T23:59:59.999Z",
        (1, 2, 0),
        "ok",
    )
    .await;
    s.call(
        org,
        j5,
        Some(b2),
        (anthropic, "claude-haiku"),
        "2025-03-02T00:00:30Z",
        (300, 0, 0),
        "fatal_error",
    )
    .await;
    s.call(
        org,
        j5,
        Some(b2),
        (anthropic, "claude-sonnet"),
        "2025-03-02T00:01:00Z",
        (400, 500, 2500),
        "ok",
    )
    .await;
    s.call(
        org,
        j8,
        Some(b2),
        (openai, "gpt-4o"),
        "2025-03-02T03:00:10Z",
        (1000, 1000, 9000),
        "ok",
    )
    .await;
    s.call(
        org,
        j9,
        None,
        (sim, "sim-writer"),
        "2025-03-02T04:00:05Z",
        (5, 5, 0),
        "retryable_error",
    )
    .await;
    s.call(
        org,
        j10,
        None,
        (openai, "gpt-4o"),
        "2025-03-03T05:00:01Z",
        (20, 30, 400),
        "ok",
    )
    .await;
    // Batch 3 costs exactly what batch 1 does: the tie is broken by batch id.
    s.call(
        org,
        j11,
        Some(b3),
        (anthropic, "claude-sonnet"),
        "2025-03-03T06:00:01Z",
        (70, 80, 900),
        "ok",
    )
    .await;
    s.call(
        org,
        j14,
        Some(b3),
        (openai, "gpt-4o-mini"),
        "2025-03-03T09:00:01Z",
        (5, 5, 1660),
        "ok",
    )
    .await;
    // Outside the range or the organization.
    s.call(
        org,
        j15,
        Some(b3),
        (openai, "gpt-4o"),
        "2025-03-04T00:00:00Z",
        (1, 1, 1_000_000),
        "ok",
    )
    .await;
    s.call(
        org,
        before,
        None,
        (openai, "gpt-4o"),
        "2025-02-28T23:59:59.999Z",
        (1, 1, 1_000_000),
        "ok",
    )
    .await;
    s.call(
        other,
        theirs,
        None,
        (openai, "gpt-4o"),
        "2025-03-01T10:00:00Z",
        (1, 1, 1_000_000),
        "ok",
    )
    .await;
    org
}

/// Every report for one range, as JSON.
async fn reports(db: &DatabaseConnection, org: Uuid, range: Range) -> Value {
    json!({
        "jobs": jobs::report(db, org, range).await.unwrap(),
        "backlinks": backlinks::report(db, org, range, backlinks::DEFAULT_LIMIT).await.unwrap(),
        "backlinks_top_2": backlinks::report(db, org, range, 2).await.unwrap(),
        "costs": costs::report(db, org, range).await.unwrap(),
    })
}

/// Where `a` and `b` differ; numbers within a relative 1e-12 of each other are equal.
fn differences(path: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for key in x.keys().chain(y.keys().filter(|k| !x.contains_key(*k))) {
                let (l, r) = (x.get(key), y.get(key));
                differences(
                    &format!("{path}.{key}"),
                    l.unwrap_or(&Value::Null),
                    r.unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (l, r)) in x.iter().zip(y).enumerate() {
                differences(&format!("{path}[{i}]"), l, r, out);
            }
        }
        (Value::Number(x), Value::Number(y)) if x.is_f64() || y.is_f64() => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            if (x - y).abs() > 1e-12 * x.abs().max(y.abs()).max(1.0) {
                out.push(format!("{path}: postgres {x} vs sqlite {y}"));
            }
        }
        _ if a != b => out.push(format!("{path}: postgres {a} vs sqlite {b}")),
        _ => {}
    }
}

fn range(from: &str, to: &str) -> Range {
    Range {
        from: t(from),
        to: t(to),
    }
}

#[tokio::test]
async fn sqlite_gives_the_postgres_reports() {
    let test_db = TestDatabase::create().await;
    let pg = test_db.connect().await;
    let lite = Database::connect("sqlite::memory:").await.unwrap();
    assert_eq!(pg.get_database_backend(), DbBackend::Postgres);
    assert_eq!(lite.get_database_backend(), DbBackend::Sqlite);
    Migrator::up(&pg, None).await.unwrap();
    Migrator::up(&lite, None).await.unwrap();
    let org = seed(&[&pg, &lite]).await;

    let ranges = [
        (
            "three days",
            range("2025-03-01T00:00:00Z", "2025-03-04T00:00:00Z"),
        ),
        (
            "one day",
            range("2025-03-01T00:00:00Z", "2025-03-02T00:00:00Z"),
        ),
        (
            "the second day",
            range("2025-03-02T00:00:00Z", "2025-03-03T00:00:00Z"),
        ),
        (
            "fractional bounds",
            range("2025-03-01T00:00:00.250Z", "2025-03-01T23:59:59.999Z"),
        ),
        (
            "nothing",
            range("2025-06-01T00:00:00Z", "2025-06-02T00:00:00Z"),
        ),
    ];
    let mut check = Vec::new();
    differences(
        "",
        &json!({"a": [1.5]}),
        &json!({"a": [1.5000001]}),
        &mut check,
    );
    assert_eq!(check, [".a[0]: postgres 1.5 vs sqlite 1.5000001"]);
    let mut all = Vec::new();
    for (name, range) in ranges {
        let (expected, actual) = (
            reports(&pg, org, range).await,
            reports(&lite, org, range).await,
        );
        let mut diff = Vec::new();
        differences("", &expected, &actual, &mut diff);
        all.extend(diff.into_iter().map(|d| format!("{name}{d}")));
        // The comparison means something: the Postgres side is the known data.
        let timed = &expected["jobs"]["durations"]["jobs"];
        match name {
            "three days" => {
                assert_eq!(expected["jobs"]["totals"]["total"], 17);
                assert_eq!(timed, 13, "an odd count");
                assert_eq!(expected["jobs"]["by_day"].as_array().unwrap().len(), 3);
                assert_eq!(expected["costs"]["totals"]["calls"], 12);
                assert_eq!(
                    expected["costs"]["by_provider"].as_array().unwrap().len(),
                    3
                );
                let targets: Vec<&str> = expected["backlinks"]["by_target"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|d| d["domain"].as_str().unwrap())
                    .collect();
                for host in ["client.se", "shop.de", "other.com", "c.com", "[::1]", ""] {
                    assert!(targets.contains(&host), "{host} in {targets:?}");
                }
                assert!(targets.contains(&"host.com:abc") && targets.contains(&"www.x.se"));
                assert!(targets.contains(&"files.example.org") && targets.contains(&"repo.net"));
            }
            "one day" => {
                assert_eq!(timed, 4, "an even count");
                assert_eq!(
                    expected["jobs"]["durations"]["p50_secs"],
                    json!((10.0 + 20.5) / 2.0)
                );
            }
            "the second day" => {
                assert_eq!(timed, 3);
                assert_eq!(expected["jobs"]["durations"]["p50_secs"], json!(40.0));
            }
            "fractional bounds" => assert_eq!(expected["jobs"]["totals"]["total"], 3),
            _ => assert_eq!(expected["jobs"]["durations"]["p50_secs"], Value::Null),
        }
    }
    test_db.drop_database().await;
    assert!(all.is_empty(), "SQLite differs:\n{}", all.join("\n"));
}

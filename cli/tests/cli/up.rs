//! `bacowr up` as an operator runs it: a real process that creates and migrates its database,
//! prints where it listens and a first key, serves batches with its in-process workers, and
//! stops cleanly on SIGTERM.

use std::{process::Stdio, time::Duration};

use bacowr_shared::testing::{TestDatabase, TestRedis, eventually, free_port};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::helpers::{run, scratch_dir, stderr, stdout};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn up_creates_its_database_serves_batches_and_stops_on_sigterm() {
    // A database that does not exist yet, named after a test database so a crashed run's
    // leftover is swept like any other: `up` must create it.
    let db = TestDatabase::create().await;
    let missing = format!("{}_up", db.name);
    let url = bacowr_shared::testing::admin_database_url();
    let database_url = format!("{}/{missing}", url.rsplit_once('/').unwrap().0);
    let redis = TestRedis::create().await;
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");

    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_bacowr"))
        .args(["up", "--workers", "2", "--simulate", "--listen", &listen])
        .env("BACOWR_DATABASE__URL", &database_url)
        .env("BACOWR_REDIS__URL", &redis.url)
        .env("BACOWR_REDIS__NAMESPACE", &redis.namespace)
        .env("BACOWR_WORKER__POLL_INTERVAL_MS", "50")
        .env("BACOWR_WORKER__SHUTDOWN_GRACE_SECS", "5")
        .env("BACOWR_TELEMETRY__LOG_LEVEL", "warn")
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("bacowr up starts");
    let (key, _) = banner(&mut child, &listen).await;
    let key = key.expect("a first key on a new database");
    let dir = scratch_dir("up");
    submit_two(&listen, &key, &dir).await;
    stop(child).await;

    std::fs::remove_dir_all(&dir).unwrap();
    let admin = sea_orm::Database::connect(url).await.unwrap();
    use sea_orm::ConnectionTrait;
    let _ = admin
        .execute_unprepared(&format!(
            "DROP DATABASE IF EXISTS \"{missing}\" WITH (FORCE)"
        ))
        .await;
    db.drop_database().await;
    redis.clean().await;
}

/// With nothing configured, `up` runs embedded: SQLite files in `--data-dir`, no Postgres or
/// Redis. What it accepted is still there after a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn up_runs_embedded_when_nothing_is_configured_and_keeps_its_data() {
    let dir = scratch_dir("up-embedded");
    let data = dir.join("data");
    let listen = format!("127.0.0.1:{}", free_port());
    let start = || embedded_up(&listen, &data, &[]);
    let mut child = start();
    let (key, lines) = banner(&mut child, &listen).await;
    let key = key.expect("a first key on a new database");
    assert!(
        lines.iter().any(|l| l.contains("mode     embedded")),
        "{lines:?}"
    );
    let batch = submit_two(&listen, &key, &dir).await;
    stop(child).await;
    assert!(data.join("bacowr.db").is_file() && data.join("bacowr.db.queue").is_file());

    // Started again on the same files: the organization, its key and the batch are there.
    let mut child = start();
    let (again, lines) = banner(&mut child, &listen).await;
    assert_eq!(
        again, None,
        "no new organization on a used database: {lines:?}"
    );
    let out = run(
        &["status", &batch, "--json"],
        &[
            ("BACOWR_SERVER", &format!("http://{listen}")),
            ("BACOWR_API_KEY", &key),
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let status: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(status["status"], "ready_for_review", "{status}");
    assert_eq!(status["total_jobs"], 2, "{status}");
    assert_eq!(status["counts"]["failed"], 0, "{status}");
    stop(child).await;
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Reads `up`'s banner up to its last line: the first key if it printed one, and the lines.
pub(crate) async fn banner(
    child: &mut tokio::process::Child,
    listen: &str,
) -> (Option<String>, Vec<String>) {
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut banner = Vec::new();
    let key = tokio::time::timeout(Duration::from_secs(60), async {
        let mut key = None;
        while let Some(line) = lines.next_line().await.unwrap() {
            banner.push(line.clone());
            if let Some(rest) = line.trim().strip_prefix("key") {
                key = Some(rest.split_whitespace().next().unwrap().to_owned());
            }
            if line.starts_with("Ctrl-C stops") {
                return key;
            }
        }
        panic!("banner ended early: {banner:?}");
    })
    .await
    .expect("up printed its banner within 60 s");
    if let Some(key) = &key {
        assert!(key.starts_with("bcw_"), "{banner:?}");
    }
    assert!(
        banner
            .iter()
            .any(|l| l.contains(&format!("http://{listen}/docs"))),
        "{banner:?}"
    );
    (key, banner)
}

/// Submits two links with `submit --wait` and returns the batch id once both are done.
pub(crate) async fn submit_two(listen: &str, key: &str, dir: &std::path::Path) -> String {
    let server = format!("http://{listen}");
    let http = reqwest::Client::new();
    eventually(
        "the API answers /health",
        Duration::from_secs(30),
        || async {
            let r = http.get(format!("{server}/health")).send().await.ok()?;
            r.status().is_success().then_some(())
        },
    )
    .await;
    let csv = dir.join("links.csv");
    std::fs::write(
        &csv,
        "publisher,target,anchor,language\nbloggen.se,https://client.se/cyklar,bästa cyklarna,sv\nnews.com,https://client.com/bikes,best bikes,en\n",
    )
    .unwrap();
    let out = run(
        &[
            "submit",
            csv.to_str().unwrap(),
            "--wait",
            "--timeout",
            "120",
            "--json",
        ],
        &[("BACOWR_SERVER", &server), ("BACOWR_API_KEY", key)],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let summary: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(summary["links"], 2, "{summary}");
    assert_eq!(summary["failed"], 0, "{summary}");
    summary["batch_id"]
        .as_str()
        .expect("batch id in the summary")
        .to_owned()
}

/// SIGTERM: in-flight work is finished or handed back, then a clean exit.
pub(crate) async fn stop(mut child: tokio::process::Child) {
    let pid = child.id().expect("running") as i32;
    std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    let status = tokio::time::timeout(Duration::from_secs(60), child.wait())
        .await
        .expect("up stopped within 60 s of SIGTERM")
        .unwrap();
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        use tokio::io::AsyncReadExt;
        let _ = e.read_to_string(&mut err).await;
    }
    assert_eq!(status.code(), Some(0), "{err}");
}

/// `bacowr up` on the embedded build (no database settings at all), its files in `data`.
pub(crate) fn embedded_up(
    listen: &str,
    data: &std::path::Path,
    env: &[(&str, &str)],
) -> tokio::process::Child {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_bacowr"))
        .args(["up", "--workers", "2", "--simulate", "--listen", listen])
        .arg("--data-dir")
        .arg(data)
        .env("BACOWR_WORKER__POLL_INTERVAL_MS", "50")
        .env("BACOWR_WORKER__SHUTDOWN_GRACE_SECS", "5")
        .env("BACOWR_TELEMETRY__LOG_LEVEL", "warn")
        .envs(env.iter().copied())
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .env_remove("BACOWR_DATABASE__URL")
        .env_remove("BACOWR_REDIS__URL")
        .env_remove("BACOWR_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("bacowr up starts")
}

/// An agency's sheet of real-world URLs on `up --simulate`: the simulated web answers for
/// every target, publisher and trust-link URL, so the run looks like a real one: articles
/// pass, with verified trust links, and no call is paid for a regeneration that can't help.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_simulated_run_of_real_world_urls_behaves_like_a_real_one() {
    let dir = scratch_dir("up-simulated-web");
    let listen = format!("127.0.0.1:{}", free_port());
    let mut child = embedded_up(&listen, &dir.join("data"), &[]);
    let (key, _) = banner(&mut child, &listen).await;
    let key = key.expect("a first key");
    let server = format!("http://{listen}");
    let rows = [
        (
            "dagensmedia.se",
            "https://www.cykelbolaget.se/elcyklar/pendling",
            "elcyklar för pendling",
            "sv",
        ),
        (
            "autobild-blog.de",
            "https://www.reifen-direkt.de/winterreifen",
            "Winterreifen im Test",
            "de",
        ),
        (
            "techdaily.com",
            "https://www.example-store.com/products/noise-cancelling-headphones",
            "noise cancelling headphones",
            "en",
        ),
        (
            "reisemagasinet.no",
            "https://www.hotell-bergen.no/rom",
            "hotell i Bergen",
            "nb",
        ),
        (
            "gardenersworld.co.uk",
            "https://shop.seedsdirect.co.uk/tomato-seeds",
            "heirloom tomato seeds",
            "en",
        ),
        (
            "maison-deco.fr",
            "https://www.canape-paris.fr/canapes/cuir",
            "canapé en cuir",
            "fr",
        ),
    ];
    let mut csv = String::from("publisher,target,anchor,language\n");
    for (p, t, a, l) in rows {
        csv.push_str(&format!("{p},{t},{a},{l}\n"));
    }
    let file = dir.join("agency.csv");
    std::fs::write(&file, csv).unwrap();
    let out = run(
        &[
            "submit",
            file.to_str().unwrap(),
            "--wait",
            "--timeout",
            "120",
            "--json",
        ],
        &[("BACOWR_SERVER", &server), ("BACOWR_API_KEY", &key)],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let summary: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let batch = summary["batch_id"].as_str().unwrap();
    let http = reqwest::Client::new();
    let get = |path: String| {
        let http = http.clone();
        let key = key.clone();
        let server = server.clone();
        async move {
            http.get(format!("{server}{path}"))
                .bearer_auth(key)
                .send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    };
    let view = get(format!("/api/v1/batches/{batch}")).await;
    let calls = get(format!("/api/v1/batches/{batch}/calls")).await;
    eprintln!(
        "simulated web figures: counts {} calls {} regenerations {}",
        view["counts"], calls["calls"], calls["regeneration_calls"]
    );
    assert_eq!(view["counts"]["failed"], 0, "{view}");
    assert!(
        view["notices"].to_string().contains("simulated"),
        "the batch says up front what the simulation can't check: {view}"
    );
    assert!(
        view["counts"]["succeeded"].as_i64().unwrap() >= 5,
        "real-world URLs pass on the simulated web: {view}"
    );
    let jobs = get(format!("/api/v1/batches/{batch}/jobs")).await;
    let first = jobs["items"][0]["id"].as_str().unwrap().to_owned();
    let job = get(format!("/api/v1/jobs/{first}")).await;
    let trust = job["article"]["trust_links"].to_string();
    assert!(
        trust.contains("consumer-research.org") || trust.contains("statistics-office.org"),
        "trust links verified against the simulated web: {trust}"
    );
    stop(child).await;
    std::fs::remove_dir_all(&dir).unwrap();
}

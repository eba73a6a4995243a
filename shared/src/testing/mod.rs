//! Test support for the workspace's integration tests: a fresh Postgres database and a fresh
//! Redis namespace per test, dropped afterwards. Leftovers of crashed runs are swept at start
//! (the machine is reused across sessions).

pub mod fixtures;
mod servers;

pub use servers::{PgCluster, RedisServer, TestSqlite, free_port};

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use std::future::Future;

use redis::AsyncCommands;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use tokio::sync::OnceCell;

const PREFIX: &str = "bacowr_t_";
/// Anything a test left behind longer ago than this is garbage, not a running test.
const STALE_AFTER: Duration = Duration::from_secs(3600);

pub fn admin_database_url() -> String {
    std::env::var("BACOWR_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

pub fn redis_url() -> String {
    std::env::var("BACOWR_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

fn unique_name() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    format!("{PREFIX}{secs}_{:08x}", rand::random::<u32>())
}

fn created_secs(name: &str) -> Option<u64> {
    name.strip_prefix(PREFIX)?.split('_').next()?.parse().ok()
}

fn is_stale(name: &str) -> bool {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    created_secs(name).is_some_and(|c| now.saturating_sub(c) > STALE_AFTER.as_secs())
}

/// A database of its own for one test.
pub struct TestDatabase {
    pub name: String,
    pub url: String,
}

impl TestDatabase {
    pub async fn create() -> Self {
        static SWEPT: OnceCell<()> = OnceCell::const_new();
        let admin = Database::connect(admin_database_url())
            .await
            .expect("connect to Postgres as admin (is it running on 127.0.0.1:5432?)");
        SWEPT.get_or_init(|| sweep_databases(&admin)).await;
        let name = unique_name();
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .expect("create test database");
        let base = admin_database_url();
        let url = match base.rsplit_once('/') {
            Some((server, _)) => format!("{server}/{name}"),
            None => panic!("BACOWR_TEST_DATABASE_URL must end with a database name"),
        };
        Self { name, url }
    }

    pub async fn connect(&self) -> DatabaseConnection {
        Database::connect(&self.url)
            .await
            .expect("connect to test database")
    }

    pub async fn drop_database(self) {
        if let Ok(admin) = Database::connect(admin_database_url()).await {
            let _ = admin
                .execute_unprepared(&format!(
                    "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                    self.name
                ))
                .await;
        }
    }
}

async fn sweep_databases(admin: &DatabaseConnection) {
    let rows = admin
        .query_all_raw(sea_orm::Statement::from_string(
            admin.get_database_backend(),
            format!("SELECT datname FROM pg_database WHERE datname LIKE '{PREFIX}%'"),
        ))
        .await
        .unwrap_or_default();
    for row in rows {
        let Ok(name) = row.try_get::<String>("", "datname") else {
            continue;
        };
        if is_stale(&name) {
            let _ = admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .await;
        }
    }
}

/// A Redis key namespace of its own for one test.
pub struct TestRedis {
    pub url: String,
    pub namespace: String,
}

impl TestRedis {
    pub async fn create() -> Self {
        static SWEPT: OnceCell<()> = OnceCell::const_new();
        let url = redis_url();
        SWEPT
            .get_or_init(|| async {
                let _ = delete_matching(&url, &format!("{PREFIX}*"), true).await;
            })
            .await;
        Self {
            url,
            namespace: unique_name(),
        }
    }

    pub async fn clean(self) {
        let _ = delete_matching(&self.url, &format!("{}*", self.namespace), false).await;
    }
}

async fn delete_matching(url: &str, pattern: &str, only_stale: bool) -> redis::RedisResult<()> {
    let client = redis::Client::open(url)?;
    let mut conn = client.get_multiplexed_async_connection().await?;
    let keys: Vec<String> = {
        let mut iter = conn.scan_match::<_, String>(pattern).await?;
        let mut keys = Vec::new();
        while let Some(key) = futures_next(&mut iter).await {
            if !only_stale || is_stale(&key) {
                keys.push(key);
            }
        }
        keys
    };
    for chunk in keys.chunks(500) {
        let _: () = conn.del(chunk).await?;
    }
    Ok(())
}

async fn futures_next<T>(iter: &mut redis::AsyncIter<'_, T>) -> Option<T>
where
    T: redis::FromRedisValue + Unpin + Send + 'static,
{
    iter.next_item().await.and_then(Result::ok)
}

/// Polls `check` every 50 ms until it returns `Some`, and panics naming `what` if `within`
/// passes first: the one way tests wait for something to happen.
pub async fn eventually<T, F, Fut>(what: &str, within: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + within;
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    loop {
        tick.tick().await;
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not within {within:?}"
        );
    }
}

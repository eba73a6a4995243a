//! Postgres and Redis for the local commands: reachability checks that say exactly what to do
//! when one is missing, creating the database, and the demo's throw-away database and Redis
//! namespace (removed afterwards; a killed demo's database is swept on a later run once
//! nothing uses it, and its Redis keys expire or stay under their own `bacowr-demo-*` prefix).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, Statement};

use crate::exit::CliError;

const DEMO_PREFIX: &str = "bacowr_demo_";
const STALE_SECS: u64 = 3600;

fn help_postgres(url: &str, error: &str) -> CliError {
    CliError::Missing(format!(
        "Postgres is not reachable at {}: {error}\n\
         BACOWR needs PostgreSQL 13 or newer. Either:\n\
         \x20 - start the local server:   sudo pg_ctlcluster $(ls /etc/postgresql) main start\n\
         \x20 - install it (Debian/Ubuntu): sudo apt-get install -y postgresql\n\
         \x20 - run it in Docker:          docker run -d --name bacowr-pg -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust postgres:16\n\
         \x20 - or point BACOWR at yours:  export DATABASE_URL=postgres://user:pass@host:5432/db\n\
         (`bash tools/services.sh` does the first three for you.)",
        redact(url)
    ))
}

fn help_redis(url: &str, error: &str) -> CliError {
    CliError::Missing(format!(
        "Redis is not reachable at {}: {error}\n\
         BACOWR needs Redis 6.2 or newer. Either:\n\
         \x20 - start it:                  redis-server --daemonize yes --save \"\" --appendonly no\n\
         \x20 - install it (Debian/Ubuntu): sudo apt-get install -y redis-server\n\
         \x20 - run it in Docker:          docker run -d --name bacowr-redis -p 6379:6379 redis:7\n\
         \x20 - or point BACOWR at yours:  export REDIS_URL=redis://host:6379\n\
         (`bash tools/services.sh` does the first three for you.)",
        redact(url)
    ))
}

/// A URL with its password hidden, for messages.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

async fn connect(url: &str) -> Result<DatabaseConnection, sea_orm::DbErr> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(2)
        .connect_timeout(Duration::from_secs(5))
        .sqlx_logging(false);
    Database::connect(options).await
}

/// The same server, another database (`postgres://h/x` → `postgres://h/name`).
pub fn with_database(url: &str, name: &str) -> Result<String, CliError> {
    let mut u = url::Url::parse(url)
        .map_err(|e| CliError::Input(format!("database URL {}: {e}", redact(url))))?;
    u.set_path(&format!("/{name}"));
    Ok(u.to_string())
}

fn database_name(url: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    let name = u.path().trim_start_matches('/');
    (!name.is_empty()).then(|| name.to_owned())
}

/// Connects to the server's maintenance database, which always exists.
async fn admin(url: &str) -> Result<DatabaseConnection, CliError> {
    let admin_url = with_database(url, "postgres")?;
    connect(&admin_url)
        .await
        .map_err(|e| help_postgres(url, &e.to_string()))
}

/// Makes sure the database `url` names exists (creating it if the role may), so a first
/// `bacowr up` needs no manual `CREATE DATABASE`.
pub async fn ensure_database(url: &str) -> Result<(), CliError> {
    if connect(url).await.is_ok() {
        return Ok(());
    }
    let name = database_name(url)
        .ok_or_else(|| CliError::Input(format!("{} names no database", redact(url))))?;
    let admin = admin(url).await?;
    let exists = admin
        .query_one_raw(Statement::from_sql_and_values(
            admin.get_database_backend(),
            "SELECT 1 FROM pg_database WHERE datname = $1",
            [name.clone().into()],
        ))
        .await
        .map_err(|e| help_postgres(url, &e.to_string()))?;
    if exists.is_none() {
        admin
            .execute_unprepared(&format!(
                "CREATE DATABASE \"{}\"",
                name.replace('"', "\"\"")
            ))
            .await
            .map_err(|e| CliError::Missing(format!("cannot create database {name:?}: {e}")))?;
    }
    connect(url)
        .await
        .map(|_| ())
        .map_err(|e| help_postgres(url, &e.to_string()))
}

pub async fn check_redis(url: &str) -> Result<(), CliError> {
    let client = redis::Client::open(url).map_err(|e| help_redis(url, &e.to_string()))?;
    let mut conn = tokio::time::timeout(
        Duration::from_secs(5),
        client.get_multiplexed_async_connection(),
    )
    .await
    .map_err(|_| help_redis(url, "timed out"))?
    .map_err(|e| help_redis(url, &e.to_string()))?;
    redis::cmd("PING")
        .query_async::<String>(&mut conn)
        .await
        .map(|_| ())
        .map_err(|e| help_redis(url, &e.to_string()))
}

/// `tools/services.sh`, compiled in: the one place that knows how to find or start Postgres
/// and Redis on a developer machine (local servers, else Docker, else install commands).
const SERVICES_SCRIPT: &str = include_str!("../../../tools/services.sh");

/// Runs the services script (its messages go to stderr) for a demo on the default local URLs.
pub async fn start_local() -> Result<(), CliError> {
    use tokio::io::AsyncWriteExt;
    let mut child = tokio::process::Command::new("bash")
        .arg("-s")
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .map_err(|e| {
            CliError::Missing(format!("cannot run bash to start Postgres and Redis: {e}"))
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(SERVICES_SCRIPT.as_bytes())
            .await
            .map_err(|e| CliError::Local(format!("starting services: {e}")))?;
    }
    let status = child
        .wait()
        .await
        .map_err(|e| CliError::Local(format!("starting services: {e}")))?;
    if status.success() {
        Ok(())
    } else {
        Err(CliError::Missing(
            "Postgres or Redis is missing: see the message above".into(),
        ))
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

/// The demo's own database on the given server, dropped by [`Scratch::remove`].
pub struct Scratch {
    pub database_url: String,
    pub redis_url: String,
    pub namespace: String,
    server_url: String,
    name: String,
}

impl Scratch {
    pub async fn create(server_url: &str, redis_url: &str) -> Result<Self, CliError> {
        check_redis(redis_url).await?;
        let admin = admin(server_url).await?;
        sweep(&admin).await;
        let name = format!(
            "{DEMO_PREFIX}{}_{:06x}",
            now_secs(),
            rand::random::<u32>() >> 8
        );
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .map_err(|e| CliError::Missing(format!("cannot create the demo database: {e}")))?;
        Ok(Self {
            database_url: with_database(server_url, &name)?,
            redis_url: redis_url.to_owned(),
            namespace: name.replace('_', "-"),
            server_url: server_url.to_owned(),
            name,
        })
    }

    /// Drops the database and deletes the namespace's Redis keys.
    pub async fn remove(self) {
        if let Ok(admin) = admin(&self.server_url).await {
            let _ = admin
                .execute_unprepared(&format!(
                    "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                    self.name
                ))
                .await;
        }
        if let Ok(client) = redis::Client::open(self.redis_url.as_str())
            && let Ok(mut conn) = client.get_multiplexed_async_connection().await
        {
            // SCAN, not KEYS: the Redis may be shared with a real deployment.
            let pattern = format!("{}*", self.namespace);
            let mut cursor = 0u64;
            loop {
                let Ok((next, keys)) = redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("MATCH")
                    .arg(&pattern)
                    .arg("COUNT")
                    .arg(1000)
                    .query_async::<(u64, Vec<String>)>(&mut conn)
                    .await
                else {
                    break;
                };
                if !keys.is_empty() {
                    let _ = redis::cmd("DEL")
                        .arg(&keys)
                        .query_async::<i64>(&mut conn)
                        .await;
                }
                if next == 0 {
                    break;
                }
                cursor = next;
            }
        }
    }
}

/// Drops demo databases a killed demo left behind: older than an hour and with nobody
/// connected (a `demo --keep` still in use has connections, and is left alone).
async fn sweep(admin: &DatabaseConnection) {
    let rows = admin
        .query_all_raw(Statement::from_string(
            admin.get_database_backend(),
            format!("SELECT datname FROM pg_database WHERE datname LIKE '{DEMO_PREFIX}%'"),
        ))
        .await
        .unwrap_or_default();
    for row in rows {
        let Ok(name) = row.try_get::<String>("", "datname") else {
            continue;
        };
        let created = name
            .strip_prefix(DEMO_PREFIX)
            .and_then(|rest| rest.split('_').next())
            .and_then(|s| s.parse::<u64>().ok());
        if created.is_some_and(|c| now_secs().saturating_sub(c) > STALE_SECS) {
            // Without FORCE: Postgres refuses while anyone is connected.
            let _ = admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\""))
                .await;
        }
    }
}

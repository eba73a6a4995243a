//! Servers of a test's own, for tests that flush, stop, pause or restart them without
//! disturbing the shared Postgres and Redis other tests use: a `redis-server` on a free port,
//! and a throwaway Postgres cluster (`initdb` into a temp dir, `pg_ctl` on a free port).
//! Everything is removed on drop.

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use super::eventually;

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free local port")
}

fn signal(pid: u32, sig: &str) {
    let status = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill {sig} {pid} failed");
}

/// A `redis-server` of this test's own, without persistence.
pub struct RedisServer {
    pub port: u16,
    pub url: String,
    child: Option<Child>,
    dir: PathBuf,
}

impl RedisServer {
    pub async fn start() -> Self {
        sweep_leftovers();
        let port = free_port();
        let dir = scratch_dir("redis");
        let mut server = Self {
            port,
            url: format!("redis://127.0.0.1:{port}"),
            child: None,
            dir,
        };
        server.launch().await;
        server
    }

    async fn launch(&mut self) {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--loglevel",
                "warning",
                "--dir",
                &self.dir.to_string_lossy(),
                "--pidfile",
                &self.dir.join("redis.pid").to_string_lossy(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server (is it installed?)");
        self.child = Some(child);
        let url = self.url.clone();
        eventually("redis-server answers", Duration::from_secs(10), || {
            let url = url.clone();
            async move {
                let client = redis::Client::open(url).ok()?;
                let mut conn = client.get_multiplexed_async_connection().await.ok()?;
                redis::cmd("PING")
                    .query_async::<String>(&mut conn)
                    .await
                    .ok()
                    .map(|_| ())
            }
        })
        .await;
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Kills the server (SIGKILL) and starts an empty one on the same port: a restart with
    /// no persistence.
    pub async fn restart(&mut self) {
        self.kill();
        self.launch().await;
    }

    /// SIGSTOP: the server stops answering without closing connections.
    pub fn pause(&self) {
        signal(self.pid(), "-STOP");
    }

    pub fn resume(&self) {
        signal(self.pid(), "-CONT");
    }

    pub async fn flushall(&self) {
        let client = redis::Client::open(self.url.as_str()).expect("redis url");
        let mut conn = client
            .get_multiplexed_async_connection()
            .await
            .expect("connect");
        redis::cmd("FLUSHALL")
            .query_async::<()>(&mut conn)
            .await
            .expect("FLUSHALL");
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-CONT", &child.id().to_string()])
                .status();
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `TMPDIR/bacowr-KIND-PID-RANDOM`: the test process's pid in the name lets a later run
/// find what a killed run left behind.
/// An embedded build's files (SQLite database and queue) for one test, in a scratch dir that
/// `remove` deletes (or the next test process's sweep, if this one died).
pub struct TestSqlite {
    pub dir: PathBuf,
    /// The `database.url` of the embedded build.
    pub url: String,
}

impl TestSqlite {
    pub fn create() -> Self {
        sweep_leftovers();
        let dir = scratch_dir("sqlite");
        let url = format!("sqlite://{}?mode=rwc", dir.join("bacowr.db").display());
        Self { dir, url }
    }

    pub fn remove(&self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn scratch_dir(kind: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "bacowr-{kind}-{}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::create_dir_all(&dir).expect("create a scratch dir");
    dir
}

/// Servers of test processes that died without cleaning up (the machine is reused across
/// sessions): stopped and removed, once per test process.
fn sweep_leftovers() {
    static SWEPT: std::sync::Once = std::sync::Once::new();
    SWEPT.call_once(|| {
        let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let mut parts = name.splitn(4, '-');
            let (Some("bacowr"), Some(kind), Some(pid)) =
                (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            let Ok(pid) = pid.parse::<u32>() else {
                continue;
            };
            if Path::new(&format!("/proc/{pid}")).exists() {
                continue;
            }
            let dir = entry.path();
            match kind {
                "redis" => {
                    if let Ok(p) = std::fs::read_to_string(dir.join("redis.pid")) {
                        let _ = Command::new("kill").args(["-9", p.trim()]).status();
                    }
                }
                "sqlite" => {}
                "pg" => {
                    let _ = pg_command(&postgres_bin().join("pg_ctl"))
                        .args(["stop", "-m", "immediate", "-D"])
                        .arg(dir.join("data"))
                        .stdout(Stdio::null())
                        .stderr(Stdio::null())
                        .status();
                }
                _ => continue,
            }
            let _ = std::fs::remove_dir_all(&dir);
        }
    });
}

/// Postgres refuses to run as root: as root, its tools run as the postgres user.
fn pg_command(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

/// A Postgres cluster of this test's own, trust auth, user `postgres`.
pub struct PgCluster {
    pub port: u16,
    /// `postgres://postgres@127.0.0.1:PORT/postgres`
    pub url: String,
    dir: PathBuf,
    bin: PathBuf,
}

fn postgres_bin() -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("Postgres server binaries under /usr/lib/postgresql")
        .filter_map(|e| Some(e.ok()?.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    found.sort();
    found
        .pop()
        .expect("an initdb under /usr/lib/postgresql/*/bin")
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

impl PgCluster {
    pub async fn start() -> Self {
        sweep_leftovers();
        let bin = postgres_bin();
        let dir = scratch_dir("pg");
        if is_root() {
            // Postgres refuses to run as root: the cluster belongs to the postgres user.
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir)
                .status()
                .expect("chown");
            assert!(status.success(), "chown the cluster dir to postgres");
        }
        let port = free_port();
        let cluster = Self {
            port,
            url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
            dir,
            bin,
        };
        cluster.run(
            "initdb",
            &[
                "-D",
                &cluster.data().to_string_lossy(),
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        );
        cluster.start_server().await;
        cluster
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let out = pg_command(&self.bin.join(tool))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("run {tool}: {e}"));
        assert!(
            out.status.success(),
            "{tool} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts the server and waits until it accepts connections.
    pub async fn start_server(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
             -c full_page_writes=off -c max_connections=200",
            self.port,
            self.dir.display()
        );
        self.run(
            "pg_ctl",
            &[
                "start",
                "-w",
                "-t",
                "30",
                "-D",
                &self.data().to_string_lossy(),
                "-l",
                &self.dir.join("log").to_string_lossy(),
                "-o",
                &options,
            ],
        );
    }

    /// Stops the server (fast shutdown: connections are cut, as in an outage).
    pub fn stop_server(&self) {
        self.run(
            "pg_ctl",
            &[
                "stop",
                "-w",
                "-m",
                "fast",
                "-D",
                &self.data().to_string_lossy(),
            ],
        );
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let data = self.data();
        let _ = pg_command(&self.bin.join("pg_ctl"))
            .args(["stop", "-m", "immediate", "-D"])
            .arg(&data)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

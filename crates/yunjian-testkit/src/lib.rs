//! Test support only: a fresh [`Store`] per test on the backend the environment selects.
//!
//! `YUNJIAN_TEST_BACKEND=postgres` (set by `scripts/test` for its second pass) runs every
//! store-using test on PostgreSQL: the first test of a test binary starts a throwaway
//! cluster (initdb and pg_ctl from Debian's postgresql, a temporary directory, a free
//! port), each test gets its own database, and a watchdog stops the cluster when the test
//! process exits. Anything else runs on a temporary SQLite file. A PostgreSQL run that
//! cannot start its cluster fails loudly rather than skipping.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use sqlx::Executor;
use tempfile::TempDir;
use yunjian_store::{Store, StoreConfig};

/// Keeps a test's database alive (the SQLite directory is removed on drop).
pub struct TestStore {
    pub store: Store,
    pub config: StoreConfig,
    _dir: Option<TempDir>,
}

pub fn postgres_selected() -> bool {
    std::env::var("YUNJIAN_TEST_BACKEND").is_ok_and(|value| value == "postgres")
}

/// A fresh, migrated store with an (empty) SM3 audit ledger.
pub async fn fresh_store() -> TestStore {
    let test_store = empty_store().await;
    test_store
        .store
        .migrate(1)
        .await
        .expect("migrations apply to an empty database");
    test_store
        .store
        .init_ledger(yunjian_store::LedgerHash::Sm3, "test.invalid/audit/sm3")
        .await
        .expect("the ledger starts");
    test_store
}

impl TestStore {
    /// Runs SQL behind the store's back: how tests play an intruder with database access
    /// (tampering that the ledger must detect).
    pub async fn tamper(&self, sql: &str) {
        use sqlx::Connection;
        let url = match &self.config {
            StoreConfig::Sqlite { path } => format!("sqlite://{}", path.display()),
            StoreConfig::Postgres { url } => url.clone(),
        };
        let mut connection = sqlx::AnyConnection::connect(&url)
            .await
            .expect("a second connection to the test database");
        connection
            .execute(sql)
            .await
            .expect("the tampering statement runs");
        connection.close().await.expect("close");
    }
}

/// A fresh store with no schema (for migration tests).
pub async fn empty_store() -> TestStore {
    if postgres_selected() {
        let url = fresh_postgres_database().await;
        let config = StoreConfig::Postgres { url };
        let store = Store::open(&config).await.expect("open PostgreSQL");
        TestStore {
            store,
            config,
            _dir: None,
        }
    } else {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = StoreConfig::Sqlite {
            path: dir.path().join("yunjian.db"),
        };
        let store = Store::open(&config).await.expect("open SQLite");
        TestStore {
            store,
            config,
            _dir: Some(dir),
        }
    }
}

/// A URL of a new, empty database on the shared test cluster.
pub async fn fresh_postgres_database() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let cluster = cluster();
    let name = format!(
        "yj_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    );
    let admin_url = format!("postgres://postgres@127.0.0.1:{}/postgres", cluster.port);
    sqlx::any::install_default_drivers();
    let mut connection = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin_url)
        .await
        .expect("connect to the test cluster");
    connection
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .expect("create test database");
    format!("postgres://postgres@127.0.0.1:{}/{name}", cluster.port)
}

struct Cluster {
    port: u16,
}

fn cluster() -> &'static Cluster {
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    CLUSTER.get_or_init(|| start_cluster().unwrap_or_else(|error| panic!("{error}")))
}

fn postgres_bin() -> Result<PathBuf, String> {
    if let Ok(dir) = std::env::var("YUNJIAN_PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let mut candidates: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|_| {
            "PostgreSQL is not installed (/usr/lib/postgresql is missing); scripts/test installs it"
                .to_owned()
        })?
        .filter_map(|entry| entry.ok().map(|entry| entry.path().join("bin")))
        .filter(|bin| bin.join("initdb").exists())
        .collect();
    candidates.sort();
    candidates
        .pop()
        .ok_or_else(|| "no initdb under /usr/lib/postgresql/*/bin".to_owned())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).trim() == "0")
}

/// Runs a PostgreSQL tool, as the `postgres` user when we are root (initdb refuses root).
fn run_pg(bin: &Path, tool: &str, args: &[&str], as_postgres: bool) -> Result<(), String> {
    let program = bin.join(tool);
    let output = if as_postgres {
        Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(&program)
            .args(args)
            .stdin(Stdio::null())
            .output()
    } else {
        Command::new(&program)
            .args(args)
            .stdin(Stdio::null())
            .output()
    }
    .map_err(|error| format!("cannot run {}: {error}", program.display()))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{tool} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

fn start_cluster() -> Result<Cluster, String> {
    let bin = postgres_bin()?;
    let as_postgres = is_root();
    let dir = std::env::temp_dir().join(format!("yunjian-pg-{}", std::process::id()));
    let data = dir.join("data");
    std::fs::create_dir_all(&dir).map_err(|error| error.to_string())?;
    if as_postgres {
        let status = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(&dir)
            .status()
            .map_err(|error| error.to_string())?;
        if !status.success() {
            return Err("cannot chown the cluster directory to postgres".into());
        }
    }
    let data_text = data.display().to_string();
    run_pg(
        &bin,
        "initdb",
        &[
            "-D",
            &data_text,
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
        ],
        as_postgres,
    )?;
    let port = free_port()?;
    let options = format!(
        "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300",
        dir.display()
    );
    let log = dir.join("postgres.log").display().to_string();
    run_pg(
        &bin,
        "pg_ctl",
        &[
            "-D", &data_text, "-o", &options, "-l", &log, "-w", "-t", "60", "start",
        ],
        as_postgres,
    )?;
    // A watchdog stops the cluster and removes its directory once this test process
    // has exited, whether it passed, failed or panicked.
    let pg_ctl = bin.join("pg_ctl").display().to_string();
    let stop = if as_postgres {
        format!("runuser -u postgres -- {pg_ctl} -D {data_text} -m immediate stop")
    } else {
        format!("{pg_ctl} -D {data_text} -m immediate stop")
    };
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; {stop} >/dev/null 2>&1; rm -rf {dir}",
        pid = std::process::id(),
        dir = dir.display()
    );
    Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|error| format!("cannot start the cluster watchdog: {error}"))?;
    Ok(Cluster { port })
}

fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|error| error.to_string())?;
    Ok(listener
        .local_addr()
        .map_err(|error| error.to_string())?
        .port())
}

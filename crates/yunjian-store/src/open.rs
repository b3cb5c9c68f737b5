//! Opening a store, migrating it, and the write transaction.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Arc, Once};
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions, Connection, Executor, Row};
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::error::{Result, StoreError};
use crate::read::LitePool;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone, Debug)]
pub enum StoreConfig {
    /// An SQLite file (created when missing), in WAL mode.
    Sqlite { path: PathBuf },
    /// A PostgreSQL URL, `postgres://user:password@host:port/database`.
    Postgres { url: String },
}

impl StoreConfig {
    /// Picks the backend from a URL: `postgres://` or `postgresql://` for PostgreSQL,
    /// `sqlite://PATH` or a plain path for SQLite.
    pub fn from_url(url: &str) -> Result<StoreConfig> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(StoreConfig::Postgres {
                url: url.to_owned(),
            })
        } else if let Some(path) = url.strip_prefix("sqlite://") {
            Ok(StoreConfig::Sqlite { path: path.into() })
        } else if url.contains("://") {
            Err(StoreError::Config(format!(
                "unsupported database URL scheme in '{}': use postgres:// or sqlite://",
                redact_url(url)
            )))
        } else {
            Ok(StoreConfig::Sqlite { path: url.into() })
        }
    }

    /// A description safe to log: the password of a PostgreSQL URL is replaced.
    pub fn describe(&self) -> String {
        match self {
            StoreConfig::Sqlite { path } => format!("sqlite {}", path.display()),
            StoreConfig::Postgres { url } => format!("postgresql {}", redact_url(url)),
        }
    }
}

/// Hides the password in `scheme://user:password@host/...`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.split_once('@') {
        Some((credentials, host)) => {
            let user = credentials.split(':').next().unwrap_or("");
            format!("{scheme}://{user}:***@{host}")
        }
        None => url.to_owned(),
    }
}

/// The handle every other crate uses. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    pub(crate) pool: AnyPool,
    backend: Backend,
    /// SQLite has one writer; taking it in-process avoids busy errors when a deferred
    /// transaction would upgrade to a write lock. PostgreSQL needs no such lock.
    write_lock: Option<Arc<Mutex<()>>>,
    /// SQLite only: read-only connections for reads outside transactions
    /// (see `read.rs`).
    pub(crate) lite: Option<Arc<LitePool>>,
    /// The ledger's hash, once read: it never changes after the ledger is created.
    pub(crate) ledger_hash: Arc<std::sync::OnceLock<yunjian_gm::LedgerHash>>,
}

static INSTALL_DRIVERS: Once = Once::new();

const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("../migrations/0001_init.sql")),
    (2, "ledger", include_str!("../migrations/0002_ledger.sql")),
    (
        3,
        "identity",
        include_str!("../migrations/0003_identity.sql"),
    ),
    (4, "totp", include_str!("../migrations/0004_totp.sql")),
    (5, "access", include_str!("../migrations/0005_access.sql")),
    (
        6,
        "api_keys",
        include_str!("../migrations/0006_api_keys.sql"),
    ),
    (
        7,
        "security_events",
        include_str!("../migrations/0007_security_events.sql"),
    ),
    (
        8,
        "compliance",
        include_str!("../migrations/0008_compliance.sql"),
    ),
    (
        9,
        "external_ids",
        include_str!("../migrations/0009_external_ids.sql"),
    ),
    (
        10,
        "provider_sync",
        include_str!("../migrations/0010_provider_sync.sql"),
    ),
    (
        11,
        "containers",
        include_str!("../migrations/0011_containers.sql"),
    ),
    (
        12,
        "event_centre",
        include_str!("../migrations/0012_event_centre.sql"),
    ),
    (
        13,
        "network",
        include_str!("../migrations/0013_network.sql"),
    ),
    (
        14,
        "pod_network",
        include_str!("../migrations/0014_pod_network.sql"),
    ),
];

impl Store {
    pub async fn open(config: &StoreConfig) -> Result<Store> {
        INSTALL_DRIVERS.call_once(sqlx::any::install_default_drivers);
        match config {
            StoreConfig::Sqlite { path } => {
                if let Some(parent) = path.parent() {
                    if !parent.as_os_str().is_empty() {
                        std::fs::create_dir_all(parent).map_err(|error| {
                            StoreError::Config(format!(
                                "cannot create the data directory {}: {error}",
                                parent.display()
                            ))
                        })?;
                    }
                }
                let url = format!("sqlite://{}?mode=rwc", path.display());
                let options = quiet(AnyConnectOptions::from_str(&url)?);
                // Each SQLite connection is a thread of its own; on small machines more
                // of them only add context switches.
                let pool = AnyPoolOptions::new()
                    .max_connections(4)
                    .acquire_timeout(Duration::from_secs(30))
                    .after_connect(|connection, _meta| {
                        Box::pin(async move {
                            // Foreign keys are off by default in SQLite; WAL lets readers
                            // proceed while the one writer commits.
                            connection.execute("PRAGMA foreign_keys = ON").await?;
                            connection.execute("PRAGMA busy_timeout = 10000").await?;
                            connection.execute("PRAGMA journal_mode = WAL").await?;
                            // FULL: a commit returns after the WAL is synced, so an
                            // acknowledged action and its audit record survive a power
                            // cut, not only a crash (7.5.10; docs/benchmarks.md has the
                            // cost, amortized by group commit).
                            connection.execute("PRAGMA synchronous = FULL").await?;
                            // Reads through the OS page cache shared by all connections,
                            // instead of each connection's small private cache.
                            connection.execute("PRAGMA mmap_size = 1073741824").await?;
                            Ok(())
                        })
                    })
                    .connect_with(options)
                    .await?;
                Ok(Store {
                    pool,
                    backend: Backend::Sqlite,
                    write_lock: Some(Arc::new(Mutex::new(()))),
                    lite: Some(Arc::new(LitePool::new(path.clone(), 4))),
                    ledger_hash: Arc::default(),
                })
            }
            StoreConfig::Postgres { url } => {
                let options = quiet(AnyConnectOptions::from_str(url)?);
                let pool = AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_with(options)
                    .await?;
                Ok(Store {
                    pool,
                    backend: Backend::Postgres,
                    write_lock: None,
                    lite: None,
                    ledger_hash: Arc::default(),
                })
            }
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The newest schema version this build knows.
    pub fn known_schema_version() -> i64 {
        MIGRATIONS.last().map_or(0, |(version, _, _)| *version)
    }

    /// Applies the migrations the database lacks, each in its own transaction. Returns
    /// the versions applied.
    pub async fn migrate(&self, now_ns: i64) -> Result<Vec<i64>> {
        let _guard = self.lock_writer().await;
        let mut connection = self.pool.acquire().await?;
        connection
            .execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, \
                 name TEXT NOT NULL, applied_at_ns BIGINT NOT NULL)",
            )
            .await?;
        let current: i64 = sqlx::query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
            .fetch_one(&mut *connection)
            .await?
            .try_get(0)?;
        let known = Store::known_schema_version();
        if current > known {
            return Err(StoreError::SchemaTooNew {
                found: current,
                known,
            });
        }
        let mut applied = Vec::new();
        for &(version, name, sql) in MIGRATIONS.iter().filter(|(v, _, _)| *v > current) {
            let sql = self.dialect(sql);
            let mut transaction = connection.begin().await?;
            for statement in split_statements(&sql) {
                transaction
                    .execute(statement.as_str())
                    .await
                    .map_err(|source| StoreError::Migration { version, source })?;
            }
            sqlx::query(
                "INSERT INTO schema_migrations (version, name, applied_at_ns) VALUES ($1, $2, $3)",
            )
            .bind(version)
            .bind(name)
            .bind(now_ns)
            .execute(&mut *transaction)
            .await?;
            transaction.commit().await?;
            tracing::info!(version, name, "applied migration");
            applied.push(version);
        }
        Ok(applied)
    }

    pub async fn schema_version(&self) -> Result<i64> {
        let row = sqlx::query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get(0)?)
    }

    fn dialect(&self, sql: &str) -> String {
        let (id, int, real) = match self.backend {
            Backend::Sqlite => ("INTEGER PRIMARY KEY AUTOINCREMENT", "INTEGER", "REAL"),
            Backend::Postgres => (
                "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
                "BIGINT",
                "DOUBLE PRECISION",
            ),
        };
        sql.replace("@ID@", id)
            .replace("@INT@", int)
            .replace("@REAL@", real)
    }

    async fn lock_writer(&self) -> Option<OwnedMutexGuard<()>> {
        match &self.write_lock {
            Some(lock) => Some(lock.clone().lock_owned().await),
            None => None,
        }
    }

    /// Starts a write transaction. Everything written through it, audit records
    /// included, commits together or not at all.
    pub async fn begin_write(&self) -> Result<WriteTx> {
        let guard = self.lock_writer().await;
        // SQLite: take the write lock at BEGIN. A deferred transaction that reads first
        // and then writes cannot wait for a writer whose dropped transaction is still
        // rolling back on another connection (SQLite answers "database is locked" at
        // once rather than risk a deadlock); IMMEDIATE waits for it (busy_timeout).
        let transaction = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        Ok(WriteTx {
            transaction,
            _guard: guard,
            backend: self.backend,
            ledger: None,
        })
    }

    /// Whether the database answers (for /healthz).
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").fetch_one(&self.pool).await?;
        Ok(())
    }

    pub async fn meta(&self, key: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT value FROM meta WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(row) => Some(row.try_get(0)?),
            None => None,
        })
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// A write transaction; dropped without [`WriteTx::commit`] it rolls back.
pub struct WriteTx {
    pub(crate) transaction: sqlx::Transaction<'static, sqlx::Any>,
    _guard: Option<OwnedMutexGuard<()>>,
    pub(crate) backend: Backend,
    /// Records appended in this transaction, written at commit (see ledger.rs).
    pub(crate) ledger: Option<crate::ledger::PendingAppends>,
}

impl WriteTx {
    /// Writes the pending audit records and the ledger head, then commits. If any of it
    /// fails, nothing of the transaction is kept.
    pub async fn commit(mut self) -> Result<()> {
        self.flush_ledger().await?;
        self.transaction.commit().await?;
        Ok(())
    }

    /// Serializes, until this transaction ends, the writers that check rules spanning
    /// the children of one object (the subnets of a VPC must not overlap). SQLite
    /// writers are serialized already; PostgreSQL takes a transaction-scoped advisory
    /// lock keyed by (kind, id), so two server instances cannot both pass the check.
    pub async fn lock_object(&mut self, kind: yunjian_core::schema::Kind, id: i64) -> Result<()> {
        if self.backend == Backend::Postgres {
            let kind_key = yunjian_core::schema::Kind::ALL
                .iter()
                .position(|candidate| *candidate == kind)
                .unwrap_or(0) as i64;
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind((kind_key << 48) ^ id)
                .execute(&mut *self.transaction)
                .await?;
        }
        Ok(())
    }

    pub async fn set_meta(&mut self, key: &str, value: &str) -> Result<()> {
        sqlx::query("DELETE FROM meta WHERE key = $1")
            .bind(key)
            .execute(&mut *self.transaction)
            .await?;
        sqlx::query("INSERT INTO meta (key, value) VALUES ($1, $2)")
            .bind(key)
            .bind(value)
            .execute(&mut *self.transaction)
            .await?;
        Ok(())
    }
}

/// Statements are logged at TRACE and slow ones at DEBUG: bulk statements run to tens of
/// kilobytes, and our own spans already time every request.
fn quiet(options: AnyConnectOptions) -> AnyConnectOptions {
    options
        .log_statements(tracing::log::LevelFilter::Trace)
        .log_slow_statements(tracing::log::LevelFilter::Debug, Duration::from_secs(1))
}

/// Splits a migration into statements at semicolons that end a line; comment lines are
/// dropped. Migrations are ours, so this simple rule is enough.
fn split_statements(sql: &str) -> Vec<String> {
    let mut statements = Vec::new();
    let mut current = String::new();
    for line in sql.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("--") || trimmed.is_empty() {
            continue;
        }
        current.push_str(line);
        current.push('\n');
        if trimmed.ends_with(';') {
            statements.push(current.trim().trim_end_matches(';').to_owned());
            current.clear();
        }
    }
    if !current.trim().is_empty() {
        statements.push(current.trim().to_owned());
    }
    statements
}

#[cfg(test)]
mod tests {
    use super::{redact_url, split_statements, StoreConfig};

    #[test]
    fn urls_pick_the_backend_and_passwords_never_show() {
        assert!(matches!(
            StoreConfig::from_url("postgres://u:secret@h/db"),
            Ok(StoreConfig::Postgres { .. })
        ));
        assert!(matches!(
            StoreConfig::from_url("/var/lib/yunjian/yunjian.db"),
            Ok(StoreConfig::Sqlite { .. })
        ));
        assert!(StoreConfig::from_url("mysql://u:p@h/db").is_err());
        assert_eq!(
            redact_url("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        let described = StoreConfig::from_url("postgresql://yj:hunter2@db/yj")
            .expect("valid")
            .describe();
        assert!(!described.contains("hunter2"), "{described}");
    }

    #[test]
    fn statements_split_at_line_ending_semicolons() {
        let sql = "-- c\nCREATE TABLE a (x INTEGER);\n\nCREATE TABLE b (\n  y TEXT\n);\n";
        assert_eq!(
            split_statements(sql),
            vec![
                "CREATE TABLE a (x INTEGER)",
                "CREATE TABLE b (\n  y TEXT\n)"
            ]
        );
    }
}

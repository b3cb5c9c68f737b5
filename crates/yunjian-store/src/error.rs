use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A uniqueness or reference constraint refused the write.
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    #[error("database error: {0}")]
    Lite(#[source] rusqlite::Error),
    #[error("migration {version} failed: {source}")]
    Migration {
        version: i64,
        #[source]
        source: sqlx::Error,
    },
    #[error("the database holds schema version {found}, newer than this build knows ({known})")]
    SchemaTooNew { found: i64, known: i64 },
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The audit ledger is missing, configured otherwise, or asked for what it lacks.
    #[error("audit ledger: {0}")]
    Ledger(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        if let sqlx::Error::Database(database) = &error {
            use sqlx::error::ErrorKind;
            match database.kind() {
                ErrorKind::UniqueViolation => {
                    return StoreError::Conflict(format!("duplicate: {}", database.message()))
                }
                ErrorKind::ForeignKeyViolation => {
                    return StoreError::Conflict(format!("reference: {}", database.message()))
                }
                _ => {}
            }
        }
        StoreError::Database(error)
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

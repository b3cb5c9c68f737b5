//! How reads reach the database.
//!
//! Queries are built once (SQL text, typed parameters, the expected type of each result
//! column) and run by a [`Reader`]: a sqlx connection (PostgreSQL, and every read inside a
//! write transaction, which must see its own uncommitted rows), or, for SQLite outside
//! transactions, a small pool of rusqlite connections on blocking threads. The second
//! exists for speed: sqlx's SQLite driver copies every value and hands rows one at a
//! time from its worker thread to the async side, which dominated the CPU profile of a
//! list request (docs/benchmarks.md); a rusqlite reader makes one hand-off per batch of
//! statements. Both produce the same typed cells, so decoding has one implementation.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, AnyConnection, Row};
use tokio::sync::Semaphore;

use crate::error::{Result, StoreError};

/// A parameter with its SQL type, so a NULL binds as the column's type (PostgreSQL
/// refuses a bigint NULL for a text column).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Bind {
    Int(Option<i64>),
    Float(Option<f64>),
    Text(Option<String>),
}

/// The type a result column is read as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CellType {
    Int,
    Float,
    Text,
}

/// One result value.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Cell {
    Null,
    Int(i64),
    Float(f64),
    Text(String),
}

impl Cell {
    pub(crate) fn text(&self) -> Option<&str> {
        match self {
            Cell::Text(text) => Some(text),
            _ => None,
        }
    }

    pub(crate) fn int(&self) -> Option<i64> {
        match self {
            Cell::Int(value) => Some(*value),
            _ => None,
        }
    }

    pub(crate) fn take_text(&mut self) -> Option<String> {
        match std::mem::replace(self, Cell::Null) {
            Cell::Text(text) => Some(text),
            _ => None,
        }
    }
}

/// A query ready to run.
pub(crate) struct Statement {
    pub sql: String,
    pub binds: Vec<Bind>,
    pub types: Vec<CellType>,
}

pub(crate) type Rows = Vec<Vec<Cell>>;

/// Binds a statement's parameters. A statement with a float parameter is not cached:
/// sqlx 0.8.6's Any driver binds a NULL double as a 4-byte float, so a cached
/// PostgreSQL statement first run with a NULL refuses every later value ("incorrect
/// binary data format"); parsed afresh, each run's NULL is a float4 PostgreSQL widens.
pub(crate) fn bind_sqlx<'q>(
    binds: &[Bind],
    mut query: Query<'q, Any, AnyArguments<'q>>,
) -> Query<'q, Any, AnyArguments<'q>> {
    if binds.iter().any(|bind| matches!(bind, Bind::Float(_))) {
        query = query.persistent(false);
    }
    for bind in binds {
        query = match bind.clone() {
            Bind::Int(number) => query.bind(number),
            Bind::Float(number) => query.bind(number),
            Bind::Text(text) => query.bind(text),
        };
    }
    query
}

/// Runs reads; see the module documentation.
pub(crate) enum Reader<'a> {
    Sqlx(&'a mut AnyConnection),
    Lite(&'a Arc<LitePool>),
}

impl Reader<'_> {
    /// Runs the statements in order and answers the rows of each.
    pub(crate) async fn run(&mut self, statements: Vec<Statement>) -> Result<Vec<Rows>> {
        match self {
            Reader::Sqlx(connection) => {
                let mut results = Vec::with_capacity(statements.len());
                for statement in &statements {
                    let rows = bind_sqlx(&statement.binds, sqlx::query(&statement.sql))
                        .fetch_all(&mut **connection)
                        .await?;
                    let mut cells = Vec::with_capacity(rows.len());
                    for row in &rows {
                        let mut values = Vec::with_capacity(statement.types.len());
                        for (index, kind) in statement.types.iter().enumerate() {
                            values.push(match kind {
                                CellType::Int => row
                                    .try_get::<Option<i64>, _>(index)?
                                    .map_or(Cell::Null, Cell::Int),
                                CellType::Float => row
                                    .try_get::<Option<f64>, _>(index)?
                                    .map_or(Cell::Null, Cell::Float),
                                CellType::Text => row
                                    .try_get::<Option<String>, _>(index)?
                                    .map_or(Cell::Null, Cell::Text),
                            });
                        }
                        cells.push(values);
                    }
                    results.push(cells);
                }
                Ok(results)
            }
            Reader::Lite(pool) => pool.run(statements).await,
        }
    }

    pub(crate) async fn run_one(&mut self, statement: Statement) -> Result<Rows> {
        Ok(self.run(vec![statement]).await?.pop().unwrap_or_default())
    }
}

/// Read-only rusqlite connections to the SQLite file, used on blocking threads.
pub(crate) struct LitePool {
    path: PathBuf,
    idle: Mutex<Vec<rusqlite::Connection>>,
    permits: Semaphore,
}

impl LitePool {
    pub(crate) fn new(path: PathBuf, size: usize) -> LitePool {
        LitePool {
            path,
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(size),
        }
    }

    fn open(&self) -> rusqlite::Result<rusqlite::Connection> {
        use rusqlite::OpenFlags;
        let connection = rusqlite::Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        connection.busy_timeout(std::time::Duration::from_secs(10))?;
        connection.pragma_update(None, "mmap_size", 1_073_741_824_i64)?;
        Ok(connection)
    }

    async fn run(self: &Arc<Self>, statements: Vec<Statement>) -> Result<Vec<Rows>> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| StoreError::Config("the SQLite read pool is closed".into()))?;
        let pool = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let idle = pool
                .idle
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .pop();
            let connection = match idle {
                Some(connection) => connection,
                None => pool.open().map_err(StoreError::Lite)?,
            };
            let result = run_lite(&connection, &statements);
            pool.idle
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .push(connection);
            result
        })
        .await
        .map_err(|error| StoreError::Config(format!("a SQLite read task failed: {error}")))?
    }
}

fn run_lite(connection: &rusqlite::Connection, statements: &[Statement]) -> Result<Vec<Rows>> {
    use rusqlite::types::{Value as LiteValue, ValueRef};
    let mut results = Vec::with_capacity(statements.len());
    for statement in statements {
        let mut prepared = connection
            .prepare_cached(&statement.sql)
            .map_err(StoreError::Lite)?;
        let binds: Vec<LiteValue> = statement
            .binds
            .iter()
            .map(|bind| match bind {
                Bind::Int(Some(number)) => LiteValue::Integer(*number),
                Bind::Float(Some(number)) => LiteValue::Real(*number),
                Bind::Text(Some(text)) => LiteValue::Text(text.clone()),
                _ => LiteValue::Null,
            })
            .collect();
        // SQLite numbers `$n` parameters by first appearance in the text, not by n:
        // bind each position to the value its name says (as sqlx does), so a query may
        // use its parameters in any order. Anonymous `?` bind positionally.
        let ordered: Vec<&LiteValue> = (1..=prepared.parameter_count())
            .map(|position| {
                let named = prepared
                    .parameter_name(position)
                    .and_then(|name| name.strip_prefix('$'))
                    .and_then(|number| number.parse::<usize>().ok());
                binds.get(named.unwrap_or(position).wrapping_sub(1))
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "a statement names a parameter it was not given: {}",
                    statement.sql
                ))
            })?;
        let mut rows = prepared
            .query(rusqlite::params_from_iter(ordered))
            .map_err(StoreError::Lite)?;
        let mut cells = Vec::new();
        while let Some(row) = rows.next().map_err(StoreError::Lite)? {
            let mut values = Vec::with_capacity(statement.types.len());
            for (index, kind) in statement.types.iter().enumerate() {
                let value = row.get_ref(index).map_err(StoreError::Lite)?;
                values.push(match (kind, value) {
                    (_, ValueRef::Null) => Cell::Null,
                    (CellType::Int, ValueRef::Integer(number)) => Cell::Int(number),
                    (CellType::Float, ValueRef::Real(number)) => Cell::Float(number),
                    (CellType::Float, ValueRef::Integer(number)) => Cell::Float(number as f64),
                    (CellType::Text, ValueRef::Text(bytes)) => Cell::Text(
                        std::str::from_utf8(bytes)
                            .map_err(|error| {
                                StoreError::Corrupt(format!("text column {index}: {error}"))
                            })?
                            .to_owned(),
                    ),
                    (kind, other) => {
                        return Err(StoreError::Corrupt(format!(
                            "column {index}: expected {kind:?}, found {:?}",
                            other.data_type()
                        )))
                    }
                });
            }
            cells.push(values);
        }
        results.push(cells);
    }
    Ok(results)
}
